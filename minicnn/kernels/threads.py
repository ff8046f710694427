"""minicnn's own worker threads, and NumPy's BLAS held to one thread while they run.

Kernels that split their work over threads themselves (Winograd's bands in ``winograd_cl.py``, the GEMM
epilogue in ``epilogue.py``) hand it to ``parallel``. When each thread calls small GEMMs, a multi-threaded
BLAS would wake its own threads for every call and fight over the cores: ``one_blas_thread`` sets it to one
thread for the duration (through threadpoolctl, which finds the loaded library; process-wide while it runs).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def count() -> int:
    """How many threads minicnn's kernels use: NUMBA_NUM_THREADS (by default, the cores this process may use).

    Read as Numba reads it, without importing Numba (65 MB of memory) for kernels that are NumPy only."""
    numba = sys.modules.get("numba")
    if numba is not None:
        return max(1, int(numba.config.NUMBA_NUM_THREADS))
    if os.environ.get("NUMBA_NUM_THREADS", "").strip():
        return max(1, int(os.environ["NUMBA_NUM_THREADS"]))
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


_pools: dict = {}  # thread count -> ThreadPoolExecutor
_pools_lock = threading.Lock()


def parallel(fn, items) -> list:
    """``[fn(item) for item in items]``, the items run at once on minicnn's worker threads."""
    return list(_pool().map(lambda item: _quiet(fn, item), items))  # list(): wait for all, re-raise the first error


def share(fn, items) -> None:
    """``fn(item)`` for every item, shared out as the work goes: each of minicnn's threads, the calling one among
    them, takes the next item when it is done with its last. On a busy machine one thread may be slowed down for
    a while; the others then take its share (a fixed split waits for the slowest thread).
    """
    pending = iter(list(items))
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                item = next(pending, _DONE)
            if item is _DONE:
                return
            fn(item)

    helpers = [_pool().submit(_quiet, lambda _: worker(), None) for _ in range(count() - 1)]
    try:
        _quiet(lambda _: worker(), None)
    finally:
        for h in helpers:
            h.result()  # wait for all; re-raise a helper's error


_DONE = object()


def _pool() -> ThreadPoolExecutor:
    n = count()
    with _pools_lock:
        return _pools.get(n) or _pools.setdefault(n, ThreadPoolExecutor(max_workers=n, thread_name_prefix="minicnn"))


def _quiet(fn, item):
    with np.errstate(all="ignore"):  # as the calling thread (np.errstate is per thread): inf/NaN are results
        return fn(item)


@functools.cache
def _blas_controllers():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a declared dependency
        return []
    return ThreadpoolController().select(user_api="blas").lib_controllers


def blas_controllable() -> bool:
    """True if NumPy's BLAS was found and its thread count can be set."""
    return bool(_blas_controllers())


@contextlib.contextmanager
def one_blas_thread():
    """Within the block, every loaded BLAS runs one thread; the previous counts come back afterwards."""
    libs = _blas_controllers()
    before = [lib.get_num_threads() for lib in libs]
    for lib in libs:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in zip(libs, before):
            lib.set_num_threads(n)
