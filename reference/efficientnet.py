"""EfficientNet-Lite0 written independently with torch.nn.functional, from the checkpoint's own keys.

Used to check minicnn's model block by block. It derives each block's structure from the weights
themselves (a block has ``_expand_conv`` when it expands; its depthwise kernel size is in the weight's
shape), takes the strides from the published architecture, and pads like TensorFlow's "SAME".

    outputs = forward(state_dict, x)        # {"stem": ..., "_blocks.0": ..., ..., "head": ..., "logits": ...}
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as TF

STRIDE_TWO_BLOCKS = {1, 3, 5, 11}  # the first block of stages 2, 3, 4 and 6 (published architecture)
EPS = 1e-3


def _same_pad(x, kernel, stride):
    """F.pad amounts for TensorFlow SAME: total = max((ceil(n/s) - 1) * s + k - n, 0), the extra one after."""
    pads = []
    for n in (x.shape[-1], x.shape[-2]):  # F.pad wants the last dimension first
        total = max((math.ceil(n / stride) - 1) * stride + kernel - n, 0)
        pads += [total // 2, total - total // 2]
    return TF.pad(x, pads)


def _conv_bn(x, sd, conv, bn, stride=1, groups=1, act=True):
    w = sd[f"{conv}.weight"]
    x = TF.conv2d(_same_pad(x, w.shape[-1], stride), w, None, stride, 0, 1, groups)
    x = TF.batch_norm(x, sd[f"{bn}.running_mean"], sd[f"{bn}.running_var"], sd[f"{bn}.weight"], sd[f"{bn}.bias"],
                      False, 0.0, EPS)  # fmt: skip
    return TF.relu6(x) if act else x


def _tensor(a, device, dtype):
    return (a if isinstance(a, torch.Tensor) else torch.from_numpy(np.asarray(a))).to(device, dtype)


def forward(state_dict: dict, x, dtype=torch.float64, device="cpu", numpy=True) -> dict:
    """Every block's output (float64 by default, computed on ``device``) for the (N, 3, H, W) image batch ``x``.

    ``state_dict`` and ``x`` hold NumPy arrays or tensors; the outputs are NumPy arrays, or tensors on ``device``
    with ``numpy=False``."""
    sd = {k: _tensor(v, device, dtype) for k, v in state_dict.items() if str(v.dtype) not in ("int64", "torch.int64")}
    out = {}
    h = _conv_bn(_tensor(x, device, dtype), sd, "_conv_stem", "_bn0", stride=2)
    out["stem"] = h
    n_blocks = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("_blocks."))
    for i in range(n_blocks):
        p = f"_blocks.{i}"
        x_in = h
        if f"{p}._expand_conv.weight" in sd:
            h = _conv_bn(h, sd, f"{p}._expand_conv", f"{p}._bn0")
        stride = 2 if i in STRIDE_TWO_BLOCKS else 1
        h = _conv_bn(h, sd, f"{p}._depthwise_conv", f"{p}._bn1", stride=stride, groups=h.shape[1])
        h = _conv_bn(h, sd, f"{p}._project_conv", f"{p}._bn2", act=False)
        if stride == 1 and h.shape == x_in.shape:
            h = h + x_in
        out[p] = h
    h = _conv_bn(h, sd, "_conv_head", "_bn1")
    out["head"] = h
    pooled = h.mean(dim=(2, 3))
    out["logits"] = TF.linear(pooled, sd["_fc.weight"], sd["_fc.bias"])
    return {k: v.cpu().numpy() for k, v in out.items()} if numpy else out
