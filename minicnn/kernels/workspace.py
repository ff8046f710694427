"""Scratch buffers reused from call to call, per thread.

A kernel's temporary arrays (a padded copy of the input, Winograd's transformed tiles) live only during the
call. Allocating them afresh each time costs more than it seems: the operating system hands out new memory
page by page, on first touch, and for a VGG16 layer that page-faulting took as long as the arithmetic.
``workspace(name, shape, dtype)`` returns a view of a buffer kept for the thread, grown when needed.
Never return a workspace view to the caller: the next call overwrites it. A buffer larger than KEEP_BYTES is not
kept (an odd 1500x1500 input must not leave hundreds of MB resident for the rest of the process): it is
allocated for the call and freed with it.
"""

from __future__ import annotations

import math
import threading

import numpy as np

_local = threading.local()
#: The largest buffer kept between calls (VGG16's largest, its padded input at batch 8, is about 100 MB).
KEEP_BYTES = 256 << 20


def workspace(name: str, shape, dtype) -> np.ndarray:
    """A C-contiguous array of ``shape`` and ``dtype`` over this thread's reusable buffer ``name``."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    size = math.prod(shape)
    if size * np.dtype(dtype).itemsize > KEEP_BYTES:
        return np.empty(shape, dtype)  # too large to keep: this call's alone
    key = (name, np.dtype(dtype).str)
    buffers = _local.__dict__.setdefault("buffers", {})
    buf = buffers.get(key)
    if buf is None or buf.size < size:
        buf = buffers[key] = np.empty(max(size, 1), dtype)
    return buf[:size].reshape(shape)


_heap_prepared = False


def keep_freed_memory() -> None:
    """Once per process: let the C allocator keep the memory NumPy frees, for the next arrays of a training step.

    A training step allocates and frees a few MB of activations and gradients. glibc's ``malloc`` gives freed memory
    at the top of its heap back to the system once more than twice its "mmap threshold" (128 KB at first) is free,
    and the next step's arrays then page-fault it in again: about a third of the digits CNN's step in a virtual
    machine, from one run to the next by chance. Freeing one 16 MB array raises that threshold to 16 MB (glibc adjusts
    it to the largest freed block, as it does after any large NumPy temporary), so the step's memory is reused: the
    process then keeps up to 32 MB of freed memory for reuse instead of returning it at once. Nothing else changes,
    and other C libraries ignore it. ``minicnn.compiled()`` calls it.
    """
    global _heap_prepared
    if not _heap_prepared:
        _heap_prepared = True
        np.empty(16 << 20, np.uint8)  # freed at once (never touched: mapped and unmapped, not paged in)
