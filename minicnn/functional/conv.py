"""``conv2d``: the arguments checked (``minicnn.specs``), then one algorithm of the registry computes it."""

from __future__ import annotations

import numpy as np

from minicnn import specs
from minicnn._config import check_conv_algorithm, get_conv_algorithm, is_compiled
from minicnn.autograd import differentiable
from minicnn.functional import _autotune
from minicnn.functional._args import gpu_ops, silent_ieee, skip_arithmetic
from minicnn.functional.layout import is_channels_last, to_memory_format
from minicnn.kernels import Epilogue, finish, zero_padded
from minicnn.kernels.conv_im2col import col2im_batch, im2col_batch
from minicnn.kernels.registry import resolve


@differentiable("input", "weight", "bias", saves=("input", "weight"))
@silent_ieee
def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, algorithm=None):
    r"""2-D convolution (cross-correlation) over a batch of multi-channel images, as ``torch.nn.functional.conv2d``.

    .. math::
        \text{out}(n, c_o) = \text{bias}(c_o) + \sum_{c_i} \text{weight}(c_o, c_i) \star \text{input}(n, c_i)

    where :math:`\star` slides the (KH, KW) kernel over the image with the given stride and dilation,
    and each output channel only sees the input channels of its group.

    Args:
        input: (N, C_in, H, W) or unbatched (C_in, H, W), float32 or float64, any strides.
        weight: (C_out, C_in // groups, KH, KW), same dtype.
        bias: (C_out,) or None.
        stride, dilation: int or (h, w) pair, >= 1.
        padding: int or (h, w) pair of zeros added on both sides; ``"valid"`` (no padding); ``"same"``
            (output as large as the input, stride 1 only; when the total ``dilation*(K-1)`` is odd the
            extra row/column goes to the bottom/right, as in PyTorch). minicnn adds ``(left, right, top,
            bottom)``, as in ``F.pad``, for asymmetric padding (TensorFlow's "SAME").
        groups: split channels into this many independent convolutions (``groups == C_in``: depthwise).
        algorithm (minicnn's addition): a name of ``minicnn.CONV_ALGORITHMS``, or None for the current default
            (``"default"`` unless changed with ``minicnn.conv_algorithm``). ``"default"`` is a fixed rule that
            uses NumPy only; ``"auto"`` measures the fastest; the others are the kernels of
            ``minicnn/kernels/registry.py``. All give the same result within the documented tolerances.

    Shape:
        OH = floor((H + pad_top + pad_bottom - dH*(KH-1) - 1) / sH) + 1, and likewise OW.
        Output: (N, C_out, OH, OW), or (C_out, OH, OW) for unbatched input; dtype of the input; stored
        channels-last when the input or the weight is (as torch does), else C-contiguous.

    Example:
        >>> import numpy as np, minicnn.functional as F
        >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
        >>> F.conv2d(x, np.ones((1, 1, 2, 2), np.float32)).shape
        (1, 1, 3, 3)
    """
    x, unbatched = specs.batched(specs.check_array(input, "conv2d"), "conv2d")
    spec = specs.conv2d(x, weight, bias, stride, padding, dilation, groups)
    name = algorithm_name(algorithm)
    if skip_arithmetic():  # minicnn summary: the shape is all that is asked
        out = np.empty(spec.out_shape, x.dtype)
        return out[0] if unbatched else out
    gpu = gpu_ops(x)
    if gpu:
        out = gpu.conv2d(x, weight, bias, spec, "default" if name == "compiled" else name)
    else:
        out = run(name, x, weight, spec, Epilogue(bias))
    return out[0] if unbatched else out


def algorithm_name(algorithm):
    """The algorithm (or rule) a call with ``algorithm`` runs: the one named, else the current setting; "compiled" (the
    rule of ``registry.compiled_algorithm``) for the default inside ``minicnn.compiled()``."""
    name = check_conv_algorithm(get_conv_algorithm() if algorithm is None else algorithm)
    return "compiled" if algorithm is None and name == "default" and is_compiled() else name


