"""``algorithm="auto"``: measure the algorithms that apply to a convolution, keep the fastest.

The candidates are those of ``registry.candidates(spec)`` (compiled ones included). The first time a shape is
seen (input shape, weight shape, stride, padding, dilation, groups, dtype, memory formats), every candidate runs on
the actual input, once to warm up (Numba compiles then, and compilation is not timed) and then timed, in rounds over
the candidates (the fastest call counts): TIMED_CALLS rounds, and more, up to MAX_TIMED_CALLS, for the candidates
still within CLOSE of the leader (a close call is timed again, a clear one is not). Each timed call comes after
reading a buffer larger than the caches (at most FLUSH_MAX_BYTES): in a network, the other layers evict this one's
weights between two calls, and timed with warm caches Winograd (4x the weights) won layers it then lost inside
ResNet50. A candidate whose output differs from the default algorithm's by more than the "auto" tolerance
(``minicnn.numerics``) is never chosen.

The winner is remembered for the process and in a small JSON file in ``settings.cache_dir()``, so the next process
starts with the answer. That file is input like any other: anything but an object of names is ignored with one
warning, and a remembered name that is not a candidate for its shape is measured again. Saving merges with what the
file holds by then (another process may have tuned other shapes). MINICNN_AUTOTUNE=0 turns measuring off: the
default rule then.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import platform
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from minicnn import settings
from minicnn.functional.layout import is_channels_last
from minicnn.kernels import Epilogue
from minicnn.kernels.registry import ALGORITHMS, candidates, default_algorithm

_choices: dict[str, str] = {}
_lock = threading.Lock()
#: What ``reporting`` asked to be called before a measurement (in this thread or context); None: nothing.
_reporter: contextvars.ContextVar = contextvars.ContextVar("minicnn_autotune_reporter", default=None)
_loaded = False
#: Timed calls per candidate, at least; the fastest counts (the least disturbed by other processes).
TIMED_CALLS = 3
#: At most this many, for candidates whose fastest call stays within CLOSE times the leader's. On a 2-core AMD EPYC
#: (Zen 5) the same call took 4 to 10 ms from one call to the next; with three rounds, fresh processes chose
#: im2col over Winograd for one VGG16 layer in 1 of 4 runs, and Winograd ran there in 6 ms against im2col's 11.5
#: inside the network. A candidate measured more than CLOSE times slower than the leader is not timed again.
MAX_TIMED_CALLS = 9
CLOSE = 1.2
#: Largest cache file read back (a real one holds a few hundred short lines).
MAX_CACHE_BYTES = 1 << 20


def cache_file() -> Path:
    machine = f"{platform.machine()}-{os.cpu_count()}cpu-{settings.num_threads()}threads"
    return Path(settings.cache_dir()) / f"auto-{machine}.json"


def _read(path: Path) -> dict[str, str]:
    """The choices in ``path``: a JSON object of algorithm names. Anything else is ignored, with one warning."""
    try:
        if path.stat().st_size > MAX_CACHE_BYTES:
            raise ValueError(f"larger than {MAX_CACHE_BYTES} bytes")
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict):
            raise ValueError(f"a JSON {type(data).__name__}, not an object")
        bad = [k for k, v in data.items() if not isinstance(v, str) or v not in ALGORITHMS]
        if bad:
            raise ValueError(f"unknown algorithm for {bad[0]!r}: {data[bad[0]]!r}")
        return data
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, UnicodeDecodeError) as error:
        warnings.warn(f"minicnn: ignoring the autotune cache {path} ({error}); it will be rewritten", stacklevel=4)
        return {}


def _load():
    global _loaded
    if not _loaded:
        _loaded = True
        _choices.update(_read(cache_file()))


def _save():
    path = cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        merged = {**_read(path), **_choices}  # another process may have tuned other shapes meanwhile
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
            json.dump(merged, f, indent=0, sort_keys=True)
        os.replace(f.name, path)  # atomic: never a half-written cache
    except OSError:
        pass  # a read-only home: remember for this process only


def choose(x, weight, bias, spec, prepacked=False) -> str:
    """The algorithm "auto" runs for this convolution (measuring it the first time). ``prepacked``: for a layer
    whose weights are packed once (``minicnn.optimize``), not at every call: packing is then not timed."""
    cl = is_channels_last(x)
    names = candidates(spec, cl)
    if not names or not settings.autotune() or x.size == 0:
        return default_algorithm(spec, cl)
    if len(names) == 1:
        return names[0]
    layout = "".join("cl" if is_channels_last(a) else "c" for a in (x, weight))  # memory formats
    key = f"{x.shape}|{weight.shape}|{spec.stride}|{spec.pads}|{spec.dilation}|{spec.groups}|{x.dtype}|{layout}"
    key += ("|prepacked" if prepacked else "") + "|" + ",".join(names)  # a new candidate: measured again
    with _lock:
        _load()
        known = _choices.get(key)
    if known in names:  # never a remembered name that is no candidate for this shape (a hand-edited file)
        return known
    report = _reporter.get()
    if report is not None:
        report(f"input {tuple(x.shape)}, weight {tuple(weight.shape)}")
    best = _measure(names, x, weight, bias, spec, default_algorithm(spec, cl), prepacked)
    with _lock:
        _choices[key] = best
        _save()
    return best


@contextlib.contextmanager
def reporting(callback):
    """Within the block (in this thread), ``callback(description)`` is called each time ``auto`` is about to measure
    a convolution shape it has no remembered choice for: the first run of a network compiles kernels and times
    every layer's candidates, seconds in all. The CLI shows it as progress; the library itself prints nothing."""
    token = _reporter.set(callback)
    try:
        yield
    finally:
        _reporter.reset(token)


