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

from minicnn.kernels import conv_output_size


def conv2d_naive(x, weight, bias, stride, dilation, groups):
    """Direct convolution, one output element at a time.

    Shape:
        x: (N, C_in, H, W), already zero-padded; weight: (C_out, C_in // groups, KH, KW); bias: (C_out,) or None
        returns (N, C_out, OH, OW) with OH = (H - dH*(KH-1) - 1) // sH + 1, likewise OW
    """
    N, C_in, H, W = x.shape
    C_out, C_in_g, KH, KW = weight.shape
    (sH, sW), (dH, dW) = stride, dilation
    OH, OW = conv_output_size(H, KH, sH, dH), conv_output_size(W, KW, sW, dW)
    C_out_g = C_out // groups
    out = np.empty((N, C_out, OH, OW), dtype=x.dtype)
    for n in range(N):
        for co in range(C_out):
            g = co // C_out_g
            x_g = x[n, g * C_in_g : (g + 1) * C_in_g]  # (C_in_g, H, W): the channels co sees
            for oh in range(OH):
                for ow in range(OW):
                    h0, w0 = oh * sH, ow * sW  # top-left corner of the receptive field
                    window = x_g[:, h0 : h0 + dH * (KH - 1) + 1 : dH, w0 : w0 + dW * (KW - 1) + 1 : dW]
                    out[n, co, oh, ow] = np.sum(window * weight[co])  # (C_in_g, KH, KW) -> scalar
            if bias is not None:
                out[n, co] += bias[co]
    return out
