"""Which kernels run when a call does not name one.

``conv2d(..., algorithm=None)`` asks :func:`get_conv_algorithm`; ``with minicnn.conv_algorithm("im2col"):``
changes that answer for everything inside the block (a whole model included), in this thread or task only.
The names are those of ``minicnn/kernels/registry.py``: ``"default"`` (a fixed NumPy rule), ``"auto"`` (measured),
or one algorithm.

``with minicnn.compiled():`` (minicnn's addition, for training) runs the compiled twins of the readable NumPy code
where one exists, forward and backward: convolutions of small images by ``im2col_rows`` (``"default"`` otherwise,
unless an algorithm is named) and max pooling by ``kernels/pooling_numba.py``. Nothing is timed and nothing derived
from a weight is kept, so it is as correct as the default; the first call of each shape compiles (cached on disk).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from minicnn.kernels.registry import NAMES, check_name

#: Every name ``conv2d(algorithm=...)`` accepts.
CONV_ALGORITHMS = NAMES

_default_algorithm: contextvars.ContextVar[str] = contextvars.ContextVar("conv_algorithm", default="default")


_compiled: contextvars.ContextVar[bool] = contextvars.ContextVar("compiled", default=False)


def is_compiled() -> bool:
    """Whether ``minicnn.compiled()`` is in force in this thread or task."""
    return _compiled.get()


@contextlib.contextmanager
def compiled(enabled: bool = True) -> Iterator[None]:
    """Run the block with the compiled kernels (see above); ``compiled(False)`` turns them off inside it::

    with minicnn.compiled():
        for x, y in batches:
            opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """
    if enabled:
        from minicnn.kernels.workspace import keep_freed_memory

        keep_freed_memory()
    token = _compiled.set(bool(enabled))
    try:
        yield
    finally:
        _compiled.reset(token)


def check_conv_algorithm(name: object) -> str:
    """Return ``name`` if it is a known conv2d algorithm, else raise a ValueError listing the known ones."""
    return check_name(name)


def get_conv_algorithm() -> str:
    """The algorithm ``conv2d`` uses when called with ``algorithm=None`` ("default" unless changed)."""
    return _default_algorithm.get()


def set_conv_algorithm(name: str) -> None:
    """Set the default conv2d algorithm for the current thread or task (prefer the context manager)."""
    _default_algorithm.set(check_name(name))


@contextlib.contextmanager
def conv_algorithm(name: str) -> Iterator[str]:
    """Run the block with ``name`` as the default conv2d algorithm, e.g. for a whole model::

    with minicnn.conv_algorithm("im2col"):
        logits = model(x)
    """
    token = _default_algorithm.set(check_name(name))
    try:
        yield name
    finally:
        _default_algorithm.reset(token)
