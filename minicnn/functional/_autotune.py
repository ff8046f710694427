"""``algorithm="auto"``: measure the kernels that apply to a convolution's shape, keep the fastest.

Candidates: im2col and the blocked compiled loops for every general shape, and both Winograd variants
for 3x3 stride-1 ones. The first time a shape is seen (input shape, weight shape, stride, padding,
dilation, groups, dtype, memory formats), every candidate runs on the actual input, once to warm up (Numba
compiles then, and compilation is not timed) and TIMED_CALLS times timed (the fastest counts), each timed call
after reading a buffer larger than the caches: in a network, the other layers evict this one's weights between
two calls, and timed with warm caches Winograd (4x the weights) won layers it then lost inside ResNet50. A candidate
whose output differs from im2col's by more than the "auto" tolerance (minicnn/testing.py) is never chosen.
The winner is remembered for the process and in a small JSON file (``$MINICNN_CACHE_DIR``, else
``$XDG_CACHE_HOME/minicnn``, else ``~/.cache/minicnn``), so the next process starts with the answer.
MINICNN_AUTOTUNE=0 turns measuring off: im2col then, except the compiled kernel for depthwise convolutions.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from minicnn._config import cache_dir
from minicnn.functional import _dispatch

_choices: dict[str, str] = {}
#: Timed calls per candidate; the fastest counts (the least disturbed by other processes).
TIMED_CALLS = 3
_loaded = False


def cache_file() -> Path:
    machine = f"{platform.machine()}-{os.cpu_count()}cpu-{os.getenv('NUMBA_NUM_THREADS', 'all')}threads"
    return Path(cache_dir()) / f"auto-{machine}.json"


def _load():
    global _loaded
    if not _loaded:
        _loaded = True
        try:
            _choices.update(json.loads(cache_file().read_text()))
        except (OSError, ValueError):
            pass


def _save():
    path = cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
            json.dump(_choices, f, indent=0, sort_keys=True)
        os.replace(f.name, path)  # atomic: never a half-written cache
    except OSError:
        pass  # a read-only home: remember for this process only


def candidates(w_shape, stride, dilation, groups) -> list[str]:
    kind = _dispatch.shape_kind(w_shape, groups)
    if kind == "depthwise":
        return ["numba"]  # the dedicated kernel; im2col's shift-and-add is its readable twin
    if kind == "pointwise":
        return ["im2col"]  # a plain GEMM either way
    if _dispatch.winograd_applies(w_shape, stride, dilation, groups):
        return ["im2col", "winograd", "winograd2", "numba"]
    return ["im2col", "numba"]


def choose(x, weight, bias, stride, pads, dilation, groups) -> str:
    """The algorithm "auto" runs for this convolution (measuring it the first time)."""
    names = candidates(weight.shape, stride, dilation, groups)
    if len(names) == 1 or os.getenv("MINICNN_AUTOTUNE", "1") == "0" or x.size == 0:
        return names[0]
    layout = "".join("cl" if _dispatch.is_channels_last(a) else "c" for a in (x, weight))  # memory formats
    key = f"{x.shape}|{weight.shape}|{tuple(stride)}|{tuple(pads)}|{tuple(dilation)}|{groups}|{x.dtype}|{layout}"
    _load()
    if key not in _choices:
        _choices[key] = _measure(names, x, weight, bias, stride, pads, dilation, groups)
        _save()
    return _choices[key]


def _measure(names, x, weight, bias, stride, pads, dilation, groups) -> str:
    from minicnn.testing import normalized_max_error, tolerance

    def call(name):
        return _dispatch.run(name, x, weight, bias, stride, pads, dilation, groups)

    reference = call("im2col")
    scale = float(np.max(np.abs(reference), initial=0.0)) or 1.0
    best, best_time = "im2col", float("inf")
    flush = np.ones(_last_level_cache_bytes() * 3 // 2 // 4, np.float32)  # written once, now: then only read
    for name in names:
        out = call(name)  # warm-up: compiles Numba code
        if normalized_max_error(out, reference, scale) > tolerance(x.dtype, "auto"):
            continue
        elapsed = []
        for _ in range(TIMED_CALLS):
            flush.max()  # read through every cache level: this layer's data is evicted (clean: no write-backs)
            t0 = time.perf_counter()
            call(name)
            elapsed.append(time.perf_counter() - t0)
        if min(elapsed) < best_time:
            best, best_time = name, min(elapsed)
    return best


@functools.cache
def _last_level_cache_bytes() -> int:
    """The largest CPU cache's size (Linux's sysfs), else 32 MB."""
    sizes = []
    for path in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*/size"):
        try:
            text = path.read_text().strip().upper()
            sizes.append(int(text.rstrip("KMG")) * {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1))
        except (OSError, ValueError):
            pass
    return max(sizes, default=32 * 2**20)
