"""Kernels: the loops that do the arithmetic. They know nothing of the layers above them.

Notation, used in every kernel module and in the docs:

    N              batch size
    C_in, C_out    input and output channels          G        groups
    C_in_g         C_in // G  (channels one group sees) C_out_g  C_out // G
    H, W           input height and width (already zero-padded when a kernel receives it)
    KH, KW         kernel height and width
    sH, sW         stride                              dH, dW   dilation
    OH, OW         output height and width: OH = (H - dH*(KH-1) - 1) // sH + 1, likewise OW

Activations are (N, C, H, W), conv weights (C_out, C_in_g, KH, KW), as in PyTorch.
Every conv2d kernel has the signature ``conv2d_xxx(x, weight, bias, stride, dilation, groups)`` and
takes a C-contiguous, already padded ``x``; ``functional.conv2d`` checks arguments and pads.
"""


def conv_output_size(size: int, kernel: int, stride: int, dilation: int) -> int:
    """Output length of a convolution over an (already padded) axis of ``size`` elements.

    The window spans ``dilation*(kernel-1) + 1`` elements and moves by ``stride``:
    ``out = (size - dilation*(kernel-1) - 1) // stride + 1``.
    """
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def conv_output(x, weight, stride, dilation):
    """An empty (N, C_out, OH, OW) array for convolving the padded ``x`` with ``weight`` (x's dtype)."""
    import numpy as np

    N, _, H, W = x.shape
    C_out, _, KH, KW = weight.shape
    OH, OW = conv_output_size(H, KH, stride[0], dilation[0]), conv_output_size(W, KW, stride[1], dilation[1])
    return np.empty((N, C_out, OH, OW), x.dtype)
