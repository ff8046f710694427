"""Element-wise and per-row nonlinearities: ``relu``, ``relu6``, ``softmax``, ``log_softmax``, ``dropout``."""

from __future__ import annotations

import warnings

import numpy as np

from minicnn import specs
from minicnn._config import is_compiled
from minicnn._random import as_generator
from minicnn.autograd import differentiable
from minicnn.functional._args import check_array, gpu_ops, normalize_dim, silent_ieee


@differentiable("input", saves=("output",), inplace="inplace")
def relu(input, inplace=False):
    """max(x, 0), element-wise (the "positive part"); NaN stays NaN. ``inplace`` overwrites ``input``.

    Example:
        >>> import numpy as np, minicnn.functional as F
        >>> F.relu(np.array([-1.5, 0.0, 2.0]))
        array([0., 0., 2.])
    """
    x = check_array(input, "relu")
    gpu = gpu_ops(x)
    return gpu.clip(x, 0.0, np.inf, inplace) if gpu else np.maximum(x, 0, out=x if inplace else None)


@differentiable("input", saves=("output",), inplace="inplace")
def relu6(input, inplace=False):
    """min(max(x, 0), 6), element-wise, as in MobileNet and EfficientNet-Lite; NaN stays NaN."""
    x = check_array(input, "relu6")
    gpu = gpu_ops(x)
    return gpu.clip(x, 0.0, 6.0, inplace) if gpu else np.clip(x, 0, 6, out=x if inplace else None)


def _softmax_dim(op, x, dim):
    if dim is None:  # torch's deprecated implicit choice
        warnings.warn(
            f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X as an argument.",
            UserWarning,
            stacklevel=3,
        )
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return normalize_dim(dim, x.ndim)


@differentiable("input", saves=("output",))
@silent_ieee
def softmax(input, dim=None):
    """exp(x_i) / sum_j exp(x_j) along ``dim``, computed as exp(x_i - max) / sum_j exp(x_j - max).

    Subtracting the row's maximum changes nothing mathematically and keeps exp() from overflowing, so
    logits of 1000 give the right answer. NaN and inf behave as in torch (a +inf entry gives NaN).
    """
    x = check_array(input, "softmax")
    dim = _softmax_dim("softmax", x, dim)
    gpu = gpu_ops(x)
    if gpu:
        return gpu.softmax(x, dim, log=False)
    e = np.exp(x - x.max(axis=dim, keepdims=True, initial=-np.inf))  # initial: an empty axis is fine
    return e / e.sum(axis=dim, keepdims=True)


@differentiable("input", saves=("output",))
@silent_ieee
def log_softmax(input, dim=None):
    """log(softmax(x)) along ``dim``, computed stably as (x - max) - log(sum_j exp(x_j - max))."""
    x = check_array(input, "log_softmax")
    dim = _softmax_dim("log_softmax", x, dim)
    gpu = gpu_ops(x)
    if gpu:
        return gpu.softmax(x, dim, log=True)
    shifted = x - x.max(axis=dim, keepdims=True, initial=-np.inf)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


@differentiable("input", inplace="inplace")
@silent_ieee
def dropout(input, p=0.5, training=True, inplace=False, *, rng=None):
    """Inverted dropout: in training, zero each element with probability p and scale the rest by 1/(1-p).

    The scaling keeps every element's expected value unchanged, so evaluation (``training=False``)
    is the identity. ``rng`` (minicnn's addition) is a ``numpy.random.Generator`` or a seed for reproducible masks;
    by default masks come from minicnn's generator (``minicnn.manual_seed``), as torch's come from its own.
    """
    x = check_array(input, "dropout")
    p = specs.dropout_p(p)
    gpu = gpu_ops(x)
    if gpu:
        return gpu.dropout(x, p, training)
    if not training or p == 0.0:
        return x if inplace else x.copy()
    out = x if inplace else np.empty_like(x)
    if p == 1.0:
        out[...] = 0
        return out
    keep = as_generator(rng).random(x.shape) >= p  # each kept with probability 1 - p
    np.multiply(x, keep * x.dtype.type(1.0 / (1.0 - p)), out=out)
    return out


