"""Which kernel computes a convolution: the algorithm's general kernel, or a faster one for its shape.

algorithm   general shapes        1x1 (pointwise)    depthwise            3x3, stride 1, groups 1
naive       conv2d_naive          conv2d_naive       conv2d_naive         conv2d_naive
im2col      conv2d_im2col         conv2d_1x1 (GEMM)  depthwise_shift_add  conv2d_im2col
numba       conv2d_numba          conv2d_1x1 (GEMM)  depthwise_numba      conv2d_numba
winograd    (as im2col)           (as im2col)        (as im2col)          Winograd F(4x4, 3x3), channels-last
winograd2   (as im2col)           (as im2col)        (as im2col)          Winograd F(2x2, 3x3)
auto        measured: the fastest of the kernels that apply (see _autotune.py)

Memory format, as in PyTorch: the output is channels-last (memory order N, H, W, C; see
``minicnn.kernels.winograd_cl``) when the input or the weight is, else C-contiguous NCHW. Values never
depend on it. The kernels that compute natively in one layout are given their output in it; the others'
output is copied into the right one.
"""

from __future__ import annotations

import numpy as np

from minicnn.functional.layout import is_channels_last, to_memory_format
from minicnn.kernels.conv_im2col import conv2d_1x1, conv2d_1x1_channels_last, conv2d_im2col, conv2d_im2col_cl
from minicnn.kernels.conv_naive import conv2d_naive
from minicnn.kernels.workspace import derived, workspace


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
    """x with zeros around it: a C-contiguous (N, C, H', W') array in this thread's reusable buffer (see
    kernels/workspace.py)."""
    top, bottom, left, right = pads
    N, C, H, W = x.shape
    xp = workspace("padded input", (N, C, H + top + bottom, W + left + right), x.dtype)
    if top or bottom or left or right:
        xp[:, :, :top], xp[:, :, H + top :], xp[:, :, :, :left], xp[:, :, :, W + left :] = 0, 0, 0, 0
    xp[:, :, top : top + H, left : left + W] = x
    return xp


def _weight_cols(w):
    """The GEMM's right-hand side for channels-last columns: (C_out, C_in, KH, KW) -> (KH*KW*C_in, C_out)."""
    C_out, C_in, KH, KW = w.shape
    return np.ascontiguousarray(w.transpose(2, 3, 1, 0)).reshape(KH * KW * C_in, C_out)


def run(name, x, weight, bias, stride, pads, dilation, groups, relu=False, residual=None):
    """Convolve the unpadded 4-D ``x`` with algorithm ``name`` (never "auto"); then add ``residual`` (an array
    of the output's shape) if given, and apply ReLU if asked: fused into the kernels where they can."""
    channels_last = is_channels_last(x) or is_channels_last(weight)
    if residual is None:
        return to_memory_format(_run(name, x, weight, bias, stride, pads, dilation, groups, relu), channels_last)
    if _pointwise_cl(name, x, weight, groups, pads):
        return conv2d_1x1_channels_last(x, weight, bias, stride, relu, residual)  # one pass after the GEMM
    out = to_memory_format(_run(name, x, weight, bias, stride, pads, dilation, groups, False), channels_last)
    out += residual
    return np.maximum(out, 0, out=out) if relu else out


def _pointwise_cl(name, x, weight, groups, pads) -> bool:
    """A 1x1 convolution of a channels-last input, for an algorithm that runs it as a GEMM (not "naive")."""
    return name != "naive" and is_channels_last(x) and shape_kind(weight.shape, groups) == "pointwise" and not any(pads)


def _run(name, x, weight, bias, stride, pads, dilation, groups, relu):
    if name in WINOGRAD and winograd_applies(weight.shape, stride, dilation, groups):
        if name == "winograd":
            from minicnn.kernels.winograd_cl import conv2d_winograd_cl

            out = conv2d_winograd_cl(x, weight, bias, pads, relu=relu)  # channels-last, pads inside the transform
        else:
            from minicnn.kernels.winograd import conv2d_winograd

            out = conv2d_winograd(x, weight, bias, pads, WINOGRAD[name], relu=relu)  # pads inside the transform
            out = out if np.isfinite(out).all() else None
        if out is not None:
            return out
        # an infinite or NaN output: Winograd's transforms turn inf into inf - inf = NaN where direct
        # summation gives +-inf (as torch does), so such a layer is recomputed by im2col
    if name in WINOGRAD:
        name = "im2col"  # shapes Winograd does not cover, and non-finite data
    if not weight.flags.c_contiguous:  # e.g. a channels-last model's weights: the GEMM kernels want (O, I, KH, KW)
        weight = derived(weight, "contiguous", np.ascontiguousarray)
    if _pointwise_cl(name, x, weight, groups, pads):
        return conv2d_1x1_channels_last(x, weight, bias, stride, relu)
    if name == "im2col" and is_channels_last(x) and groups == 1:  # columns built from channels-last pixels
        weight_cols = derived(weight, "im2col-cl", _weight_cols)
        x_cl = x.transpose(0, 2, 3, 1)  # (N, H, W, C_in); each band pads the rows it reads
        return conv2d_im2col_cl(x_cl, weight_cols, bias, weight.shape[2:], stride, pads, dilation, relu)
    xp = _padded(x, pads)  # a C-contiguous zero-padded copy, in a reused buffer
    kernel = SPECIAL_KERNELS.get((name, shape_kind(weight.shape, groups)), KERNELS[name])
    if kernel is conv2d_im2col:
        return kernel(xp, weight, bias, stride, dilation, groups, relu=relu)  # bias and ReLU on cached blocks
    out = kernel(xp, weight, bias, stride, dilation, groups)
    return np.maximum(out, 0, out=out) if relu else out
