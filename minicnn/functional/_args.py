"""What the functional ops share: NaN and inf flowing silently, and sending a call to the GPU backend.

The argument checks themselves are device-neutral and live in ``minicnn.specs`` (re-exported here for the ops).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools

import numpy as np

from minicnn.specs import (  # noqa: F401 - re-exported for the ops
    FLOAT_DTYPES,
    batched,
    check_array,
    check_others,
    is_int,
    normalize_dim,
    on_gpu,
    pair,
    shape_str,
)


def silent_ieee(fn):
    """Let NaN and inf flow through ``fn`` silently, as they do in torch (no NumPy RuntimeWarnings)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            return fn(*args, **kwargs)

    return wrapper


def gpu_ops(x):
    """``minicnn.cuda.ops`` when ``x`` is a DeviceArray (the ops then compute on the GPU), else None."""
    if not on_gpu(x):
        return None
    from minicnn.cuda import ops

    return ops


_shapes_only: contextvars.ContextVar[bool] = contextvars.ContextVar("minicnn_shapes_only", default=False)


@contextlib.contextmanager
def shapes_only():
    """Inside this block (this thread only) the ops that do the arithmetic (convolution, pooling, linear) check
    their arguments and return an uninitialised array of the right shape and dtype without computing it: what
    ``minicnn summary`` needs to list every layer's output shape of a large input in a second, not minutes."""
    token = _shapes_only.set(True)
    try:
        yield
    finally:
        _shapes_only.reset(token)


def skip_arithmetic() -> bool:
    return _shapes_only.get()
