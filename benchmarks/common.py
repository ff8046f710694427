"""What every benchmark shares: the same threads for everyone, fair timing in blocks, the machine's peaks.

Fairness rules (each one measured to matter on the 2-core development machines):
- torch, OpenBLAS (NumPy's GEMM) and Numba all get ``--threads`` threads.
- OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are removed for the benchmark's own process: this workplace sets
  them for old OpenBLAS builds, and they pin NumPy's GEMM to AVX2 kernels (234 GFLOP/s instead of 444 on
  an AVX-512 machine), which would handicap minicnn against torch's oneDNN.
- OPENBLAS_THREAD_TIMEOUT=4 makes OpenBLAS's idle threads sleep almost at once; without it they spin
  for ~0.1 s after each GEMM and slow down whatever runs next (torch measured 2x slower right after).
- glibc's allocator keeps large freed blocks for reuse (MALLOC_MMAP_THRESHOLD_ and friends): otherwise every
  forward pass page-faults its per-layer arrays afresh, about 10 ms of VGG16's time, for either library.
- Contenders run in blocks of consecutive calls (A A A A, B B B B, torch torch torch torch; three rounds), the
  first call of each block untimed (it also compiles Numba code) and preceded by a short pause so that no
  library's spinning threads steal time from the next; the timed calls follow each other at once, as a
  network's layers do. The report gives medians and ratios to torch from the same run.
- ``--isa avx2`` (on an AVX-512 machine) caps every library at AVX2 for the benchmark's own process, so that a speed
  claim can be checked for the other kind of machine this project runs on: OpenBLAS's Haswell kernels
  (OPENBLAS_CORETYPE), Numba compiling for Haswell and its features only (NUMBA_CPU_NAME, and NUMBA_CPU_FEATURES
  empty: otherwise Numba adds the host's features, AVX-512 included), ATen's AVX2 kernels (ATEN_CPU_CAPABILITY),
  oneDNN's (ONEDNN_MAX_CPU_ISA; its verbose log then shows ``brg_conv_fwd:avx2``) and MKL's (MKL_ENABLE_INSTRUCTIONS,
  torch's GEMMs). The cores, caches and clock stay
  those of the AVX-512 machine: an emulation of the instruction set, not of a different processor.
- The pause is a busy wait, not a sleep: when the whole virtual machine sleeps for a few milliseconds, waking
  the second core again took 10-20 ms here (a 0.3 ms GEMM called after ``time.sleep(0.005)`` took 15 ms at the
  90th percentile; after a 20 ms busy wait 0.66 ms), which made single calls of either library randomly slow.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import time

# glibc: keep large freed blocks in the heap for reuse instead of returning them to the kernel, so that a
# network's per-layer arrays do not page-fault afresh at every forward pass (both libraries benefit).
BENCH_ENV = {"OPENBLAS_THREAD_TIMEOUT": "4", "MALLOC_MMAP_THRESHOLD_": str(1 << 32),
             "MALLOC_TRIM_THRESHOLD_": str(1 << 32), "MALLOC_TOP_PAD_": str(1 << 29)}  # fmt: skip
REMOVED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: ``--isa avx2``: every library's AVX2 code paths on a machine that has AVX-512 (see the module's notes).
AVX2_ENV = {"OPENBLAS_CORETYPE": "Haswell", "NUMBA_CPU_NAME": "haswell", "NUMBA_CPU_FEATURES": "",
            "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}  # fmt: skip
ISA_CHOICES = ("native", "avx2")


def prepare_process(threads: int, isa: str = "native") -> None:
    """Re-execute this script with the benchmark environment if it is not set yet (before NumPy loads); with
    ``isa="avx2"``, every library capped at AVX2."""
    wanted = {**BENCH_ENV, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
              "MKL_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}  # fmt: skip
    removed = [k for k in (*REMOVED_ENV, *AVX2_ENV) if not (isa == "avx2" and k in AVX2_ENV)]
    if isa == "avx2":
        wanted |= AVX2_ENV
    if any(os.environ.get(k) != v for k, v in wanted.items()) or any(k in os.environ for k in removed):
        env = {k: v for k, v in os.environ.items() if k not in removed} | wanted
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    # "auto" measures afresh: choices cached by an earlier version of the code would be timed from old kernels
    os.environ["MINICNN_CACHE_DIR"] = tempfile.mkdtemp(prefix="minicnn-bench-autotune-")
    atexit.register(shutil.rmtree, os.environ["MINICNN_CACHE_DIR"], ignore_errors=True)


def progress(message: str) -> None:
    print(message, flush=True)


def median(values):
    s = sorted(values)
    return s[len(s) // 2]


def time_interleaved(runs: dict, repeats: int, pause: float = 0.02) -> dict:
    """Median seconds per call of each function, called in turn after one warm-up call each."""
    for fn in runs.values():
        fn()
    samples = {name: [] for name in runs}
    _sample(runs, repeats, pause, samples)
    return {name: median(s) for name, s in samples.items()}


def _busy_wait(seconds: float) -> None:
    """Wait without sleeping (a sleeping virtual machine is slow to wake its cores: see the module's notes)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _sample(runs: dict, repeats: int, pause: float, samples: dict) -> None:
    """Call the functions in turn ``repeats`` times, appending each call's seconds to ``samples[name]``."""
    for _ in range(repeats):
        for name, fn in runs.items():
            _busy_wait(pause)
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)


