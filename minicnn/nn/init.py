"""Weight initialisation, as ``torch.nn.init``: each function fills an array in place and returns it.

fan_in = C_in/groups * KH * KW (the inputs of one output unit), fan_out = C_out * KH * KW.
``no_init()`` turns them all into no-ops: models use it when a checkpoint will overwrite every weight
anyway, which saves drawing VGG16's 138 million random numbers. It holds for the thread (or asyncio task) that
entered it only: a model built meanwhile in another thread is initialised as usual.
"""

from __future__ import annotations

import contextlib
import contextvars
import math

import numpy as np

from minicnn._random import as_generator

_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("minicnn_init_enabled", default=True)


@contextlib.contextmanager
def no_init():
    """Inside this block arrays are left as allocated (zeros) instead of being initialised (in this thread)."""
    token = _enabled.set(False)
    try:
        yield
    finally:
        _enabled.reset(token)


def fans(a: np.ndarray) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight: (out, in) for Linear, (out, in, kh, kw) for Conv2d."""
    receptive = int(np.prod(a.shape[2:])) if a.ndim > 2 else 1
    return a.shape[1] * receptive, a.shape[0] * receptive


def uniform_(a, low=0.0, high=1.0, generator=None):
    """Fill with U(low, high), drawn in the array's own dtype when NumPy can (no float64 temporary)."""
    if _enabled.get():
        g = as_generator(generator)
        if _drawable(a):
            g.random(out=a, dtype=a.dtype)
        else:
            a[...] = g.random(a.shape)
        a *= a.dtype.type(high - low)
        a += a.dtype.type(low)
    return a


def normal_(a, mean=0.0, std=1.0, generator=None):
    """Fill with N(mean, std), drawn in the array's own dtype when NumPy can (no float64 temporary)."""
    if _enabled.get():
        g = as_generator(generator)
        if _drawable(a):
            g.standard_normal(out=a, dtype=a.dtype)
        else:
            a[...] = g.standard_normal(a.shape)
        a *= a.dtype.type(std)
        a += a.dtype.type(mean)
    return a


def _drawable(a) -> bool:
    """NumPy's generators fill float32/float64 C-contiguous arrays in place."""
    return a.dtype in (np.float32, np.float64) and a.flags.c_contiguous


def constant_(a, value):
    if _enabled.get():
        a[...] = value
    return a


def zeros_(a):
    return constant_(a, 0)


def ones_(a):
    return constant_(a, 1)


def _gain(nonlinearity, a=0.0):
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + a**2))
    if nonlinearity in ("linear", "conv2d", "sigmoid"):
        return 1.0
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def kaiming_uniform_(a, a_slope=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """U(-bound, bound) with bound = gain * sqrt(3 / fan): keeps activations' variance through ReLU layers."""
    fan = fans(a)[0 if mode == "fan_in" else 1]
    bound = _gain(nonlinearity, a_slope) * math.sqrt(3.0 / fan) if fan else 0.0
    return uniform_(a, -bound, bound, generator)


def kaiming_normal_(a, a_slope=0.0, mode="fan_in", nonlinearity="leaky_relu", generator=None):
    """N(0, std) with std = gain / sqrt(fan) (He et al., 2015); torchvision's VGG and ResNet use fan_out, relu."""
    fan = fans(a)[0 if mode == "fan_in" else 1]
    std = _gain(nonlinearity, a_slope) / math.sqrt(fan) if fan else 0.0
    return normal_(a, 0.0, std, generator)


def default_layer_init_(weight, bias, generator=None):
    """torch's default for Conv2d and Linear: kaiming_uniform_(a=sqrt(5)), i.e. U(+-1/sqrt(fan_in)) for
    the weight, and U(+-1/sqrt(fan_in)) for the bias."""
    kaiming_uniform_(weight, a_slope=math.sqrt(5), generator=generator)
    if bias is not None:
        fan_in = fans(weight)[0]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound, generator)
