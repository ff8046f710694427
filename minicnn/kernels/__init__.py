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

Every conv2d kernel has one calling convention (the registry, ``kernels/registry.py``, lists them all):

    out = conv2d_xxx(x, weight, spec, epilogue)

``x`` is the *unpadded* (N, C_in, H, W) input in any memory layout (each kernel pads as it needs to);
``weight`` is what the kernel's ``pack`` made of the (C_out, C_in_g, KH, KW) weight (the weight itself for most);
``spec`` is the checked ``minicnn.specs.ConvSpec`` (stride, dilation, groups, pads as (top, bottom, left, right)
and every size); ``epilogue`` says what to do with the sums before returning them: add the bias, add a residual,
apply ReLU (``finish`` below is its readable form). ``functional.conv2d`` checks the arguments and picks the
kernel; it never pads or transforms anything itself.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def conv_output_size(size: int, kernel: int, stride: int, dilation: int) -> int:
    """Output length of a convolution over an (already padded) axis of ``size`` elements.

    The window spans ``dilation*(kernel-1) + 1`` elements and moves by ``stride``:
    ``out = (size - dilation*(kernel-1) - 1) // stride + 1``.
    """
    return (size - dilation * (kernel - 1) - 1) // stride + 1


class Epilogue(NamedTuple):
    """What a conv kernel does to its sums before returning them: ``min(relu(sums + bias + residual), cap)``.

    bias: (C_out,) or None; residual: an (N, C_out, OH, OW) array to add (ResNet's skip connection) or None;
    relu: whether to clamp at zero. Fast kernels apply it while each block of output is still in cache.
    fast: apply it with the compiled one-pass kernel of ``kernels/epilogue.py`` where a kernel can (what
    ``minicnn.optimize`` asks for); otherwise NumPy, one pass per term.
    cap: an upper clamp, or None; with ``relu``, 6.0 makes ReLU6 (EfficientNet's and MobileNet's activation,
    ``min(max(x, 0), 6)`` as torch's ``relu6``; a NaN stays NaN). Every kernel applies all of it.
    """

    bias: np.ndarray | None = None
    relu: bool = False
    residual: np.ndarray | None = None
    fast: bool = False
    cap: float | None = None


NO_EPILOGUE = Epilogue()


def bias_or_zeros(epilogue: Epilogue, C_out: int, dtype) -> np.ndarray:
    """The epilogue's bias as a contiguous (C_out,) array, zeros without one: what compiled loops start their sums
    from (they then ``finish`` with the rest of the epilogue, ``epilogue._replace(bias=None)``)."""
    bias = epilogue.bias
    return np.zeros(C_out, dtype) if bias is None else np.ascontiguousarray(bias, dtype=dtype)


def finish(out, epilogue: Epilogue):
    """The epilogue in plain NumPy, in place on the (N, C_out, OH, OW) ``out``; returns ``out``."""
    if epilogue.bias is not None:
        out += epilogue.bias.reshape(1, -1, 1, 1)  # (C_out,) broadcast over (N, C_out, OH, OW)
    if epilogue.residual is not None:
        out += epilogue.residual
    if epilogue.relu:
        np.maximum(out, 0, out=out)
    if epilogue.cap is not None:
        np.minimum(out, epilogue.cap, out=out)
    return out


def finish_rows(block, epilogue: Epilogue, residual_block=None):
    """The epilogue on a (pixels, C_out) block of channels-last output, in place (``residual_block``: the matching
    block of the residual)."""
    if epilogue.fast:
        from minicnn.kernels.epilogue import epilogue as one_pass  # imported late: Numba loads slowly

        return one_pass(block, epilogue.bias, residual_block, relu=epilogue.relu, cap=epilogue.cap)
    if epilogue.bias is not None:
        block += epilogue.bias  # (C_out,) broadcast over the rows
    if residual_block is not None:
        block += residual_block
    if epilogue.relu:
        np.maximum(block, 0, out=block)
    if epilogue.cap is not None:
        np.minimum(block, epilogue.cap, out=block)
    return block


def zero_padded(x, pads, reuse=False, channels_last=False):
    """``x`` (N, C, H, W) with ``pads`` = (top, bottom, left, right) zeros around it, as a C-contiguous array.

    ``reuse``: in this thread's reusable buffer (``workspace.workspace``; valid until this thread's next call),
    for the fast kernels: allocating a fresh padded copy page-faults as long as the arithmetic takes.
    ``channels_last`` (with ``reuse``): the buffer is stored pixel by pixel, (N, H', W', C) C-contiguous, and returned
    as its (N, C, H', W') view, for the kernels that read channels-last pixels.
    """
    top, bottom, left, right = pads
    if not reuse:
        return np.pad(np.ascontiguousarray(x), ((0, 0), (0, 0), (top, bottom), (left, right)))
    from minicnn.kernels.workspace import workspace

    N, C, H, W = x.shape
    Hp, Wp = H + top + bottom, W + left + right
    if channels_last:
        xp = workspace("padded input", (N, Hp, Wp, C), x.dtype).transpose(0, 3, 1, 2)
    else:
        xp = workspace("padded input", (N, C, Hp, Wp), x.dtype)
    if top or bottom or left or right:
        xp[:, :, :top], xp[:, :, H + top :], xp[:, :, :, :left], xp[:, :, :, W + left :] = 0, 0, 0, 0
    xp[:, :, top : top + H, left : left + W] = x
    return xp
