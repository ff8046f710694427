"""minicnn's own worker threads, and NumPy's BLAS held to one thread while they run.

Kernels that split their work over threads themselves (Winograd's bands in ``winograd_cl.py``, the GEMM
epilogue in ``epilogue.py``, channels-last im2col's bands in ``conv_im2col.py``) hand it to ``parallel`` or
``share``; the calling thread takes items too, while the workers wake up (0.1-0.3 ms on the 2-core virtual
machines), and a worker that has not started when the items run out is not waited for. When each thread calls
small GEMMs, a multi-threaded BLAS would wake its own threads for every call and fight over the cores:
``one_blas_thread`` sets it to one thread for the duration (through threadpoolctl, which finds the loaded library;
process-wide, until the last thread inside such a block leaves it).

Called from one of minicnn's worker threads (a kernel inside a kernel), or where no thread can start (a forked
child's copy of the pool has no threads; at interpreter exit no new ones may start), the work runs on the
calling thread instead of waiting for workers that would never come.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def count() -> int:
    """How many threads minicnn's kernels use (``settings.num_threads``: NUMBA_NUM_THREADS, else the cores)."""
    from minicnn import settings

    return settings.num_threads()


_PREFIX = "minicnn-worker"
_pools: dict = {}  # thread count -> ThreadPoolExecutor
_pools_lock = threading.Lock()


def _forget_pools_after_fork():
    global _pools_lock
    _pools.clear()  # the child has copies of the pools but none of their threads
    _pools_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_after_fork)


def _pool() -> ThreadPoolExecutor | None:
    """The worker pool, or None where the calling thread must do the work itself (see the module docstring)."""
    if threading.current_thread().name.startswith(_PREFIX):
        return None
    n = count()
    with _pools_lock:
        return _pools.get(n) or _pools.setdefault(n, ThreadPoolExecutor(max_workers=n, thread_name_prefix=_PREFIX))


def parallel(fn, items) -> list:
    """``[fn(item) for item in items]``, the items shared out as ``share`` does (the calling thread among the workers),
    the results in the items' order. (With every item handed to the workers and the calling thread waiting, each call
    paid for waking them before any work began: ResNet50's forward pass 2.5% slower on the 2-core Xeons, measured in
    alternate passes of one process.)"""
    items = list(items)
    results = [None] * len(items)

    def run(i):
        results[i] = fn(items[i])

    share(run, range(len(items)))
    return results


def share(fn, items) -> None:
    """``fn(item)`` for every item, shared out as the work goes: each of minicnn's threads, the calling one among
    them, takes the next item when it is done with its last. On a busy machine one thread may be slowed down for
    a while; the others then take its share (a fixed split waits for the slowest thread). After an error no
    thread starts another item; the first error is raised once every thread has stopped.
    """
    pending = iter(list(items))
    lock = threading.Lock()
    failed = []

    def worker(_):
        while True:
            with lock:
                item = _DONE if failed else next(pending, _DONE)
            if item is _DONE:
                return
            try:
                fn(item)
            except BaseException as error:
                failed.append(error)
                raise

    helpers = []
    pool = _pool()
    if pool is not None:
        try:
            helpers = [pool.submit(_quiet, worker, None) for _ in range(count() - 1)]
        except RuntimeError as error:  # at interpreter exit: the calling thread does it all
            if "schedule new futures" not in str(error):
                raise
    try:
        _quiet(worker, None)
    finally:
        # every thread that started has stopped before anything is raised or returned; a helper that has not started
        # is cancelled (it will never run), not waited for
        concurrent.futures.wait([helper for helper in helpers if not helper.cancel()])
    if failed:
        raise failed[0]


_DONE = object()


def over_range(fn, total: int) -> None:
    """``fn(j0, j1)`` over consecutive ranges that cover 0 .. total-1, shared out to minicnn's threads (about four
    ranges per thread, so that a slowed thread's share is taken by the others). How the compiled kernels run in
    parallel: each is a ``nogil`` function over a range of jobs, so that minicnn's threads run them at once, with
    no threading layer of Numba's (whose pools are not safe to enter from several threads at once)."""
    parts = min(total, 4 * count()) if count() > 1 else 1
    if parts <= 1:
        fn(0, total)
        return
    share(lambda r: fn(*r), [(total * i // parts, total * (i + 1) // parts) for i in range(parts)])


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


_blas_lock = threading.Lock()
_blas_inside = 0  # threads inside one_blas_thread blocks
_blas_before: list = []  # the thread counts to restore when the last one leaves


@contextlib.contextmanager
def one_blas_thread():
    """Within the block, every loaded BLAS runs one thread; the previous counts come back when the last thread
    inside such a block leaves it (two overlapping blocks restoring in the wrong order would leave one thread)."""
    global _blas_inside, _blas_before
    libs = _blas_controllers()
    with _blas_lock:
        if _blas_inside == 0:
            _blas_before = [lib.get_num_threads() for lib in libs]
            for lib in libs:
                lib.set_num_threads(1)
        _blas_inside += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_inside -= 1
            if _blas_inside == 0:
                for lib, n in zip(libs, _blas_before):
                    lib.set_num_threads(n)
