"""Depthwise convolution: every output channel reads one input channel (groups = C_in).

MobileNet and EfficientNet split a convolution in two: a *depthwise* KHxKW conv that filters each channel
on its own, then a *pointwise* 1x1 conv that mixes channels (see ``conv2d_1x1`` in ``conv_im2col.py``).
With ``mult = C_out // C_in`` output channels per input channel (the channel multiplier, usually 1),
notation as in ``minicnn/kernels/__init__.py``:

    out[n, co, oh, ow] = bias[co] + sum_{kh, kw} x[n, co // mult, oh*sH + kh*dH, ow*sW + kw*dW] * weight[co, 0, kh, kw]

There is no sum over channels, so the GEMM behind im2col would be C_in tiny products. Two better ways:

- ``depthwise_shift_add`` (NumPy): one kernel tap at a time, ``out += weight[:, kh, kw] * x shifted by
  (kh, kw)``: KH*KW multiply-adds over whole tensors, each shifted input a strided *view* (no copy).
- ``depthwise_numba``: the formula's loops compiled and run on minicnn's threads over (image, channel) planes,
  accumulating one output row at a time so that it stays in the fastest cache.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from minicnn.kernels import NO_EPILOGUE, Epilogue, bias_or_zeros, finish, threads, zero_padded


def depthwise_shift_add(x, weight, spec, epilogue=NO_EPILOGUE):
    """Depthwise conv as KH*KW shifted multiply-adds (the calling convention of every conv2d kernel).

    Shape: x (N, C_in, H, W); weight (C_in * mult, 1, KH, KW) -> (N, C_in * mult, OH, OW)
    """
    x = zero_padded(x, spec.pads) if any(spec.pads) else x
    N, C_in, OH, OW, KH, KW = spec.N, spec.C_in, spec.OH, spec.OW, spec.KH, spec.KW
    (sH, sW), (dH, dW) = spec.stride, spec.dilation
    mult = spec.C_out // C_in
    w = weight.reshape(C_in, mult, KH, KW)  # output channel co = c * mult + m
    out = np.zeros((N, C_in, mult, OH, OW), dtype=x.dtype)
    for kh in range(KH):
        for kw in range(KW):
            tap = x[:, :, kh * dH : kh * dH + sH * (OH - 1) + 1 : sH, kw * dW : kw * dW + sW * (OW - 1) + 1 : sW]
            out += w[None, :, :, kh, kw, None, None] * tap[:, :, None]  # (N, C_in, mult, OH, OW)
    return finish(out.reshape(spec.out_shape), epilogue)


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
    return finish(out, Epilogue(None, epilogue.relu, epilogue.residual))  # the bias is in already
