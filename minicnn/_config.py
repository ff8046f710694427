"""Which conv2d algorithm runs when a call does not name one.

``conv2d(..., algorithm=None)`` asks :func:`get_conv_algorithm`; ``with minicnn.conv_algorithm("im2col"):``
changes that answer for everything inside the block (a whole model included), in this thread or task only.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
from collections.abc import Iterator


def use_quiet_numba_threads() -> None:
    """Run Numba's parallel loops on its own "workqueue" threads, unless NUMBA_THREADING_LAYER says otherwise.

    NumPy's GEMM (OpenBLAS) and Numba's default OpenMP pool both keep their threads spinning for a while
    after a parallel region. A network alternates the two (a GEMM, then a compiled kernel, then a GEMM...),
    and each switch then waits for the other pool's spinning threads: about 9 ms per switch on 2 cores,
    measured (benchmarks/README.md). The workqueue pool sleeps instead: 0.2 ms.
    """
    if "NUMBA_THREADING_LAYER" not in os.environ:
        os.environ["NUMBA_THREADING_LAYER"] = "workqueue"
        if "numba" in sys.modules:  # imported already: its configuration was read; set it directly
            sys.modules["numba"].config.THREADING_LAYER = "workqueue"


use_quiet_numba_threads()


def cache_dir() -> str:
    """minicnn's own cache folder: $MINICNN_CACHE_DIR, else $XDG_CACHE_HOME/minicnn, else ~/.cache/minicnn."""
    return os.getenv("MINICNN_CACHE_DIR") or os.path.join(
        os.getenv("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache")), "minicnn"
    )


#: Every name ``conv2d(algorithm=...)`` accepts. "auto" picks per call (see functional/conv.py).
CONV_ALGORITHMS = ("auto", "naive", "im2col", "numba", "winograd", "winograd2")

_default_algorithm: contextvars.ContextVar[str] = contextvars.ContextVar("conv_algorithm", default="auto")


def check_conv_algorithm(name: object) -> str:
    """Return ``name`` if it is a known conv2d algorithm, else raise a ValueError listing the known ones."""
    if not isinstance(name, str) or name not in CONV_ALGORITHMS:
        raise ValueError(f"unknown conv2d algorithm {name!r}; expected one of {', '.join(CONV_ALGORITHMS)}")
    return name


def get_conv_algorithm() -> str:
    """The algorithm ``conv2d`` uses when called with ``algorithm=None`` ("auto" unless changed)."""
    return _default_algorithm.get()


def set_conv_algorithm(name: str) -> None:
    """Set the default conv2d algorithm for the current thread or task (prefer the context manager)."""
    _default_algorithm.set(check_conv_algorithm(name))


@contextlib.contextmanager
def conv_algorithm(name: str) -> Iterator[str]:
    """Run the block with ``name`` as the default conv2d algorithm, e.g. for a whole model::

    with minicnn.conv_algorithm("im2col"):
        logits = model(x)
    """
    token = _default_algorithm.set(check_conv_algorithm(name))
    try:
        yield name
    finally:
        _default_algorithm.reset(token)
