"""Looking inside a model: every module's output, and a layer table (shapes, parameters, work, memory).

outputs = record_outputs(model, x)                  # {"features.0": [array], ...}: copies, per call
rows = summarize(model, (3, 256, 256))              # one LayerInfo per module call
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from minicnn import nn
from minicnn.functional._args import shapes_only


def record_outputs(model: nn.Module, *inputs) -> OrderedDict:
    """Run ``model(*inputs)`` and return every module's outputs, copied as produced (see reference/models.py).

    Keys are ``named_modules()`` names ("" is the whole model), each with one array per call.
    """
    outputs = OrderedDict((name, []) for name, _ in model.named_modules())
    handles = [
        m.register_forward_hook(lambda mod, args, out, name=name: outputs[name].append(np.array(out, copy=True)))
        for name, m in model.named_modules()
    ]
    try:
        model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return outputs


@dataclass
class LayerInfo:
    """One row of the layer table, for one call of one module."""

    name: str  # dotted path, e.g. "features.30"
    type: str  # class name, e.g. "MaxPool2d"
    depth: int  # nesting level (the model itself is 0)
    output_shape: tuple
    params: int  # parameters owned directly by this module (not its children)
    macs: int  # multiply-accumulates of this call (conv and linear layers)
    im2col_bytes: int  # the column matrix im2col would build for this call (conv layers)
    is_leaf: bool


def layer_work(module: nn.Module, inp: np.ndarray, out: np.ndarray) -> tuple[int, int]:
    """(multiply-accumulates, im2col buffer bytes) of one call of a conv or linear layer, else (0, 0).

    Conv2d: MACs = N * C_out * OH * OW * (C_in / groups) * KH * KW; the column matrix holds
    N * C_in * KH * KW * OH * OW elements (none for 1x1 and depthwise convolutions, which need no copy).
    Linear: MACs = rows * in_features * out_features.
    """
    if isinstance(module, nn.Conv2d):
        n, c_out, oh, ow = out.shape if out.ndim == 4 else (1, *out.shape)
        kh, kw = module.kernel_size
        macs = n * c_out * oh * ow * (module.in_channels // module.groups) * kh * kw
        c_in_g = module.in_channels // module.groups
        pointwise, depthwise = module.groups == 1 and (kh, kw) == (1, 1), module.groups > 1 and c_in_g == 1
        if pointwise or depthwise:
            return macs, 0  # 1x1 and depthwise convolutions build no column matrix
        return macs, n * module.in_channels * kh * kw * oh * ow * out.itemsize
    if isinstance(module, nn.Linear):
        rows = int(np.prod(out.shape[:-1])) if out.ndim > 1 else 1
        return rows * module.in_features * module.out_features, 0
    return 0, 0


def summarize(model: nn.Module, input_shape=(3, 224, 224), batch_size: int = 1, dtype=np.float32) -> list[LayerInfo]:
    """Run ``model`` once on an input of shape (batch_size, *input_shape) in eval mode, the arithmetic skipped
    (``functional._args.shapes_only``: every op checks its arguments and gives its output's shape); one row per
    module call, in call order (a parent before its children). The first row is the model itself; its output is
    the model's. The model's training flag is restored afterwards.
    """
    was_training = model.training
    model.eval()
    rows: list[LayerInfo] = []
    open_rows: list[int] = []  # rows whose module is still running (a stack, since calls nest)
    depth = {name: (name.count(".") + 1 if name else 0) for name, _ in model.named_modules()}

    def pre_hook(name):
        def start(module, args):
            own = sum(a.size for a in module._parameters.values() if a is not None)
            leaf = not any(True for _ in module.children())
            open_rows.append(len(rows))
            rows.append(LayerInfo(name, type(module).__name__, depth[name], (), own, 0, 0, leaf))

        return start

    def hook(module, args, out):
        row = rows[open_rows.pop()]
        row.output_shape = tuple(out.shape)
        row.macs, row.im2col_bytes = layer_work(module, args[0], out)

    handles = []
    for name, m in model.named_modules():
        handles += [m.register_forward_pre_hook(pre_hook(name)), m.register_forward_hook(hook)]
    try:
        with shapes_only(), np.errstate(all="ignore"):  # element-wise ops still run, on uninitialised values
            model(np.zeros((batch_size, *input_shape), dtype=dtype))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return rows


def format_summary(rows, model_name, input_shape, depth=None) -> str:
    """A torchinfo-style table: layer, output shape, parameters, multiply-accumulates, im2col buffer."""
    head = f"{'Layer (type)':<42s} {'Output shape':<22s} {'Param #':>12s} {'MACs':>16s} {'im2col buffer':>14s}"
    lines = [f"{model_name}, input {list(input_shape)}", "=" * len(head), head, "=" * len(head)]
    for r in rows[1:]:
        if depth is not None and r.depth > depth:
            continue
        name = "  " * (r.depth - 1) + f"{r.name} ({r.type})"
        params = f"{r.params:,}" if r.params else "--"
        macs = f"{r.macs:,}" if r.macs else "--"
        cols = f"{r.im2col_bytes / 2**20:.1f} MiB" if r.im2col_bytes else "--"
        lines.append(f"{name:<42s} {str(list(r.output_shape)):<22s} {params:>12s} {macs:>16s} {cols:>14s}")
    total_params = sum(r.params for r in rows)
    total_macs = sum(r.macs for r in rows if r.is_leaf)
    biggest = max((r for r in rows if r.im2col_bytes), key=lambda r: r.im2col_bytes, default=None)
    lines += [
        "=" * len(head),
        f"Total params: {total_params:,}",
        f"Total mult-adds: {total_macs / 1e9:.2f} G",
        f"Output: {list(rows[0].output_shape)}",
    ]
    if biggest is not None:
        lines.append(f"Largest im2col buffer: {biggest.im2col_bytes / 2**20:.1f} MiB ({biggest.name})")
    return "\n".join(lines)