def run(name, x, weight, spec, epilogue):
    """The convolution of the 4-D ``x`` described by ``spec``, by algorithm ``name`` ("default", "auto" or one of
    the registry), then ``epilogue`` (bias, residual, ReLU). Output channels-last if ``x`` or ``weight`` is."""
    channels_last = is_channels_last(x) or is_channels_last(weight)
    if 0 in spec.out_shape or spec.C_in == 0:  # nothing to compute, or sums of nothing: the bias alone
        return to_memory_format(finish(np.zeros(spec.out_shape, x.dtype), epilogue), channels_last)
    if name == "auto":
        name = _autotune.choose(x, weight, epilogue.bias, spec)
    out = resolve(name, spec, channels_last).run(x, weight, spec, epilogue)
    return to_memory_format(out, channels_last)


@conv2d.recorded
def _(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, algorithm=None,
      needs_input_grad=(True, True, True)):  # fmt: skip
    x, unbatched = specs.batched(specs.check_array(input, "conv2d"), "conv2d")
    spec = specs.conv2d(x, weight, bias, stride, padding, dilation, groups)
    name = algorithm_name(algorithm)
    channels_last = is_channels_last(x) or is_channels_last(weight)
    rows_elements = spec.N * spec.OH * spec.OW * spec.C_in * spec.KH * spec.KW
    if name in ("compiled", "im2col_rows") and not gpu_ops(x) and 0 not in spec.out_shape and \
            rows_elements <= BACKWARD_COLUMNS and not skip_arithmetic() and \
            resolve(name, spec, channels_last).name == "im2col_rows":  # fmt: skip
        # the compiled twin keeps the rows it multiplied (at most BACKWARD_COLUMNS), and its backward is three GEMMs
        from minicnn.kernels.im2col_numba import conv2d_and_rows, conv2d_backward_rows

        out, rows = conv2d_and_rows(x, weight, spec, Epilogue(bias))
        out = to_memory_format(out, channels_last)  # as every conv2d: channels-last if the input or weight is
        backward_of = lambda g: conv2d_backward_rows(g, rows, weight, spec, needs_input_grad[0])  # noqa: E731
    else:
        out = conv2d(x, weight, bias, stride, padding, dilation, groups, algorithm=algorithm)
        backward_of = lambda g: conv2d_backward(g, x, weight, spec, needs_input_grad[0])  # noqa: E731

    def backward(grad_output):
        grad_input, grad_weight, grad_bias = backward_of(grad_output[None] if unbatched else grad_output)
        if grad_input is not None and unbatched:
            grad_input = grad_input[0]
        return grad_input, grad_weight, (None if bias is None else grad_bias)

    return (out[0] if unbatched else out), backward


#: conv2d_backward builds the column matrix of this many elements at most at a time (64 MB of float32; with col2im its
#: gradient as large beside it): a few images of VGG16's first layers, a whole batch of small images.
BACKWARD_COLUMNS = 1 << 24
#: With stride 1, the input's gradient is a convolution with the flipped kernel when one image's columns have at
#: least this many elements, col2im below.
FLIPPED_KERNEL_COLUMNS = 1 << 22


