"""Depthwise convolution, compiled (the formula and the NumPy version: ``depthwise.py``).

- ``depthwise_numba``: the formula's loops compiled and run on minicnn's threads over (image, channel) planes,
  accumulating one output row at a time so that it stays in the fastest cache.
- ``depthwise_cl``: the same loops for channels-last activations (what ``minicnn.optimize`` runs): the C values
  of a pixel are contiguous, so each tap is one multiply-add over a vector of C channels (SIMD), the bias starts
  the sums and ReLU is applied before the pixel is written; no layout copy before or after.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from minicnn.kernels import NO_EPILOGUE, bias_or_zeros, finish, threads, zero_padded


@njit(nogil=True, cache=True)
def _depthwise_planes(x, weight, bias, sH, sW, dH, dW, mult, out, job0, job1):
    N, C_out, OH, OW = out.shape
    KH, KW = weight.shape[2], weight.shape[3]
    for job in range(job0, job1):  # one (image, output channel) plane per job
        n, co = job // C_out, job % C_out
        c = co // mult  # the one input channel it reads
        for oh in range(OH):
            acc = out[n, co, oh]  # (OW,): one output row, kept in L1 cache
            acc[:] = bias[co]
            for kh in range(KH):
                row = x[n, c, oh * sH + kh * dH]  # (W,)
                for kw in range(KW):
                    wv = weight[co, 0, kh, kw]
                    for ow in range(OW):
                        acc[ow] += wv * row[ow * sW + kw * dW]


def depthwise_numba(x, weight, spec, epilogue=NO_EPILOGUE):
    """Depthwise conv with the compiled, parallel loops of ``_depthwise_planes`` (same convention)."""
    out = np.empty(spec.out_shape, x.dtype)
    if out.size == 0:
        return out
    b = bias_or_zeros(epilogue, spec.C_out, x.dtype)
    (sH, sW), (dH, dW) = spec.stride, spec.dilation
    xp, w, mult = zero_padded(x, spec.pads, reuse=True), np.ascontiguousarray(weight), spec.C_out // spec.C_in
    threads.over_range(lambda j0, j1: _depthwise_planes(xp, w, b, sH, sW, dH, dW, mult, out, j0, j1),
                       spec.N * spec.C_out)  # fmt: skip
    return finish(out, epilogue._replace(bias=None))  # the bias is in already


def pack_cl(weight):
    """The weight as ``depthwise_cl`` reads it: (C_out, 1, KH, KW) -> (KH, KW, C_out), contiguous."""
    return np.ascontiguousarray(weight[:, 0].transpose(1, 2, 0))


@njit(nogil=True, cache=True)
def _depthwise_cl_rows(x, w, bias, sH, sW, dH, dW, pT, pL, mult, relu, cap, out, job0, job1):
    """Output rows job0 .. job1-1 (job = n*OH + oh) of ``out`` (N, OH, OW, C_out) from ``x`` (N, H, W, C_in).

    The row being computed (OW x C_out numbers, a few KB, in a buffer of its own) stays in the fastest cache while
    every tap adds its shifted input row into it; for each tap, the output columns whose input lies inside the image
    are worked out once, so the innermost loop is a plain multiply-add over C contiguous channels (SIMD). The row is
    then written out once, clamped on the way. (Clamped in place instead, by a pass over numbers already written, a
    positive number is stored where it was read: LLVM compiles that to masked stores, microcoded on AMD's Zen 3.)"""
    N, H, W, C = x.shape
    OH, OW, K = out.shape[1], out.shape[2], out.shape[3]
    KH, KW = w.shape[0], w.shape[1]
    low = out.dtype.type(0 if relu else -np.inf)  # (an int 0 would make the ReLU compute in float64)
    row = np.empty((OW, K), out.dtype)
    for job in range(job0, job1):
        n, oh = job // OH, job % OH
        for ow in range(OW):
            for k in range(K):
                row[ow, k] = bias[k]
        for kh in range(KH):
            h = oh * sH + kh * dH - pT
            if h < 0 or h >= H:  # a row of padding: adds nothing
                continue
            for kw in range(KW):
                shift = kw * dW - pL  # output column ow reads input column ow*sW + shift
                lo = 0 if shift >= 0 else (sW - 1 - shift) // sW  # the columns inside the image: lo .. hi-1
                hi = min(OW, (W - 1 - shift) // sW + 1) if W - 1 - shift >= 0 else 0
                for ow in range(lo, hi):
                    v = ow * sW + shift
                    if mult == 1:
                        for k in range(K):
                            row[ow, k] += x[n, h, v, k] * w[kh, kw, k]
                    else:
                        for k in range(K):
                            row[ow, k] += x[n, h, v, k // mult] * w[kh, kw, k]
        for ow in range(OW):  # ReLU (low: 0, else -inf) and ReLU6's cap (inf for none); a NaN stays NaN
            for k in range(K):
                v = row[ow, k]
                v = low if v < low else v
                out[n, oh, ow, k] = cap if v > cap else v


#: Below this many multiply-adds, or this many output rows, a layer runs in the calling thread (handing work to
#: another thread costs about 0.1 ms; EfficientNet-Lite0's layers of 2.7-4.7 M at 28-112 rows gain 25-40%).
THREAD_MACS = 2_500_000
THREAD_ROWS = 28


def depthwise_cl(x, packed, spec, epilogue=NO_EPILOGUE):
    """Depthwise conv of channels-last activations: (N, C_in, H, W) stored as (N, H, W, C_in) (another layout is
    copied) -> (N, C_out, OH, OW) stored as (N, OH, OW, C_out); ``packed`` = ``pack_cl(weight)``."""
    x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1))  # a view if x is channels-last
    out = np.empty((spec.N, spec.OH, spec.OW, spec.C_out), x.dtype)
    if out.size == 0:
        return out.transpose(0, 3, 1, 2)
    b = bias_or_zeros(epilogue, spec.C_out, x.dtype)
    relu = epilogue.relu and epilogue.residual is None  # a residual comes before the ReLU (and its cap)
    cap = epilogue.cap if relu else None  # ReLU6 in the same pass; a cap without ReLU by finish, below
    top = x.dtype.type(np.inf if cap is None else cap)
    (sH, sW), (dH, dW), (pT, _, pL, _) = spec.stride, spec.dilation, spec.pads
    w = np.ascontiguousarray(packed, dtype=x.dtype)

    def rows(j0, j1):
        _depthwise_cl_rows(x_cl, w, b, sH, sW, dH, dW, pT, pL, spec.C_out // spec.C_in, relu, top, out, j0, j1)

    if spec.macs >= THREAD_MACS and spec.N * spec.OH >= THREAD_ROWS:
        threads.over_range(rows, spec.N * spec.OH)
    else:
        rows(0, spec.N * spec.OH)
    out = out.transpose(0, 3, 1, 2)
    if epilogue.residual is not None or (epilogue.cap is not None and cap is None):
        return finish(out, epilogue._replace(bias=None))
    return out
