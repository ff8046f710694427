"""VGG16's 13 conv layers: every minicnn conv2d algorithm against torch, verified first, then timed.

    python benchmarks/conv_layers.py [--size 224] [--batch 1] [--repeats 5] [--threads N]

For each layer: check each algorithm's output against torch (float64 reference, the tolerance of
minicnn.testing), then time all of them interleaved (algorithm A, B, torch, A, B, torch, ...), with the
same thread count for torch, OpenBLAS and Numba and JIT compilation excluded (one warm-up call each).
Reports median milliseconds, GFLOP/s, the fraction of this machine's measured float32 GEMM peak, the ratio
to torch and each algorithm's extra memory. Writes benchmarks/results/conv_layers.json and the table in
docs/benchmarks.md. The naive loops are timed on a 1/8 x 1/8 crop of the input (they are the readable
reference, not a contender) and their time scaled up by 64.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (C_in, C_out, spatial divisor) of VGG16's conv layers: 3x3, padding 1, stride 1.
VGG16_CONVS = [(3, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 2), (128, 256, 4), (256, 256, 4), (256, 256, 4),
               (256, 512, 8), (512, 512, 8), (512, 512, 8), (512, 512, 16), (512, 512, 16), (512, 512, 16)]  # fmt: skip


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=224, help="input height and width (default 224)")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5, help="timed calls per algorithm per layer (median)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for torch, OpenBLAS and Numba")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="folder for the JSON")
    p.add_argument("--markdown", type=Path, default=ROOT / "docs" / "benchmarks.md", help="Markdown table to write")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # before NumPy, torch and Numba start their thread pools
    sys.path.insert(0, str(ROOT))
    import numpy as np
    import torch

    import minicnn.functional as F
    from minicnn.testing import assert_close

    torch.set_num_threads(args.threads)
    peak = measure_gemm_peak(np)
    print(f"threads {args.threads}; float32 GEMM peak (NumPy 2048^3 matmul): {peak:.1f} GFLOP/s", flush=True)
    rng = np.random.default_rng(0)
    rows = []
    for i, (c_in, c_out, div) in enumerate(VGG16_CONVS):
        hw = max(args.size // div, 1)
        x = rng.standard_normal((args.batch, c_in, hw, hw), dtype=np.float32)
        w = (rng.standard_normal((c_out, c_in, 3, 3), dtype=np.float32) * np.sqrt(2 / (9 * c_in))).astype(np.float32)
        b = rng.standard_normal(c_out, dtype=np.float32)
        xt, wt, bt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
        ref = torch.nn.functional.conv2d(xt.double(), wt.double(), bt.double(), padding=1).numpy()
        terms = torch.nn.functional.conv2d(xt.abs().double(), wt.abs().double(), bt.abs().double(), padding=1)
        crop = x[:, :, : max(hw // 8, 1), : max(hw // 8, 1)]
        runs = {
            "im2col": lambda x=x, w=w, b=b: F.conv2d(x, w, b, padding=1, algorithm="im2col"),
            "numba": lambda x=x, w=w, b=b: F.conv2d(x, w, b, padding=1, algorithm="numba"),
            "torch": lambda xt=xt, wt=wt, bt=bt: torch.nn.functional.conv2d(xt, wt, bt, padding=1),
        }
        for name in ("im2col", "numba"):  # verify before timing (this also compiles the Numba kernel)
            assert_close(runs[name](), ref, kind=name, dtype=np.float32, scale=float(terms.max()), name=name)
        times = time_interleaved(runs, args.repeats)
        naive_scale = (hw * hw) / (crop.shape[2] * crop.shape[3])
        times["naive"] = (
            naive_scale
            * time_interleaved({"naive": lambda c=crop, w=w, b=b: F.conv2d(c, w, b, padding=1, algorithm="naive")}, 1)[
                "naive"
            ]
        )
        flops = 2 * args.batch * c_out * hw * hw * c_in * 9
        row = {"layer": i, "c_in": c_in, "c_out": c_out, "hw": hw, "gflop": flops / 1e9}
        for name, t in times.items():
            row[name] = {"ms": 1e3 * t, "gflops": flops / t / 1e9, "of_peak": flops / t / 1e9 / peak}
        row["extra_mb"] = {
            "naive": 0.0,
            "im2col": args.batch * c_in * 9 * hw * hw * 4 / 2**20,  # the column matrix
            "numba": 0.0,
            "padded_input": args.batch * c_in * (hw + 2) ** 2 * 4 / 2**20,  # every algorithm pads first
        }
        rows.append(row)
        print(
            f"conv {i:2d} {c_in:3d}->{c_out:3d} @ {hw:3d}x{hw:<3d} "
            + "  ".join(f"{n} {row[n]['ms']:8.1f} ms ({row[n]['ms'] / row['torch']['ms']:5.2f}x)" for n in times),
            flush=True,
        )
    total = {n: sum(r[n]["ms"] for r in rows) for n in ("naive", "im2col", "numba", "torch")}
    print("total  " + "  ".join(f"{n} {t:.0f} ms ({t / total['torch']:.2f}x torch)" for n, t in total.items()))
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or platform.system()}",
        "threads": args.threads,
        "batch": args.batch,
        "size": args.size,
        "repeats": args.repeats,
        "gemm_peak_gflops": peak,
        "numpy": np.__version__,
        "torch": torch.__version__,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "conv_layers.json").write_text(json.dumps({"meta": meta, "layers": rows, "total_ms": total}, indent=1))
    if args.markdown:
        args.markdown.write_text(markdown_table(meta, rows, total))
    print(f"results: {args.out / 'conv_layers.json'}" + (f", table: {args.markdown}" if args.markdown else ""))


def measure_gemm_peak(np, n=2048, repeats=5):
    """Median GFLOP/s of a float32 n x n x n matrix product through NumPy's BLAS: the 'peak' reference."""
    a = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    a @ a
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ a
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / sorted(times)[len(times) // 2] / 1e9


def time_interleaved(runs, repeats):
    """Median seconds per call of each function, called in turn (A, B, C, A, B, C, ...) after a warm-up."""
    for fn in runs.values():
        fn()
    samples = {name: [] for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {name: sorted(s)[len(s) // 2] for name, s in samples.items()}


def markdown_table(meta, rows, total):
    lines = [
        "# Benchmarks",
        "",
        "Written by `python benchmarks/conv_layers.py` (see `benchmarks/README.md`). Medians of interleaved runs;",
        "ratios are against torch in the same run. Naive is timed on a 1/8 x 1/8 crop and scaled up.",
        "",
        f"Machine: {meta['machine']}; {meta['threads']} threads for every library; batch {meta['batch']}, "
        f"{meta['size']}x{meta['size']} input; float32 GEMM peak measured at {meta['gemm_peak_gflops']:.1f} GFLOP/s; "
        f"NumPy {meta['numpy']}, torch {meta['torch']}; {meta['date']}.",
        "",
        "## VGG16's conv layers (3x3, padding 1), float32",
        "",
        "| layer | C_in -> C_out | H x W | GFLOP | torch ms | im2col ms (x torch, % peak) | numba ms (x torch, % peak) "
        "| naive ms (x torch) | im2col extra MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        t = r["torch"]["ms"]
        cell = lambda n, r=r, t=t: f"{r[n]['ms']:.1f} ({r[n]['ms'] / t:.2f}x, {100 * r[n]['of_peak']:.0f}%)"  # noqa: E731
        lines.append(
            f"| {r['layer']} | {r['c_in']} -> {r['c_out']} | {r['hw']} x {r['hw']} | {r['gflop']:.2f} | {t:.1f} "
            f"| {cell('im2col')} | {cell('numba')} | {r['naive']['ms']:.0f} ({r['naive']['ms'] / t:.0f}x) "
            f"| {r['extra_mb']['im2col']:.1f} |"
        )
    tt = total["torch"]
    lines.append(
        f"| all | | | {sum(r['gflop'] for r in rows):.1f} | {tt:.0f} "
        f"| {total['im2col']:.0f} ({total['im2col'] / tt:.2f}x) "
        f"| {total['numba']:.0f} ({total['numba'] / tt:.2f}x) | {total['naive']:.0f} ({total['naive'] / tt:.0f}x) | |"
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