@silent_ieee
def conv2d_backward(grad_output, input, weight, spec, input_grad=True):
    r"""The gradients of ``conv2d`` with respect to its input, weight and bias, by im2col and its adjoint col2im.

    The forward is one matrix product per image and group, ``out = W @ cols`` (``cols = im2col(x)``, see
    ``minicnn/kernels/conv_im2col.py``). The gradient of a matrix product gives both gradients at once:

    .. math::
        \frac{\partial L}{\partial W} = \sum_n G_n \, \text{cols}_n^T \qquad
        \frac{\partial L}{\partial \text{cols}_n} = W^T G_n \qquad
        \frac{\partial L}{\partial b} = \sum_{n, oh, ow} G

    The sum over images is one product: the columns of the whole batch side by side (``im2col_batch``), times the
    output gradients laid out the same way. col2im, the adjoint of im2col, adds each column's gradient back onto
    the input pixels it was copied from (a pixel seen by several windows receives the sum); the padding's share is
    cut off at the end. Seen as one operation, the input's gradient is a convolution of G with the kernel flipped
    (see ``docs/training.md``): with stride 1 and large images it is computed so (``input_gradient_by_flipped_kernel``),
    by conv2d's own code, which never writes out the (C_in*KH*KW, OH*OW) gradient of the columns.

    ``input_grad=False`` (the input is data, e.g. a network's first layer) skips the input's gradient (None).

    Shape:
        grad_output: (N, C_out, OH, OW); input: (N, C_in, H, W); weight: (C_out, C_in // groups, KH, KW)
        -> grad_input like input, grad_weight like weight, grad_bias (C_out,)
    """
    N, G, K, P = spec.N, spec.groups, spec.C_in_g * spec.KH * spec.KW, spec.OH * spec.OW
    top, bottom, left, right = spec.pads
    kernel_size = (spec.KH, spec.KW)
    x = zero_padded(input, spec.pads)  # (N, C_in, H', W')
    w = np.ascontiguousarray(weight).reshape(G, spec.C_out_g, K)  # (G, C_out_g, K)
    g = grad_output.reshape(N, G, spec.C_out_g, P)  # (N, G, C_out_g, OH*OW)
    grad_weight = np.zeros((G, spec.C_out_g, K), dtype=input.dtype)
    # Stride 1 and one image's column gradient too large for the caches: the input's gradient as a convolution with
    # the flipped kernel (see its docstring); smaller ones are faster by col2im, which has no convolution's fixed costs
    flipped = spec.stride == (1, 1) and G * K * P >= FLIPPED_KERNEL_COLUMNS
    if not input_grad:
        grad_x = None
    elif flipped:
        grad_x = input_gradient_by_flipped_kernel(grad_output, weight, spec)
    else:
        grad_x = np.empty(x.shape, x.dtype)
    n = max(1, BACKWARD_COLUMNS // max(1, G * K * P))  # images at a time: a batch's columns may not fit in memory
    for a in range(0, N, n):
        b = min(N, a + n)
        cols = im2col_batch(x[a:b], kernel_size, spec.stride, spec.dilation).reshape(G, K, (b - a) * P)
        g_ab = g[a:b].transpose(1, 2, 0, 3).reshape(G, spec.C_out_g, (b - a) * P)  # images side by side, as cols
        grad_weight += g_ab @ cols.transpose(0, 2, 1)  # (G, C_out_g, n*P) @ (G, n*P, K): the sum over n in the GEMM
        if input_grad and not flipped:
            grad_cols = w.transpose(0, 2, 1) @ g_ab  # (G, K, C_out_g) @ (G, C_out_g, n*P) -> (G, K, n*P)
            grad_x[a:b] = col2im_batch(grad_cols, (b - a, *x.shape[1:]), kernel_size, spec.stride, spec.dilation)
    grad_input = None if grad_x is None else grad_x[:, :, top : top + spec.H, left : left + spec.W]
    grad_bias = grad_output.sum(axis=(0, 2, 3))
    return grad_input, grad_weight.reshape(weight.shape), grad_bias


def input_gradient_by_flipped_kernel(grad_output, weight, spec):
    """dL/dx of a stride-1 convolution, padding included: G convolved with the kernel flipped (KH-1-u, KW-1-v) and its
    input and output channels swapped (per group), over G padded by dilation*(K-1) on every side.

    From out[o, i, j] = sum_{c,u,v} w[o, c, u, v] x[c, i + d*u, j + d*v]: the pixel x[c, p, q] meets
    w[o, c, u, v] in output (p - d*u, q - d*v), so dL/dx[c, p, q] = sum_{o,u,v} G[o, p - d*u, q - d*v] w[o, c, u, v].

    Shape: grad_output (N, C_out, OH, OW) -> (N, C_in, H', W'), the padded input's size.
    """
    G, (dH, dW) = spec.groups, spec.dilation
    w = weight.reshape(G, spec.C_out_g, spec.C_in_g, spec.KH, spec.KW).transpose(0, 2, 1, 3, 4)  # swap channels
    w = np.ascontiguousarray(w[..., ::-1, ::-1]).reshape(spec.C_in, spec.C_out_g, spec.KH, spec.KW)  # flip
    g = np.ascontiguousarray(grad_output)
    pad = (dH * (spec.KH - 1), dW * (spec.KW - 1))
    return conv2d(g, w, None, 1, pad, spec.dilation, G, algorithm="default")
