"""Scratch buffers reused from call to call (per thread), and arrays derived once from a layer's weights.

A kernel's temporary arrays (a padded copy of the input, Winograd's transformed tiles) live only during the
call. Allocating them afresh each time costs more than it seems: the operating system hands out new memory
page by page, on first touch, and for a VGG16 layer that page-faulting took as long as the arithmetic.
``workspace(name, shape, dtype)`` returns a view of a buffer kept for the thread, grown when needed.
Never return a workspace view to the caller: the next call overwrites it.
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

_local = threading.local()


def workspace(name: str, shape, dtype) -> np.ndarray:
    """A C-contiguous array of ``shape`` and ``dtype`` over this thread's reusable buffer ``name``."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    size = int(np.prod(shape))
    key = (name, np.dtype(dtype).str)
    buffers = _local.__dict__.setdefault("buffers", {})
    buf = buffers.get(key)
    if buf is None or buf.size < size:
        buf = buffers[key] = np.empty(max(size, 1), dtype)
    return buf[:size].reshape(shape)


_derived: dict = {}


def derived(weight: np.ndarray, tag, compute):
    """``compute(weight)``, computed once per weight array and kept while the array lives.

    For what a kernel derives from a layer's weights (Winograd's transformed kernels, a contiguous copy).
    Recomputed if the array's values change in place (a cheap fingerprint of 4096 of them is compared).
    """
    key = (id(weight), tag, weight.dtype.str)
    fingerprint = float(np.ravel(weight, order="K")[:: max(1, weight.size // 4096)].astype(np.float64).sum())
    hit = _derived.get(key)
    if hit is not None and hit[0]() is weight and hit[1] == fingerprint:
        return hit[2]
    value = compute(weight)
    _derived[key] = (weakref.ref(weight, lambda _, key=key: _derived.pop(key, None)), fingerprint, value)
    return value
