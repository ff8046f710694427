"""Pooling ops: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``, ``adaptive_max_pool2d``.

Checks and output sizes follow PyTorch (``aten/src/ATen/native/Pool.h``); the window arithmetic is in
``minicnn/kernels/pooling.py``.
"""

from __future__ import annotations

from minicnn.functional._args import as_batched, check_array, is_int, on_device, pair, shape_str, silent_ieee
from minicnn.kernels.pooling import adaptive_pool2d_kernel, avg_pool2d_kernel, max_pool2d_kernel


def pool_output_size(size, kernel, stride, pad, dilation, ceil_mode):
    """PyTorch's pooled length along one axis.

    ``out = floor_or_ceil((size + 2*pad - dilation*(kernel-1) - 1) / stride) + 1``; with ceil_mode, a last
    window that would start in the right padding (``(out-1)*stride >= size + pad``) is dropped.
    """
    span = size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _pool_args(op, input, kernel_size, stride, padding, dilation, ceil_mode):
    """Check the arguments shared by max and average pooling; return the 4-D input and normalized pairs."""
    x, unbatched = as_batched(check_array(input, op), op)
    if x.shape[1] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(
            "Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, "
            f"but got:{shape_str(input.shape)}"
        )
    k = pair(kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else pair(stride, "stride", op)
    p, d = pair(padding, "padding", op), pair(dilation, "dilation", op)
    if min(k) <= 0:
        raise ValueError(f"kernel size should be greater than zero, but got kH: {k[0]} kW: {k[1]}")
    if min(s) <= 0:
        raise ValueError(f"stride should be greater than zero, but got dH: {s[0]} dW: {s[1]}")
    if min(d) <= 0:
        raise ValueError(f"dilation should be greater than zero, but got dilationH: {d[0]} dilationW: {d[1]}")
    if min(p) < 0:
        raise ValueError(f"pad must be non-negative, but got pad: {p}")
    for kk, pp in zip(k, p):
        if pp > kk // 2:
            raise ValueError(
                f"pad should be at most half of effective kernel size, but got pad={pp}, "
                f"kernel_size={kk} and dilation={d[0]}"
            )
    C, H, W = x.shape[1:]
    out = tuple(pool_output_size(n, kk, ss, pp, dd, ceil_mode) for n, kk, ss, pp, dd in zip((H, W), k, s, p, d))
    if min(out) < 1:
        raise ValueError(
            f"Given input size: ({C}x{H}x{W}). Calculated output size: ({C}x{out[0]}x{out[1]}). "
            "Output size is too small"
        )
    return x, unbatched, k, s, p, d, out


@on_device
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
    x, unbatched, k, s, p, d, out_size = _pool_args(
        "max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode
    )
    out, idx = max_pool2d_kernel(x, k, s, p, d, out_size, return_indices)
    if unbatched:
        out, idx = out[0], (None if idx is None else idx[0])
    return (out, idx) if return_indices else out


@on_device
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
    if divisor_override is not None and (not is_int(divisor_override) or divisor_override == 0):
        raise ValueError("divisor must be not zero")
    x, unbatched, k, s, p, _, out_size = _pool_args("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode)
    out = avg_pool2d_kernel(x, k, s, p, out_size, ceil_mode, count_include_pad, divisor_override)
    return out[0] if unbatched else out


def _adaptive_args(op, input, output_size):
    x, unbatched = as_batched(check_array(input, op), op)
    if x.shape[1] == 0 or x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(
            f"{op}(): Expected 3D or 4D tensor with non-zero sizes for the channel and spatial "
            f"dimensions, but got input of size {shape_str(input.shape)}"
        )
    if is_int(output_size) or output_size is None:
        output_size = (output_size, output_size)
    if not isinstance(output_size, (tuple, list)) or len(output_size) != 2:
        raise TypeError(f"{op}(): output_size must be an int or a pair of ints or None, got {output_size!r}")
    size = tuple(n if o is None else o for o, n in zip(output_size, x.shape[2:]))
    if not all(is_int(o) for o in size) or min(size) < 0:
        raise ValueError(f"{op}: elements of output_size must be greater than or equal to 0 but received {output_size}")
    return x, unbatched, size


@on_device
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
    out, _ = adaptive_pool2d_kernel(x, size, "avg")
    return out[0] if unbatched else out


@on_device
@silent_ieee
def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max pooling to a fixed output size, as ``torch.nn.functional.adaptive_max_pool2d``.

    Windows as in ``adaptive_avg_pool2d``; indices as in ``max_pool2d`` (flat per plane, int64).
    """
    x, unbatched, size = _adaptive_args("adaptive_max_pool2d", input, output_size)
    out, idx = adaptive_pool2d_kernel(x, size, "max")
    if unbatched:
        out, idx = out[0], idx[0]
    return (out, idx) if return_indices else out