def gemm_product(np, n=2048):
    """A float32 n x n x n product through NumPy's BLAS, and its FLOPs: what the GEMM peak is measured with."""
    a = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    return (lambda: a @ a), 2 * n**3


def gemm_peak(np, n=2048, repeats=15) -> float:
    """GFLOP/s of the fastest of ``repeats`` products (``gemm_product``), back to back: the machine's practical
    peak. The fastest, not the median: a peak measured while the machine was slowed down (once 389 GFLOP/s
    instead of 440-465) would make every layer look closer to it than it is."""
    product, flops = gemm_product(np, n)
    return flops / _fastest(product, repeats) / 1e9


def memory_bandwidth(np, mb=256, repeats=9) -> float:
    """GB/s of the fastest of ``repeats`` copies of ``mb`` MB (read + write counted): the roofline's slanted line."""
    a = np.ones(mb * 2**18, np.float32)
    b = np.empty_like(a)
    return 2 * a.nbytes / _fastest(lambda: np.copyto(b, a), repeats) / 1e9


def _fastest(fn, repeats: int) -> float:
    fn()
    samples = {"fn": []}
    _sample({"fn": fn}, repeats, 0.0, samples)
    return min(samples["fn"])


def time_in_blocks(runs: dict, repeats: int, blocks: int = 3, pause: float = 0.02, fastest=()) -> dict:
    """Median seconds per call of each function, timed in blocks of consecutive calls: A A A A, B B B B, ...,
    the round repeated ``blocks`` times; the first call of each block is not timed, and only it waits ``pause``.
    For the names in ``fastest``, the fastest call instead of the median (a peak, such as the GEMM's).

    Why blocks, not A, B, A, B: a contender's caches then hold its own data, as they do for a network's layers
    called again and again, and not the previous contender's (alternating minicnn's algorithms made the same
    channels-last im2col take 16-19 ms instead of 13); the two libraries' thread pools do not disturb each other
    (a torch conv of 4.4 ms took up to 18 ms right after a NumPy GEMM). Why rounds: the machine drifts (the same
    forward pass took 40 ms, then 49 ms minutes later), and rounds spread the drift over every contender.
    """
    samples = {name: [] for name in runs}
    per_block = -(-repeats // blocks)  # ceil
    for _ in range(blocks):
        for name, fn in runs.items():
            _busy_wait(pause)  # the previous contender's spinning threads stop
            fn()  # untimed: after the previous contender (and, the first time, Numba compiles and auto measures)
            _sample({name: fn}, per_block, 0.0, samples)  # back to back, as a network's layers follow each other
    return {name: min(s) if name in fastest else median(s) for name, s in samples.items()}


def cpu_name() -> str:
    """The processor's model name, family and model (/proc/cpuinfo): virtual machines often report a bare "AMD EPYC",
    and the family tells the kinds apart (25: Zen 3 or 4, 26: Zen 5)."""
    import platform

    fields = {}
    try:
        for line in open("/proc/cpuinfo"):
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
            if not line.strip():
                break  # the first processor's fields are enough
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or "unknown"
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']} model {fields['model']})"
    return name


def instruction_set() -> str:
    """The widest vector instructions the CPU has ("AVX-512", "AVX2" or "no AVX2"), or "AVX2 (capped; the CPU has
    AVX-512)" under ``--isa avx2``: timings differ between the two kinds of machine this project runs on, so every
    benchmark reports it."""
    if os.environ.get("ONEDNN_MAX_CPU_ISA") == AVX2_ENV["ONEDNN_MAX_CPU_ISA"] and _cpu_flag("avx512f"):
        return "AVX2 (capped; the CPU has AVX-512)"
    return "AVX-512" if _cpu_flag("avx512f") else "AVX2" if _cpu_flag("avx2") else "no AVX2"


def _cpu_flag(name: str) -> bool:
    try:
        flags = next((line for line in open("/proc/cpuinfo") if line.startswith("flags")), "").split()
    except OSError:
        flags = []
    return name in flags
