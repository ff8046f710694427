"""What follows a GEMM in a convolution layer, in one pass over its output: bias, the residual, ReLU (or ReLU6).

    out[p, k] = min(max(out[p, k] + bias[k] + residual[p, k], 0), cap)      (each term optional)

NumPy would make one pass over memory per term (``out += bias``, ``out += residual``, ``np.maximum``); a
ResNet50 forward spent about 5 ms in those passes at batch 1. Here the rows are shared out to the threads
of ``threads.parallel`` when the output is large.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from minicnn.kernels import threads


@njit(nogil=True, cache=True)
def _epilogue_rows(out, bias, residual, use_residual, low, cap, p0, p1):
    """out[p0:p1] as in the module docstring, one pass: each number is read, finished in a register and written once.
    out, residual: (P, K) C-contiguous; bias: (K,) (zeros if none); low: 0 for ReLU, -inf for none; cap: the upper
    clamp (inf for none).

    (A second pass of ``out[p, k] = max(out[p, k], 0)`` over numbers already written is a store of the value it read
    wherever it is positive: LLVM compiles it to masked stores (``vmaskmovps``), microcoded on AMD's Zen 3, where the
    ReLU pass ran 8x slower than an addition: 0.73 ms for ResNet50's 56x56x256 outputs, 11.7 ms of its forward pass.)"""
    K = out.shape[1]
    for p in range(p0, p1):
        if use_residual:
            for k in range(K):
                v = (out[p, k] + bias[k]) + residual[p, k]  # the order of the unfused steps
                v = low if v < low else v  # selects, not branches; a NaN stays NaN, as in NumPy and torch
                out[p, k] = cap if v > cap else v
        else:
            for k in range(K):
                v = out[p, k] + bias[k]
                v = low if v < low else v
                out[p, k] = cap if v > cap else v


#: Outputs smaller than this (elements) are done by the calling thread alone. The pass runs at memory speed (a
#: 56x56x256 output with its residual in 0.19 ms on one thread), and waking minicnn's second thread costs 0.1-0.5 ms
#: on the 2-core virtual machines: measured inside the networks, ResNet50's 13 epilogues of 0.4-0.8 M elements took
#: 0.50 ms each shared out and 0.19 ms alone (its forward pass 3 ms faster), EfficientNet-Lite0's largest 0.68 / 0.29.
PARALLEL_ELEMENTS = 1 << 22


def epilogue(out2d, bias, residual2d=None, relu=False, cap=None):
    """In place: out2d (P, K) += bias (K,) [+ residual2d (P, K)], then ReLU if asked, then at most ``cap`` if given.
    Returns out2d."""
    if bias is None and residual2d is None and not relu and cap is None:
        return out2d
    low = out2d.dtype.type(0 if relu else -np.inf)
    top = out2d.dtype.type(np.inf if cap is None else cap)
    b = np.zeros(out2d.shape[1], out2d.dtype) if bias is None else np.ascontiguousarray(bias, dtype=out2d.dtype)
    res = out2d if residual2d is None else np.ascontiguousarray(residual2d, dtype=out2d.dtype)
    P = out2d.shape[0]
    n = threads.count() if out2d.size >= PARALLEL_ELEMENTS else 1
    if n == 1:
        _epilogue_rows(out2d, b, res, residual2d is not None, low, top, 0, P)
    else:
        bounds = [(P * t // n, P * (t + 1) // n) for t in range(n)]
        threads.parallel(lambda r: _epilogue_rows(out2d, b, res, residual2d is not None, low, top, r[0], r[1]), bounds)
    return out2d
