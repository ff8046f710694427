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
_made_here: dict = {}  # id -> weakref of the arrays derived() computed (made read-only: nothing may edit them)


def derived(arrays, tag, compute):
    """``compute(*arrays)``, computed once and kept while the first array lives.

    For what a kernel derives from a layer's weights (Winograd's transformed kernels, a contiguous copy, a
    convolution with its batch norm folded in). ``arrays`` is one array or a tuple of them. Recomputed when
    any of them is replaced by another array or changes in place (a fingerprint of ~1024 values each). An
    array that ``derived`` itself computed (a folded weight, then transformed for Winograd) needs no fingerprint:
    it is made read-only, so nothing can edit it in place.
    """
    arrays = arrays if isinstance(arrays, tuple) else (arrays,)
    first = arrays[0]
    key = (id(first), tag, first.dtype.str)
    ids = tuple(id(a) for a in arrays)
    fingerprint = tuple(None if a is None or _is_made_here(a) else _fingerprint(a) for a in arrays)
    hit = _derived.get(key)
    if hit is not None and hit[0]() is first and hit[1] == ids and hit[2] == fingerprint:
        return hit[3]
    value = compute(*arrays)
    _derived[key] = (
        weakref.ref(first, lambda _, key=key, table=_derived: table.pop(key, None)),
        ids,
        fingerprint,
        value,
    )
    for out in value if isinstance(value, tuple) else (value,):
        # not if it is (a view of) an input, as np.ascontiguousarray returns an already contiguous input itself
        if isinstance(out, np.ndarray) and not any(a is not None and np.may_share_memory(out, a) for a in arrays):
            out.flags.writeable = False
            ident = id(out)
            _made_here[ident] = weakref.ref(out, lambda _, i=ident, table=_made_here: table.pop(i, None))
    return value


def _is_made_here(a) -> bool:
    ref = _made_here.get(id(a))
    return ref is not None and ref() is a


def _fingerprint(a: np.ndarray):
    """A cheap checksum of ``a`` that changes if ``a`` is edited: a hash of all its bytes for small and 1-D arrays
    (biases, batch-norm statistics: editing one channel must be seen), else of about 1024 values evenly spread over
    it, at least one in every filter (every index of the first axis; swapping two filters changes the hash too).
    Each value sampled from a large weight is a memory access of its own: 4096 cost ResNet50 1 ms per pass."""
    if a.size <= 1024 or a.ndim == 1:
        return hash(a.tobytes())
    step = max(1, min(a.size // 1024, a.size // a.shape[0]))
    return hash(np.ravel(a, order="K")[::step].tobytes())  # ravel: a view for any contiguous layout