# ------------------------------------------------------------------------------------------------ backward
# Each op's backward maps the gradient of its output, G, to the gradient of its input. The element-wise ones
# read the output rather than the input: ReLU with inplace=True has overwritten its input by then.


@relu.recorded
def _(input, inplace=False):
    out = relu(input, inplace)
    if is_compiled():  # recorded inside minicnn.compiled(): its backward is one compiled pass
        from minicnn.kernels.activation_numba import relu_backward_numba

        return out, lambda grad_output: (relu_backward_numba(grad_output, out),)
    return out, lambda grad_output: (relu_backward(grad_output, out),)


def relu_backward(grad_output, output):
    """ReLU passes the gradient where it passed its input (output > 0) and stops it elsewhere (as torch, at 0 too)."""
    return _passed(grad_output, ~(output <= 0))  # ~(<= 0) rather than > 0: a NaN output passes its gradient (torch)


def _passed(grad_output, keep):
    """``grad_output`` where ``keep``, 0 elsewhere: ``np.where(keep, grad_output, 0)``, computed as a product with the
    mask (ten times faster); the two differ only where the gradient is NaN or infinite (0 * inf is NaN), and then
    ``np.where`` gives the answer."""
    out = np.multiply(grad_output, keep, dtype=grad_output.dtype)
    if not np.isfinite(out.sum()):
        return np.where(keep, grad_output, 0).astype(grad_output.dtype, copy=False)
    out += 0  # a negative gradient times False is -0.0; torch's 0 is +0.0
    return out


@relu6.recorded
def _(input, inplace=False):
    out = relu6(input, inplace)
    if is_compiled():
        from minicnn.kernels.activation_numba import relu6_backward_numba

        return out, lambda grad_output: (relu6_backward_numba(grad_output, out),)
    return out, lambda grad_output: (relu6_backward(grad_output, out),)


def relu6_backward(grad_output, output):
    """ReLU6 passes the gradient strictly between 0 and 6, where it is the identity, and stops it at and beyond.
    A NaN output passes it (torch's scalar formula; torch's vectorized loop stops it: torch itself differs there)."""
    return _passed(grad_output, ~((output <= 0) | (output >= 6)))


@softmax.recorded
def _(input, dim=None):
    dim = _softmax_dim("softmax", input, dim)
    out = softmax(input, dim)
    return out, lambda grad_output: (softmax_backward(grad_output, out, dim),)


def softmax_backward(grad_output, output, dim):
    """With y = softmax(x): dL/dx_i = y_i * (G_i - sum_j G_j y_j), from dy_j/dx_i = y_j (delta_ij - y_i)."""
    return output * (grad_output - (grad_output * output).sum(axis=dim, keepdims=True))


@log_softmax.recorded
def _(input, dim=None):
    dim = _softmax_dim("log_softmax", input, dim)
    out = log_softmax(input, dim)
    return out, lambda grad_output: (log_softmax_backward(grad_output, out, dim),)


def log_softmax_backward(grad_output, output, dim):
    """With y = log_softmax(x): dL/dx_i = G_i - softmax(x)_i * sum_j G_j (and softmax(x) = exp(y))."""
    return grad_output - np.exp(output) * grad_output.sum(axis=dim, keepdims=True)


@dropout.recorded
def _(input, p=0.5, training=True, inplace=False, *, rng=None):
    p = specs.dropout_p(p)
    if not training or p == 0.0 or p == 1.0:
        scale = input.dtype.type(0.0 if training and p == 1.0 else 1.0)
    else:  # the same mask as dropout() draws, kept for the backward
        scale = (as_generator(rng).random(input.shape) >= p) * input.dtype.type(1.0 / (1.0 - p))
    out = np.multiply(input, scale, out=input if inplace else None)
    return out, lambda grad_output: (dropout_backward(grad_output, scale),)


def dropout_backward(grad_output, scale):
    """Dropout multiplied each element by 0 or 1/(1-p): its gradient is multiplied by the same number."""
    return (grad_output * scale).astype(grad_output.dtype, copy=False)
