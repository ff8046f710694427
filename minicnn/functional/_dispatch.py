"""Which kernel computes a convolution: the algorithm's general kernel, or a faster one for its shape.

algorithm   general shapes        1x1 (pointwise)    depthwise            3x3, stride 1, groups 1
naive       conv2d_naive          conv2d_naive       conv2d_naive         conv2d_naive
im2col      conv2d_im2col         conv2d_1x1 (GEMM)  depthwise_shift_add  conv2d_im2col
numba       conv2d_numba          conv2d_1x1 (GEMM)  depthwise_numba      conv2d_numba
winograd    (as im2col)           (as im2col)        (as im2col)          Winograd F(4x4, 3x3)
winograd2   (as im2col)           (as im2col)        (as im2col)          Winograd F(2x2, 3x3)
auto        measured: the fastest of the kernels that apply (see _autotune.py)
"""

from __future__ import annotations

import numpy as np

from minicnn.kernels.conv_im2col import conv2d_1x1, conv2d_im2col
from minicnn.kernels.conv_naive import conv2d_naive
from minicnn.kernels.workspace import workspace


def _conv2d_numba(*args):
    # the blocked variant; its readable twin is minicnn/kernels/conv_numba.py (same sums, same order)
    from minicnn.kernels.conv_numba_blocked import conv2d_numba_blocked  # imported late: Numba loads slowly

    return conv2d_numba_blocked(*args)


def _depthwise_numba(*args):
    from minicnn.kernels.depthwise import depthwise_numba

    return depthwise_numba(*args)


def _depthwise_shift_add(*args):
    from minicnn.kernels.depthwise import depthwise_shift_add

    return depthwise_shift_add(*args)


#: The general kernel of each algorithm, and (below) the faster ones it uses for two special shapes.
KERNELS = {"naive": conv2d_naive, "im2col": conv2d_im2col, "numba": _conv2d_numba}
#: (algorithm, shape kind) -> kernel. 1x1 convolutions are a GEMM with no column matrix to build;
#: depthwise convolutions (one input channel per output channel) avoid thousands of tiny GEMMs.
SPECIAL_KERNELS = {
    ("im2col", "pointwise"): conv2d_1x1,
    ("numba", "pointwise"): conv2d_1x1,
    ("im2col", "depthwise"): _depthwise_shift_add,
    ("numba", "depthwise"): _depthwise_numba,
}
#: Winograd algorithms and their output tile size m in F(m x m, 3 x 3).
WINOGRAD = {"winograd": 4, "winograd2": 2}


def shape_kind(w_shape, groups) -> str:
    """ "pointwise" (1x1, groups 1), "depthwise" (one input channel per output channel) or "general"."""
    C_out, C_in_g, KH, KW = w_shape
    if groups == 1 and KH == KW == 1:
        return "pointwise"
    if groups > 1 and C_in_g == 1:
        return "depthwise"
    return "general"


def winograd_applies(w_shape, stride, dilation, groups) -> bool:
    """Winograd F(m x m, 3 x 3) computes 3x3 convolutions with stride 1, no dilation, one group."""
    return tuple(w_shape[2:]) == (3, 3) and tuple(stride) == (1, 1) and tuple(dilation) == (1, 1) and groups == 1


def _padded(x, pads):
    """x with zeros around it, written into this thread's reusable buffer (see kernels/workspace.py)."""
    top, bottom, left, right = pads
    N, C, H, W = x.shape
    xp = workspace("padded input", (N, C, H + top + bottom, W + left + right), x.dtype)
    if top or bottom or left or right:
        xp[:, :, :top], xp[:, :, H + top :], xp[:, :, :, :left], xp[:, :, :, W + left :] = 0, 0, 0, 0
    xp[:, :, top : top + H, left : left + W] = x
    return xp


def run(name, x, weight, bias, stride, pads, dilation, groups, relu=False):
    """Convolve the unpadded 4-D ``x`` with algorithm ``name`` (never "auto"); ReLU fused when asked."""
    if name in WINOGRAD and winograd_applies(weight.shape, stride, dilation, groups):
        from minicnn.kernels.winograd import conv2d_winograd

        return conv2d_winograd(x, weight, bias, pads, WINOGRAD[name], relu=relu)  # pads inside the transform
    if name in WINOGRAD:
        name = "im2col"  # shapes Winograd does not cover
    xp = _padded(x, pads)  # a C-contiguous zero-padded copy, in a reused buffer
    kernel = SPECIAL_KERNELS.get((name, shape_kind(weight.shape, groups)), KERNELS[name])
    if kernel is conv2d_im2col:
        return kernel(xp, weight, bias, stride, dilation, groups, relu=relu)  # bias and ReLU on cached blocks
    out = kernel(xp, weight, bias, stride, dilation, groups)
    return np.maximum(out, 0, out=out) if relu else out
