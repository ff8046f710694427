"""``conv2d``: argument checks with PyTorch's rules and messages, padding, then one of the kernels."""

from __future__ import annotations

from minicnn._config import check_conv_algorithm, get_conv_algorithm
from minicnn.functional import _autotune, _dispatch
from minicnn.functional._args import (
    as_batched,
    check_array,
    check_same_dtype,
    is_int,
    on_device,
    pair,
    shape_str,
    silent_ieee,
)
from minicnn.functional._dispatch import KERNELS, SPECIAL_KERNELS, shape_kind  # noqa: F401 - re-exported


@on_device
@silent_ieee
def conv2d(
    input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, algorithm=None, _relu=False, _residual=None
):
    r"""2-D convolution (cross-correlation) over a batch of multi-channel images, as ``torch.nn.functional.conv2d``.

    .. math::
        \text{out}(n, c_o) = \text{bias}(c_o) + \sum_{c_i} \text{weight}(c_o, c_i) \star \text{input}(n, c_i)

    where :math:`\star` slides the (KH, KW) kernel over the image with the given stride and dilation,
    and each output channel only sees the input channels of its group.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W), float32 or float64, any strides.
        weight: (C_out, C_in // groups, KH, KW), same dtype.
        bias: (C_out,) or None.
        stride, dilation: int or (h, w) pair, >= 1.
        padding: int or (h, w) pair of zeros added on both sides; ``"valid"`` (no padding); ``"same"``
            (output as large as the input, stride 1 only; when the total ``dilation*(K-1)`` is odd the
            extra row/column goes to the bottom/right, as in PyTorch); or ``(left, right, top, bottom)``
            as in ``F.pad`` for asymmetric padding (TensorFlow's "SAME").
        groups: split channels into this many independent convolutions (``groups == C_in``: depthwise).
        algorithm: ``"naive"``, ``"im2col"``, ``"numba"``, ``"winograd"`` (F(4x4, 3x3)), ``"winograd2"``
            (F(2x2, 3x3)), ``"auto"`` (measured: the fastest that applies), or None for the current default
            (see ``minicnn.conv_algorithm``). All give the same result within the documented tolerances;
            Winograd covers 3x3 stride-1 convolutions and leaves other shapes to im2col.

    Shape:
        OH = floor((H + pad_top + pad_bottom - dH*(KH-1) - 1) / sH) + 1, and likewise OW.
        Output: (N, C_out, OH, OW), or (C_out, OH, OW) for unbatched input; dtype of the input.

    Example:
        >>> import numpy as np, minicnn.functional as F
        >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
        >>> F.conv2d(x, np.ones((1, 1, 2, 2), np.float32)).shape
        (1, 1, 3, 3)
    """
    op = "conv2d"
    x, unbatched = as_batched(check_array(input, op), op)
    weight = check_array(weight, op, "weight")
    check_same_dtype(op, x, weight=weight)
    if bias is not None:
        check_same_dtype(op, x, bias=check_array(bias, op, "bias"))
    stride, dilation = pair(stride, "stride", op), pair(dilation, "dilation", op)
    _check_conv_args(x, weight, bias, stride, dilation, groups)
    pads = _resolve_padding(padding, weight.shape[2:], stride, dilation)  # (top, bottom, left, right)
    _check_fits(x, weight, pads, dilation)

    name = check_conv_algorithm(get_conv_algorithm() if algorithm is None else algorithm)
    if name == "auto":
        name = _autotune.choose(x, weight, bias, stride, pads, dilation, groups)
    out = _dispatch.run(name, x, weight, bias, stride, pads, dilation, groups, relu=_relu, residual=_residual)
    return out[0] if unbatched else out


def conv2d_relu(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, algorithm=None):
    """``relu(conv2d(...))`` in one pass: the kernels add the bias and apply ReLU to each block of output
    while it is still in cache (what a network's Conv2d + ReLU pairs run when no hook needs the conv's
    own output). Same arguments and result as the two calls."""
    return conv2d(input, weight, bias, stride, padding, dilation, groups, algorithm=algorithm, _relu=True)


def _check_conv_args(x, weight, bias, stride, dilation, groups):
    if weight.ndim != 4:
        raise ValueError(f"conv2d expects a 4-D weight (C_out, C_in/groups, KH, KW), got {shape_str(weight.shape)}")
    if not is_int(groups) or groups <= 0:
        raise ValueError("non-positive groups is not supported")
    if min(stride) <= 0:
        raise ValueError("non-positive stride is not supported")
    if min(dilation) <= 0:
        raise ValueError(f"dilation should be greater than zero, but got {list(dilation)}")
    C_out, C_in_g = weight.shape[:2]
    if C_out < groups:  # torch's check: no output channels at all, or fewer than the groups
        raise ValueError(
            f"Given groups={groups}, expected weight to be at least {groups} at dimension 0, "
            f"but got weight of size {shape_str(weight.shape)} instead"
        )
    if C_out % groups:
        raise ValueError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
            f"but got weight of size {shape_str(weight.shape)} instead"
        )
    if x.shape[1] != C_in_g * groups:
        raise ValueError(
            f"Given groups={groups}, weight of size {shape_str(weight.shape)}, expected input"
            f"{shape_str(x.shape)} to have {C_in_g * groups} channels, but got {x.shape[1]} channels instead"
        )
    if bias is not None and bias.shape != (C_out,):
        raise ValueError(
            f"Given weight of size {shape_str(weight.shape)}, expected bias to be 1-dimensional with "
            f"{C_out} elements, but got bias of size {shape_str(bias.shape)} instead"
        )


def _resolve_padding(padding, kernel_size, stride, dilation):
    """Any accepted form of ``padding`` as (top, bottom, left, right) zero counts."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"Invalid padding string: '{padding}'")
        if stride != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        pads = []
        for k, d in zip(kernel_size, dilation):
            total = d * (k - 1)  # what keeps the size; PyTorch puts the odd one out at the end
            pads += [total // 2, total - total // 2]
        return tuple(pads)
    if isinstance(padding, (tuple, list)) and len(padding) == 4 and all(is_int(p) for p in padding):
        left, right, top, bottom = (int(p) for p in padding)  # F.pad order: last axis first
        pads = (top, bottom, left, right)
    else:
        ph, pw = pair(padding, "padding", "conv2d")
        pads = (ph, ph, pw, pw)
    if min(pads) < 0:
        raise ValueError("negative padding is not supported")
    return pads


def _check_fits(x, weight, pads, dilation):
    H = x.shape[2] + pads[0] + pads[1]
    W = x.shape[3] + pads[2] + pads[3]
    KH, KW = (d * (k - 1) + 1 for k, d in zip(weight.shape[2:], dilation))
    if KH > H or KW > W:
        raise ValueError(
            f"Calculated padded input size per channel: ({H} x {W}). Kernel size: ({KH} x {KW}). "
            "Kernel size can't be greater than actual input size"
        )
