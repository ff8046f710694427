"""Depthwise convolution: every output channel reads one input channel (groups = C_in).

MobileNet and EfficientNet split a convolution in two: a *depthwise* KHxKW conv that filters each channel
on its own, then a *pointwise* 1x1 conv that mixes channels (see ``conv2d_1x1`` in ``conv_im2col.py``).
With ``mult = C_out // C_in`` output channels per input channel (the channel multiplier, usually 1),
notation as in ``minicnn/kernels/__init__.py``:

    out[n, co, oh, ow] = bias[co] + sum_{kh, kw} x[n, co // mult, oh*sH + kh*dH, ow*sW + kw*dW] * weight[co, 0, kh, kw]

There is no sum over channels, so the GEMM behind im2col would be C_in tiny products. Two better ways:

- ``depthwise_shift_add`` (NumPy): one kernel tap at a time, ``out += weight[:, kh, kw] * x shifted by
  (kh, kw)``: KH*KW multiply-adds over whole tensors, each shifted input a strided *view* (no copy).
- ``depthwise_numba`` and ``depthwise_cl`` (in ``depthwise_numba.py``, compiled: this module needs NumPy alone,
  so the default rule never loads Numba): the formula's loops, over (image, channel) planes or over channels-last
  pixels.
"""

from __future__ import annotations

import numpy as np

from minicnn.kernels import NO_EPILOGUE, finish, zero_padded


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
