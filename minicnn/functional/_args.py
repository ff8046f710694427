"""Argument checks shared by the functional ops: the same rules and, where torch has one, the same message.

Errors are ``TypeError`` for a wrong kind of argument (not an array, an integer dtype, mixed dtypes) and
``ValueError`` for a wrong value (shape, size, padding); each message names the shapes involved.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def shape_str(shape: tuple[int, ...]) -> str:
    """torch's way of printing a size in messages: ``[1, 3, 8, 8]``."""
    return "[" + ", ".join(str(s) for s in shape) + "]"


def check_array(x: object, op: str, name: str = "input") -> np.ndarray:
    """``x`` itself if it is a float32/float64 ndarray; a TypeError naming ``op`` and ``name`` otherwise."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{op}(): argument '{name}' must be a numpy.ndarray, not {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(
            f"{op}(): argument '{name}' has dtype {x.dtype}; minicnn computes in float32 or float64 "
            f"(convert with {name}.astype(numpy.float32))"
        )
    return x


def check_same_dtype(op: str, input: np.ndarray, **others: np.ndarray | None) -> None:
    """Every array in ``others`` must have ``input``'s dtype (torch refuses to mix float and double)."""
    for name, arr in others.items():
        if arr is not None and arr.dtype != input.dtype:
            raise TypeError(f"{op}(): input dtype ({input.dtype}) and {name} dtype ({arr.dtype}) should be the same")


def as_batched(x: np.ndarray, op: str, allow_empty_batch: bool = True) -> tuple[np.ndarray, bool]:
    """Accept (C, H, W) or (N, C, H, W); return the 4-D view and whether a batch axis was added."""
    if x.ndim not in (3, 4):
        raise ValueError(
            f"Expected 3D (unbatched) or 4D (batched) input to {op}, but got input of size: {shape_str(x.shape)}"
        )
    return (x[None], True) if x.ndim == 3 else (x, False)


def is_int(v: object) -> bool:
    return type(v) is int or (isinstance(v, numbers.Integral) and not isinstance(v, bool))  # int first: fast


def pair(v: object, name: str, op: str) -> tuple[int, int]:
    """An int, or a sequence of one or two ints, as the pair (for height, for width)."""
    if is_int(v):
        return (int(v), int(v))
    if isinstance(v, (tuple, list)) and len(v) in (1, 2) and all(is_int(e) for e in v):
        return (int(v[0]), int(v[-1]))
    raise TypeError(f"{op}(): {name} must be an int or a pair of ints, got {v!r}")


def normalize_dim(dim: int, ndim: int) -> int:
    """A possibly negative axis as a non-negative one, with torch's IndexError when out of range."""
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not is_int(dim) or not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")
    return dim % max(ndim, 1)


def silent_ieee(fn):
    """Let NaN and inf flow through ``fn`` silently, as they do in torch (no NumPy RuntimeWarnings)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            return fn(*args, **kwargs)

    return wrapper


def on_device(fn):
    """Send the call to the GPU version of the op (minicnn/cuda/ops.py) when its input is a DeviceArray.

    An op with no GPU version raises NotImplementedError for a DeviceArray rather than computing elsewhere.
    """

    @functools.wraps(fn)
    def wrapper(input, *args, **kwargs):
        if type(input).__name__ == "DeviceArray":  # checked by name: no CUDA import for NumPy inputs
            from minicnn.cuda import ops

            gpu_op = getattr(ops, fn.__name__, None)
            if gpu_op is None:
                raise NotImplementedError(f"{fn.__name__}() has no CUDA implementation yet: move the input to the "
                                          "CPU with minicnn.cuda.to_host")  # fmt: skip
            return gpu_op(input, *args, **kwargs)
        return fn(input, *args, **kwargs)

    return wrapper
