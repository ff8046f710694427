"""Run NumPy's BLAS with one thread for a while (through threadpoolctl, which finds the loaded library).

Kernels that split their work over their own threads (``winograd_cl._run_bands``) call many small GEMMs
at once from several threads; a multi-threaded BLAS would then wake its own threads for every call and
fight over the cores. The setting is process-wide while the block runs.
"""

from __future__ import annotations

import contextlib
import functools


@functools.cache
def _controllers():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a declared dependency
        return []
    return ThreadpoolController().select(user_api="blas").lib_controllers


def controllable() -> bool:
    """True if NumPy's BLAS was found and its thread count can be set."""
    return bool(_controllers())


@contextlib.contextmanager
def one_blas_thread():
    """Within the block, every loaded BLAS runs one thread; the previous counts come back afterwards."""
    libs = _controllers()
    before = [lib.get_num_threads() for lib in libs]
    for lib in libs:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, n in zip(libs, before):
            lib.set_num_threads(n)
