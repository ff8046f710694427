"""minicnn against PyTorch on this machine: every conv layer, whole networks, memory, loading, start-up.

    .venv/bin/python benchmarks/run.py [--threads N] [--repeats 5] [--quick]

Writes benchmarks/results/benchmarks.json, the tables in docs/benchmarks.md and the plots in
docs/figures/bench_*.png. Needs torch (``bash scripts/test.sh`` installs it into .venv). The fairness rules
(same threads, no spinning threads between contenders, results verified before timing) are in
benchmarks/common.py; the speed goals in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import common, end_to_end, layers, report  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for torch, OpenBLAS and Numba")
    p.add_argument("--repeats", type=int, default=11, help="timed calls per contender (median)")
    p.add_argument("--size", type=int, default=224, help="image height and width (default 224)")
    p.add_argument("--batches", type=int, nargs="+", default=[1, 8], help="batch sizes for whole networks")
    p.add_argument("--batch", type=int, default=1, help="batch size for the per-layer table")
    p.add_argument("--vgg-only", action="store_true", help="per-layer table for VGG16 only")
    p.add_argument(
        "--isa",
        choices=common.ISA_CHOICES,
        default="native",
        help="avx2: cap every library at AVX2 on an AVX-512 machine (files get the suffix _avx2)",
    )
    p.add_argument("--quick", action="store_true", help="a tiny smoke run (for tests): small images, one repeat")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--docs", type=Path, default=ROOT / "docs", help="where benchmarks.md and figures/ go")
    args = p.parse_args(argv)
    if args.quick:
        args.size, args.repeats, args.batches, args.vgg_only = 32, 1, [1], True
    return args


def main(argv=None):
    args = parse_args(argv)
    common.prepare_process(args.threads, args.isa)
    import numpy as np
    import torch
    import torchvision

    torch.set_num_threads(args.threads)
    started = time.time()
    peak, bandwidth = common.gemm_peak(np), common.memory_bandwidth(np)
    common.progress(
        f"{args.threads} threads; float32 GEMM peak {peak:.0f} GFLOP/s; memory bandwidth {bandwidth:.1f} GB/s"
    )
    results = {"meta": {
        "date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "cpu": common.cpu_name(), "isa": common.instruction_set(), "threads": args.threads, "size": args.size,
        "repeats": args.repeats,
        "gemm_peak_gflops": peak, "bandwidth_gbs": bandwidth, "numpy": np.__version__, "torch": torch.__version__,
        "quick": args.quick,
    }}  # fmt: skip
    common.progress("== per-layer")
    results["layers"] = layers.run(np, torch, args)
    with tempfile.TemporaryDirectory() as tmp:
        common.progress("== writing torchvision checkpoints (random weights) for the whole-network runs")
        checkpoints = {}
        for name in ("vgg16", "resnet50"):
            torch.manual_seed(0)
            checkpoints[name] = Path(tmp) / f"{name}.pth"
            torch.save(getattr(torchvision.models, name)().state_dict(), checkpoints[name])
        common.progress("== whole networks")
        results["networks"] = end_to_end.networks(np, torch, args, checkpoints)
        common.progress("== loading, memory, start-up")
        results["load_ms"] = end_to_end.checkpoint_load(np, torch, args, checkpoints)
        results["memory"] = end_to_end.peak_memory(args, checkpoints)
    if not args.quick:
        results["startup_s"] = end_to_end.cli_startup(args)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.isa == "native" else f"_{args.isa}"
    (args.out / f"benchmarks{suffix}.json").write_text(json.dumps(results, indent=1))
    report.write(results, args.docs, suffix)
    common.progress(
        f"done in {time.time() - started:.0f} s: {args.out}/benchmarks{suffix}.json, {args.docs}/benchmarks{suffix}.md"
    )


if __name__ == "__main__":
    main()
