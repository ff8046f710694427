"""Every setting minicnn reads from the environment, in one place, with one parser.

| variable                 | meaning                                                     | default                 |
| ------------------------ | ----------------------------------------------------------- | ----------------------- |
| MINICNN_CACHE_DIR        | where ``auto`` and ``optimize`` remember what they measured | $XDG_CACHE_HOME/minicnn |
| MINICNN_AUTOTUNE         | measure candidates (``auto``, ``optimize``); off: fixed rule | on                     |
| MINICNN_OFFLINE          | never download weights unless asked to explicitly           | off                     |
| MINICNN_DOWNLOAD_TIMEOUT | seconds a download may stall before it fails                | 30                      |
| MINICNN_VERIFY_CACHE     | check cached weights against the hash in their file name    | on                      |
| NUMBA_NUM_THREADS        | threads of minicnn's parallel kernels (as Numba reads it)   | the usable cores        |
| TORCH_HOME               | the torch hub folder (checkpoints), as torch reads it       | $XDG_CACHE_HOME/torch   |

Booleans read ``1/true/yes/on`` and ``0/false/no/off`` (any case, spaces ignored); anything else is an error
that names the variable. Each function reads the environment when called: a change takes effect at once.
"""

from __future__ import annotations

import os

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def flag(name: str, default: bool) -> bool:
    """The boolean environment variable ``name`` (``default`` when unset or empty)."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"environment variable {name}={os.environ[name]!r}: expected one of {', '.join(_TRUE + _FALSE)}")


def number(name: str, default: float) -> float:
    """The positive number in environment variable ``name`` (``default`` when unset or empty)."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        result = float(value)
    except ValueError:
        result = -1.0
    if not result > 0:
        raise ValueError(f"environment variable {name}={os.environ[name]!r}: expected a positive number")
    return result


def _xdg_cache() -> str:
    return os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")


def cache_dir() -> str:
    """minicnn's own cache folder: $MINICNN_CACHE_DIR, else $XDG_CACHE_HOME/minicnn, else ~/.cache/minicnn."""
    return os.environ.get("MINICNN_CACHE_DIR") or os.path.join(_xdg_cache(), "minicnn")


def torch_home() -> str:
    """$TORCH_HOME, else $XDG_CACHE_HOME/torch, else ~/.cache/torch (as torch.hub decides)."""
    return os.path.expanduser(os.environ.get("TORCH_HOME") or os.path.join(_xdg_cache(), "torch"))


def autotune() -> bool:
    return flag("MINICNN_AUTOTUNE", True)


def offline() -> bool:
    return flag("MINICNN_OFFLINE", False)


def download_timeout() -> float:
    return number("MINICNN_DOWNLOAD_TIMEOUT", 30.0)


def verify_cache() -> bool:
    return flag("MINICNN_VERIFY_CACHE", True)


def num_threads() -> int:
    """Threads for minicnn's parallel kernels: NUMBA_NUM_THREADS, else the cores this process may use.

    Read as Numba reads it, without importing Numba (65 MB of memory) for kernels that are NumPy only; a value
    that is not a positive integer is ignored, as Numba ignores it (with a warning)."""
    import sys

    numba = sys.modules.get("numba")
    if numba is not None:
        return max(1, int(numba.config.NUMBA_NUM_THREADS))
    try:
        return max(1, int(os.environ.get("NUMBA_NUM_THREADS", "")))
    except ValueError:
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
