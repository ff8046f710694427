"""``pad``: add (or, with negative amounts, remove) elements at the ends of the last dimensions."""

from __future__ import annotations

import numpy as np

from minicnn.autograd import differentiable
from minicnn.functional._args import check_array, gpu_ops, is_int, shape_str

MODES = ("constant", "reflect", "replicate", "circular")


@differentiable("input")
def pad(input, pad, mode="constant", value=0.0):
    """Pad the last ``len(pad) // 2`` dimensions, as ``torch.nn.functional.pad``.

    ``pad`` lists (before, after) amounts starting from the *last* dimension: ``(left, right)`` pads the
    width, ``(left, right, top, bottom)`` width then height. Negative amounts crop.

    Modes, for a row [a b c d] padded by 2 on each side:
        constant   v v a b c d v v    (``value``)
        reflect    c b a b c d c b    (mirror, edge not repeated; amount < size)
        replicate  a a a b c d d d    (edge repeated)
        circular   c d a b c d a b    (wrap around; amount <= size)

    Shape: (*, S) -> (*, S + before + after) for each padded dimension. reflect, replicate and circular
    pad 1, 2 or 3 dimensions of an input with one or two more (batch and channel) dimensions.
    """
    x = check_array(input, "pad")
    if not isinstance(pad, (tuple, list)) or not all(is_int(p) for p in pad):
        raise TypeError(f"pad(): pad must be a tuple of ints, got {pad!r}")
    if len(pad) % 2:
        raise ValueError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k > x.ndim:
        raise ValueError(
            "Padding length should be less than or equal to two times the input dimension but got "
            f"padding length {len(pad)} and input of dimension {x.ndim}"
        )
    if mode not in MODES:
        raise ValueError(f"Unrecognised padding mode {mode!r}; expected one of {', '.join(MODES)}")
    if mode != "constant":
        if value != 0:
            raise ValueError(f'Padding mode "{mode}" doesn\'t take in value argument')
        if x.ndim not in (k + 1, k + 2) or k > 3:
            raise ValueError(f"Padding size {len(pad)} is not supported for {x.ndim}D input tensor.")
    gpu = gpu_ops(x)
    if gpu:
        return gpu.pad(x, tuple(int(p) for p in pad), mode, value)
    out = x
    for i in range(k):
        axis, before, after = x.ndim - 1 - i, int(pad[2 * i]), int(pad[2 * i + 1])
        out = _pad_axis(out, axis, before, after, mode, value, x.shape)
    return out if out is not x else x.copy()


def _pad_axis(x, axis, before, after, mode, value, in_shape):
    size = x.shape[axis]
    if size + before + after < 0:
        raise ValueError(
            f"pad ({before}, {after}) would give dimension {axis} of input {shape_str(in_shape)} a negative size"
        )
    if mode != "constant" and size + before + after < 1:
        raise ValueError(
            f"pad ({before}, {after}) in {mode} mode would leave dimension {axis} of input {shape_str(in_shape)} "
            "empty; the output must be >= 1 in every padded dimension"
        )
    if mode == "constant":
        x = _crop(x, axis, before, after)
        widths = [(0, 0)] * x.ndim
        widths[axis] = (max(before, 0), max(after, 0))
        return np.pad(x, widths, constant_values=value)
    if mode == "circular":
        x = _crop(x, axis, before, after)  # torch crops first, then wraps what is left
        n = x.shape[axis]
        if before > n or after > n:
            raise ValueError(
                f"Padding value causes wrapping around more than once: pad ({before}, {after}) on dimension "
                f"{axis} of size {n} (after cropping) of input {shape_str(in_shape)}"
            )
        src = np.arange(-max(before, 0), n + max(after, 0)) % max(n, 1)
        return np.take(x, src, axis=axis)
    src = np.arange(-before, size + after)  # output position -> source position, before clamping
    if mode == "reflect":
        if before >= size or after >= size:
            raise ValueError(
                f"Padding size should be less than the corresponding input dimension, but got: padding "
                f"({before}, {after}) at dimension {axis} of input {shape_str(in_shape)}"
            )
        src = np.abs(src)
        src = np.where(src >= size, 2 * (size - 1) - src, src)
    else:  # replicate
        if size == 0:
            raise ValueError(f"replicate padding needs a non-empty dimension {axis}, input {shape_str(in_shape)}")
        src = np.clip(src, 0, size - 1)
    return np.take(x, src, axis=axis)


def _crop(x, axis, before, after):
    """Drop -before elements at the start and -after at the end of ``axis`` where they are negative."""
    index = [slice(None)] * x.ndim
    index[axis] = slice(max(-before, 0), x.shape[axis] - max(-after, 0))
    return x[tuple(index)]


@pad.recorded
def _(input, pad_, mode="constant", value=0.0):
    out = pad(input, pad_, mode, value)
    return out, lambda grad_output: (pad_backward(grad_output, input.shape, pad_, mode),)


def pad_backward(grad_output, input_shape, pad_, mode="constant"):
    """Every output element is a copy of one input element (or the constant): pad the element *numbers* 1..n
    the same way to learn which, and add each output's gradient to its source (a mirrored or wrapped element
    receives several). Shape: grad_output (the padded shape) -> input_shape."""
    sources = pad(np.arange(1, np.prod(input_shape) + 1, dtype=np.float64).reshape(input_shape), pad_, mode, 0.0)
    sources = sources.astype(np.int64).ravel()  # 0: the constant, not an input element
    grad = np.bincount(sources, weights=grad_output.ravel(), minlength=int(np.prod(input_shape)) + 1)[1:]
    return grad.astype(grad_output.dtype).reshape(input_shape)