def _measure(names, x, weight, bias, spec, reference_name, prepacked=False) -> str:
    from minicnn.numerics import normalized_max_error, tolerance

    packed = {}

    def call(name):
        algorithm = ALGORITHMS[name]
        if not prepacked:
            return algorithm.run(x, weight, spec, Epilogue(bias))
        if name not in packed:
            packed[name] = algorithm.prepack(weight)
        return algorithm.run_packed(x, packed[name], spec, Epilogue(bias))

    reference = call(reference_name)
    scale = float(np.max(np.abs(reference), initial=0.0)) or 1.0
    fastest = {}  # name -> its fastest timed call
    for name in names:
        out = call(name)  # warm-up: compiles Numba code
        if normalized_max_error(out, reference, scale) <= tolerance(x.dtype, "auto"):
            fastest[name] = float("inf")
    if not fastest:  # no candidate computed the right numbers
        return reference_name
    flush = np.ones(_flush_bytes() // 4, np.float32)  # written once, now: then only read
    timed = list(fastest)
    for rounds in range(1, MAX_TIMED_CALLS + 1):  # in rounds, A B C, A B C, ...: a slow moment of the machine falls
        for name in timed:  # on one call of each candidate, not on all of one candidate's (a network 25% slower, once)
            flush.max()  # read through every cache level: this layer's data is evicted (clean: no write-backs)
            t0 = time.perf_counter()
            call(name)
            fastest[name] = min(fastest[name], time.perf_counter() - t0)
        if rounds >= TIMED_CALLS:  # from then on, only the candidates still close to the leader
            lead = min(fastest.values())
            timed = [name for name in timed if fastest[name] <= CLOSE * lead]
            if len(timed) <= 1:
                break
    return min(fastest, key=fastest.get)


#: The most ``auto`` reads between two timed calls to evict the layer's data (1.5x the last-level cache, capped).
#: A layer's own data is at most a few tens of MB (VGG16's largest activation 12.8 MB, weights 9.4 MB); a machine
#: with a huge shared cache (an Intel Xeon reporting 260 MB of L3) made every measured layer allocate and read
#: 390 MB: 1.4 s to allocate it once, 12 of the 16 s of a cold ``minicnn classify --algorithm auto`` there.
FLUSH_MAX_BYTES = 64 << 20


def _flush_bytes() -> int:
    return min(_last_level_cache_bytes() * 3 // 2, FLUSH_MAX_BYTES)


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
