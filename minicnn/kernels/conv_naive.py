"""conv2d as the textbook loops: the reference that every faster kernel is checked against.

The notebook's 1-D neuron, ``output_i = bias + sum_j input_{i+j} * kernel_j``, grows into 2-D with channels,
stride, dilation and groups (notation in ``minicnn/kernels/__init__.py``):

    out[n, co, oh, ow] = bias[co] + sum_{ci < C_in_g, kh < KH, kw < KW}
                         x[n, g*C_in_g + ci, oh*sH + kh*dH, ow*sW + kw*dW] * weight[co, ci, kh, kw]

where g = co // C_out_g is the group of output channel co: it only sees its group's C_in_g input channels.
This is cross-correlation (``input_{i+j}``), not the flipped convolution of signal processing; PyTorch
computes the same thing. The sum over (ci, kh, kw) is written as one NumPy sum over the window, so the
four loops left are exactly "one output element at a time".
"""

from __future__ import annotations

import numpy as np

from minicnn.kernels import NO_EPILOGUE, finish, zero_padded


def conv2d_naive(x, weight, spec, epilogue=NO_EPILOGUE):
    """Direct convolution, one output element at a time.

    Shape:
        x: (N, C_in, H, W); weight: (C_out, C_in // groups, KH, KW)
        returns (N, C_out, OH, OW) with OH = (H + pad_top + pad_bottom - dH*(KH-1) - 1) // sH + 1, likewise OW
    """
    x = zero_padded(x, spec.pads)  # (N, C_in, H + top + bottom, W + left + right)
    (sH, sW), (dH, dW), C_in_g, C_out_g = spec.stride, spec.dilation, spec.C_in_g, spec.C_out_g
    out = np.empty(spec.out_shape, dtype=x.dtype)  # (N, C_out, OH, OW)
    for n in range(spec.N):
        for co in range(spec.C_out):
            g = co // C_out_g
            x_g = x[n, g * C_in_g : (g + 1) * C_in_g]  # (C_in_g, H, W): the channels co sees
            for oh in range(spec.OH):
                for ow in range(spec.OW):
                    h0, w0 = oh * sH, ow * sW  # top-left corner of the receptive field
                    window = x_g[:, h0 : h0 + dH * (spec.KH - 1) + 1 : dH, w0 : w0 + dW * (spec.KW - 1) + 1 : dW]
                    out[n, co, oh, ow] = np.sum(window * weight[co])  # (C_in_g, KH, KW) -> scalar
    return finish(out, epilogue)  # + bias (and a residual, ReLU: what the caller asked for)
