"""Pooling ops: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``, ``adaptive_max_pool2d``.

Checks and output sizes follow PyTorch (``aten/src/ATen/native/Pool.h``); the window arithmetic is in
``minicnn/kernels/pooling.py``.
"""

from __future__ import annotations

import numpy as np

from minicnn import specs
from minicnn._config import is_compiled
from minicnn.autograd import differentiable
from minicnn.functional._args import gpu_ops, silent_ieee, skip_arithmetic
from minicnn.functional.layout import is_channels_last
from minicnn.kernels.pooling import (
    adaptive_bounds,
    adaptive_pool2d_kernel,
    avg_pool2d_kernel,
    avg_pool_divisors,
    max_pool2d_kernel,
    padded_for_taps,
)
from minicnn.specs import pool_output_size  # noqa: F401 - part of this module's story (and its API)


@differentiable("input")
@silent_ieee
def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """2-D max pooling, as ``torch.nn.functional.max_pool2d``: the largest value of each window.

    Args:
        input: (N, C, H, W) or (C, H, W), float32 or float64.
        kernel_size, stride, padding, dilation: int or (h, w); stride defaults to kernel_size; padding
            (implicit -inf) is at most half the kernel.
        ceil_mode: round the output size up, keeping a last partial window unless it starts in the padding.
        return_indices: also return where each maximum was, as ``h * W + w`` within its plane (int64).

    Shape:
        OH = floor((H + 2*pH - dH*(KH-1) - 1) / sH) + 1 (ceil with ceil_mode), likewise OW; (N, C, OH, OW).

    Example:
        >>> import numpy as np, minicnn.functional as F
        >>> F.max_pool2d(np.arange(16.).reshape(1, 1, 4, 4), 2)[0, 0]
        array([[ 5.,  7.],
               [13., 15.]])
    """
    x, unbatched = specs.batched(specs.check_array(input, "max_pool2d"), "max_pool2d")
    spec = specs.pool2d("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode, given=input)
    gpu = gpu_ops(x)
    if skip_arithmetic():
        out, idx = np.empty((*x.shape[:2], *spec.out_size), x.dtype), np.empty((*x.shape[:2], *spec.out_size), np.int64)
    elif gpu:
        out, idx = gpu.max_pool2d(x, spec)
    elif is_compiled() and not is_channels_last(x):  # minicnn.compiled(): the loops of kernels/pooling_numba.py
        from minicnn.kernels.pooling_numba import max_pool2d_numba

        out, idx = max_pool2d_numba(x, spec)
    else:
        out, idx = max_pool2d_kernel(x, spec.kernel_size, spec.stride, spec.padding, spec.dilation, spec.out_size,
                                     return_indices)  # fmt: skip
    if unbatched:
        out, idx = out[0], (None if idx is None else idx[0])
    return (out, idx) if return_indices else out


@differentiable("input")
@silent_ieee
def avg_pool2d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
):
    """2-D average pooling, as ``torch.nn.functional.avg_pool2d``: the mean of each window.

    Args:
        input: (N, C, H, W) or (C, H, W), float32 or float64.
        kernel_size, stride, padding: as in ``max_pool2d`` (zero padding, no dilation).
        ceil_mode: round the output size up (see ``max_pool2d``).
        count_include_pad: divide by the window size including padding (True) or only the input elements
            it covers (False); a ceil_mode window hanging past the padding counts only up to the padding.
        divisor_override: divide every sum by this number instead.

    Shape: as ``max_pool2d`` with dilation 1.
    """
    divisor = specs.avg_divisor(divisor_override)
    x, unbatched = specs.batched(specs.check_array(input, "avg_pool2d"), "avg_pool2d")
    spec = specs.pool2d("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode, given=input)
    gpu = gpu_ops(x)
    if skip_arithmetic():
        out = np.empty((*x.shape[:2], *spec.out_size), x.dtype)
    elif gpu:
        out = gpu.avg_pool2d(x, spec, bool(count_include_pad), divisor)
    else:
        out = avg_pool2d_kernel(x, spec.kernel_size, spec.stride, spec.padding, spec.out_size, spec.ceil_mode,
                                count_include_pad, divisor)  # fmt: skip
    return out[0] if unbatched else out


def _adaptive_args(op, input, output_size):
    x, unbatched = specs.batched(specs.check_array(input, op), op)
    return x, unbatched, specs.adaptive_size(op, x, output_size, given=input)


@differentiable("input")
@silent_ieee
def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size, as ``torch.nn.functional.adaptive_avg_pool2d``.

    Output position i along an axis of length L_in averages input elements [floor(i*L_in/L_out),
    ceil((i+1)*L_in/L_out)): windows overlap or repeat when L_out does not divide L_in (it may exceed it).

    Args:
        output_size: int or (OH, OW); an entry None keeps that input size.

    Shape: (N, C, H, W) -> (N, C, OH, OW), or unbatched (C, H, W) -> (C, OH, OW).
    """
    x, unbatched, size = _adaptive_args("adaptive_avg_pool2d", input, output_size)
    gpu = gpu_ops(x)
    if skip_arithmetic():
        out = np.empty((*x.shape[:2], *size), x.dtype)
    else:
        out = gpu.adaptive_pool2d(x, size, "avg")[0] if gpu else adaptive_pool2d_kernel(x, size, "avg")[0]
    return out[0] if unbatched else out


@differentiable("input")
@silent_ieee
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size, as ``torch.nn.functional.adaptive_max_pool2d``.

    Windows as in ``adaptive_avg_pool2d``; indices as in ``max_pool2d`` (flat per plane, int64).
    """
    x, unbatched, size = _adaptive_args("adaptive_max_pool2d", input, output_size)
    gpu = gpu_ops(x)
    out, idx = gpu.adaptive_pool2d(x, size, "max") if gpu else adaptive_pool2d_kernel(x, size, "max")
    if unbatched:
        out, idx = out[0], idx[0]
    return (out, idx) if return_indices else out


# ------------------------------------------------------------------------------------------------ backward


@max_pool2d.recorded
def _(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    if is_compiled() and not gpu_ops(input) and not is_channels_last(input):  # the compiled forward's indices
        from minicnn.kernels.pooling_numba import max_pool2d_backward_numba

        out, indices = max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)
        backward = lambda grad_output: (max_pool2d_backward_numba(grad_output, indices, input.shape),)  # noqa: E731
        return ((out, indices) if return_indices else out), backward
    out = None if return_indices else max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode)
    if out is None or not (np.isfinite(out).all() and np.isfinite(input).all()):
        # NaN, -inf and windows wholly in the padding follow torch's index rules: route by the indices
        out, indices = max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)
        backward = lambda grad_output: (max_pool2d_backward(grad_output, indices, input.shape),)  # noqa: E731
        return ((out, indices) if return_indices else out), backward
    x, unbatched = specs.batched(input, "max_pool2d")
    spec = specs.pool2d("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode, given=input)

    def backward(grad_output):
        g, o = (grad_output[None], out[None]) if unbatched else (grad_output, out)
        grad = max_pool2d_backward_by_taps(g, x, o, spec)
        return (grad[0] if unbatched else grad,)

    return out, backward


def max_pool2d_backward(grad_output, indices, input_shape):
    """Each window's gradient goes to the one input element that was its maximum (``indices``, flat per plane);
    an element that was the maximum of several overlapping windows receives the sum.

    Shape: grad_output and indices (N, C, OH, OW) or (C, OH, OW) -> input_shape
    """
    H, W = input_shape[-2:]
    planes = int(np.prod(input_shape[:-2]))
    inside = (indices >= 0) & (indices < H * W)  # a window wholly in the padding points outside: nothing to send
    where = (np.arange(planes).reshape(*input_shape[:-2], 1, 1) * (H * W) + indices)[inside]
    grad = np.bincount(where, weights=grad_output[inside], minlength=planes * H * W)
    return grad.astype(grad_output.dtype, copy=False).reshape(input_shape)


def max_pool2d_backward_by_taps(grad_output, input, output, spec):
    """The same routing as ``max_pool2d_backward`` without indices, for finite inputs: visit the window's taps in
    torch's order (kh, then kw), and give each window's gradient to the first tap that equals its maximum. Each tap
    is one vectorized pass over the output, as in the forward (``kernels/pooling.py:reduce_taps``), much faster than
    finding and storing the indices.

    Shape: grad_output and output (N, C, OH, OW), input (N, C, H, W) -> (N, C, H, W)
    """
    N, C, H, W = input.shape
    (KH, KW), (sH, sW), (pT, pL), (dH, dW), (OH, OW) = spec.kernel_size, spec.stride, spec.padding, spec.dilation, \
        spec.out_size  # fmt: skip
    xp = padded_for_taps(input, spec.kernel_size, spec.stride, spec.padding, spec.dilation, spec.out_size, -np.inf)
    grad = np.zeros(xp.shape, grad_output.dtype)
    left = np.ones(output.shape, bool)  # windows whose maximum is still to be found
    for kh in range(KH):
        for kw in range(KW):
            rows = slice(kh * dH, kh * dH + sH * (OH - 1) + 1, sH)
            cols = slice(kw * dW, kw * dW + sW * (OW - 1) + 1, sW)
            first = np.equal(xp[:, :, rows, cols], output, where=left, out=np.zeros(output.shape, bool))
            grad[:, :, rows, cols] += grad_output * first  # this tap is the first maximum of these windows
            left &= ~first
    return grad[:, :, pT : pT + H, pL : pL + W]


@avg_pool2d.recorded
def _(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    out = avg_pool2d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
    x, unbatched = specs.batched(input, "avg_pool2d")
    spec = specs.pool2d("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode, given=input)

    def backward(grad_output):
        g = grad_output[None] if unbatched else grad_output
        grad = avg_pool2d_backward(g, x.shape, spec, count_include_pad, divisor_override)
        return (grad[0] if unbatched else grad,)

    return out, backward


def avg_pool2d_backward(grad_output, input_shape, spec, count_include_pad=True, divisor_override=None):
    """Each window's gradient, divided by what the forward divided by, is spread over every input element in the
    window (the adjoint of summing the KH*KW shifted views of the padded input); the padding's share is dropped.

    Shape: grad_output (N, C, OH, OW) -> input_shape (N, C, H, W)
    """
    N, C, H, W = input_shape
    (KH, KW), (sH, sW), (pT, pL), (OH, OW) = spec.kernel_size, spec.stride, spec.padding, spec.out_size
    if divisor_override is None:
        dh = avg_pool_divisors(H, KH, sH, pT, OH, count_include_pad)
        dw = avg_pool_divisors(W, KW, sW, pL, OW, count_include_pad)
        g = grad_output / (dh[:, None] * dw[None, :]).astype(grad_output.dtype)
    else:
        g = grad_output / grad_output.dtype.type(divisor_override)
    Hp, Wp = max(H + pT, (OH - 1) * sH + KH), max(W + pL, (OW - 1) * sW + KW)  # as far as windows reach
    grad = np.zeros((N, C, Hp, Wp), grad_output.dtype)
    for kh in range(KH):
        for kw in range(KW):
            grad[:, :, kh : kh + sH * (OH - 1) + 1 : sH, kw : kw + sW * (OW - 1) + 1 : sW] += g
    return grad[:, :, pT : pT + H, pL : pL + W]


@adaptive_avg_pool2d.recorded
def _(input, output_size):
    out = adaptive_avg_pool2d(input, output_size)
    return out, lambda grad_output: (adaptive_avg_pool2d_backward(grad_output, input.shape),)


def adaptive_avg_pool2d_backward(grad_output, input_shape):
    """Each output averaged its window (see ``adaptive_avg_pool2d``): its gradient, divided by the window's size,
    goes to every element of the window. Shape: (*, OH, OW) -> input_shape (*, H, W)."""
    H, W = input_shape[-2:]
    OH, OW = grad_output.shape[-2:]
    (hs, he), (ws, we) = adaptive_bounds(H, OH), adaptive_bounds(W, OW)
    grad = np.zeros(input_shape, grad_output.dtype)
    for oh in range(OH):
        for ow in range(OW):
            area = (he[oh] - hs[oh]) * (we[ow] - ws[ow])
            grad[..., hs[oh] : he[oh], ws[ow] : we[ow]] += grad_output[..., oh, ow, None, None] / area
    return grad


@adaptive_max_pool2d.recorded
def _(input, output_size, return_indices=False):
    out, indices = adaptive_max_pool2d(input, output_size, return_indices=True)
    backward = lambda grad_output: (max_pool2d_backward(grad_output, indices, input.shape),)  # noqa: E731
    return ((out, indices) if return_indices else out), backward
