"""conv2d compiled by Numba: the naive loops, reordered for the machine, then ``@njit``.

Same arithmetic as ``conv_naive`` (notation in ``minicnn/kernels/__init__.py``); three things change:

1. Compiled: ``@njit`` turns the Python loops into machine code (no interpreter per multiply-add).
2. Loop order: instead of finishing one output element at a time, each kernel tap (ci, kh, kw) sweeps
   over the whole output plane, ``out[oh, ow] += weight[co, ci, kh, kw] * x[c, oh*sH + kh*dH, ow*sW + kw*dW]``.
   The innermost loop then walks ``ow`` through contiguous memory (for stride 1), which the compiler
   turns into SIMD instructions, and the weight stays in a register.
3. Parallel: the (image, output channel) planes are independent, so minicnn's threads each take a range of
   them (``threads.over_range``; the compiled function releases Python's lock with ``nogil=True``).

Compiled code is cached on disk (``cache=True``): beside this file in ``__pycache__`` when that is
writable, else in Numba's per-user cache directory, or wherever ``NUMBA_CACHE_DIR`` points. A second
process loads it instead of compiling again (one compilation per dtype, float32 and float64).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from minicnn.kernels import NO_EPILOGUE, bias_or_zeros, finish, threads, zero_padded


@njit(nogil=True, cache=True)
def _conv2d_planes(x, weight, bias, sH, sW, dH, dW, groups, out, job0, job1):
    """Fill planes job0 .. job1-1 of ``out`` (N, C_out, OH, OW); ``bias`` is a (C_out,) array (zeros when absent)."""
    N, C_out, OH, OW = out.shape
    C_in_g, KH, KW = weight.shape[1], weight.shape[2], weight.shape[3]
    C_out_g = C_out // groups
    for job in range(job0, job1):  # one (image, output channel) plane per job
        n, co = job // C_out, job % C_out
        c0 = (co // C_out_g) * C_in_g  # first input channel of co's group
        plane = out[n, co]  # (OH, OW)
        plane[:, :] = bias[co]
        for ci in range(C_in_g):
            for kh in range(KH):
                for kw in range(KW):
                    wv = weight[co, ci, kh, kw]
                    for oh in range(OH):
                        row = x[n, c0 + ci, oh * sH + kh * dH]  # (W,): the input row this tap reads
                        for ow in range(OW):
                            plane[oh, ow] += wv * row[ow * sW + kw * dW]


def conv2d_numba(x, weight, spec, epilogue=NO_EPILOGUE):
    """conv2d with the compiled, parallel loops of ``_conv2d_planes``.

    Shape: x (N, C_in, H, W); weight (C_out, C_in // groups, KH, KW) -> (N, C_out, OH, OW)
    """
    out = np.empty(spec.out_shape, x.dtype)
    if out.size == 0:
        return out
    b = bias_or_zeros(epilogue, spec.C_out, x.dtype)
    (sH, sW), (dH, dW) = spec.stride, spec.dilation
    xp, w = zero_padded(x, spec.pads), np.ascontiguousarray(weight)
    threads.over_range(lambda j0, j1: _conv2d_planes(xp, w, b, sH, sW, dH, dW, spec.groups, out, j0, j1),
                       spec.N * spec.C_out)  # fmt: skip
    return finish(out, epilogue._replace(bias=None))  # the bias is in already
