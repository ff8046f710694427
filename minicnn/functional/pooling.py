"""Pooling ops: ``max_pool2d``, ``avg_pool2d``, ``adaptive_avg_pool2d``, ``adaptive_max_pool2d``.

Checks and output sizes follow PyTorch (``aten/src/ATen/native/Pool.h``); the window arithmetic is in
``minicnn/kernels/pooling.py``.
"""

from __future__ import annotations

import numpy as np

from minicnn import specs
from minicnn.functional._args import gpu_ops, silent_ieee, skip_arithmetic
from minicnn.kernels.pooling import adaptive_pool2d_kernel, avg_pool2d_kernel, max_pool2d_kernel
from minicnn.specs import pool_output_size  # noqa: F401 - part of this module's story (and its API)


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
    else:
        out, idx = max_pool2d_kernel(x, spec.kernel_size, spec.stride, spec.padding, spec.dilation, spec.out_size,
                                     return_indices)  # fmt: skip
    if unbatched:
        out, idx = out[0], (None if idx is None else idx[0])
    return (out, idx) if return_indices else out


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
