"""minicnn's CUDA kernels against cuDNN on a GPU: VGG16's conv layers and the whole network.

    .venv/bin/python benchmarks/gpu.py [--repeats 20]      (or: bash scripts/gpu_check.sh)

For each of VGG16's 13 conv layers (batch 1, 224x224): minicnn's direct kernel and tiled implicit-GEMM kernel,
verified against torch first, then timed against torch's cuDNN with TF32 off (full float32, the fair
comparison) and on (reported separately). Then VGG16 end to end at batch 1 and 8. GFLOP/s and the fraction of
the card's measured float32 GEMM peak (torch.mm, TF32 off). Writes benchmarks/results/gpu.json and
docs/benchmarks_gpu.md. The goal (issue 9): the tiled kernel at least a quarter of cuDNN's float32 speed on
VGG16's 3x3 layers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(fn, sync, repeats):
    fn()
    sync()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - t0)
    return sorted(samples)[len(samples) // 2]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = p.parse_args(argv)
    import numpy as np
    import torch
    from numba import cuda as ncuda

    import minicnn
    import minicnn.functional as F
    from benchmarks.layers import conv_shapes
    from minicnn import cuda, models
    from minicnn.testing import assert_close

    if not torch.cuda.is_available():
        sys.exit("benchmarks/gpu.py needs a CUDA GPU (torch.cuda.is_available() is False)")

    def sync():
        torch.cuda.synchronize()
        ncuda.synchronize()

    a = torch.randn(8192, 8192, device="cuda")
    torch.backends.cuda.matmul.allow_tf32 = False
    peak = 2 * 8192**3 / timed(lambda: a @ a, sync, 10) / 1e9
    rows = []
    for name, shape, mod in conv_shapes("vgg16", 224):
        x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        w = (np.random.default_rng(1).standard_normal(mod.weight.shape) * 0.05).astype(np.float32)
        xd, wd = cuda.to_device(x), cuda.to_device(w)
        xt, wt = torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda()
        ref = torch.nn.functional.conv2d(xt.double(), wt.double(), padding=1).cpu().numpy()
        row = {"layer": name, "shape": list(shape), "gflop": 2 * ref.size * w[0].size / 1e9}
        for algorithm in ("naive", "im2col"):
            assert_close(np.asarray(F.conv2d(xd, wd, padding=1, algorithm=algorithm)), ref, kind="im2col",
                         dtype=np.float32, scale=np.abs(ref).max() * 10)  # fmt: skip
            row[algorithm] = 1e3 * timed(
                lambda a=algorithm: F.conv2d(xd, wd, padding=1, algorithm=a), sync, args.repeats
            )
        for tf32 in (False, True):
            torch.backends.cudnn.allow_tf32 = tf32
            with torch.no_grad():
                row[f"cudnn_tf32_{'on' if tf32 else 'off'}"] = 1e3 * timed(
                    lambda: torch.nn.functional.conv2d(xt, wt, padding=1), sync, args.repeats)  # fmt: skip
        rows.append(row)
        print(f"{name}: direct {row['naive']:.2f} ms, tiled {row['im2col']:.2f} ms, "
              f"cuDNN {row['cudnn_tf32_off']:.2f} ms (TF32 {row['cudnn_tf32_on']:.2f} ms)", flush=True)  # fmt: skip
    networks = []
    import torchvision

    model = models.vgg16(generator=0).eval().to("cuda")
    tv = torchvision.models.vgg16().cuda().eval()
    for batch in (1, 8):
        x = np.random.default_rng(batch).standard_normal((batch, 3, 224, 224)).astype(np.float32)
        xd, xt = cuda.to_device(x), torch.from_numpy(x).cuda()
        with minicnn.conv_algorithm("im2col"), torch.no_grad():
            res = {"batch": batch, "minicnn": 1e3 * timed(lambda: model(xd), sync, max(3, args.repeats // 4))}
            for tf32 in (False, True):
                torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = tf32
                res[f"torch_tf32_{'on' if tf32 else 'off'}"] = 1e3 * timed(
                    lambda: tv(xt), sync, max(3, args.repeats // 4)
                )
        networks.append(res)
        print(f"VGG16 batch {batch}: minicnn {res['minicnn']:.1f} ms, torch {res['torch_tf32_off']:.1f} ms", flush=True)
    result = {"device": torch.cuda.get_device_name(), "peak_gflops": peak, "layers": rows, "networks": networks,
              "date": time.strftime("%Y-%m-%d %H:%M")}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu.json").write_text(json.dumps(result, indent=1))
    lines = ["# GPU benchmarks", "", f"Written by `benchmarks/gpu.py` on {result['device']}, {result['date']}; "
             f"float32 GEMM peak measured at {peak:.0f} GFLOP/s (torch.mm, TF32 off).", "",
             "| layer | input | direct ms | tiled ms | cuDNN ms (TF32 off) | cuDNN ms (TF32 on) | tiled / cuDNN speed "
             "| tiled GFLOP/s (% peak) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in rows:
        speed = r["gflop"] / r["im2col"] * 1e3
        lines.append(
            f"| {r['layer']} | {'x'.join(map(str, r['shape'][1:]))} | {r['naive']:.2f} | {r['im2col']:.2f} "
            f"| {r['cudnn_tf32_off']:.2f} | {r['cudnn_tf32_on']:.2f} | {r['cudnn_tf32_off'] / r['im2col']:.2f} "
            f"| {speed:.0f} ({100 * speed / peak:.0f}%) |"
        )
    lines += ["", "| VGG16 | minicnn ms | torch ms (TF32 off) | torch ms (TF32 on) |", "| --- | --- | --- | --- |"]
    for n in networks:
        lines.append(
            f"| batch {n['batch']} | {n['minicnn']:.1f} | {n['torch_tf32_off']:.1f} | {n['torch_tf32_on']:.1f} |"
        )
    (args.docs / "benchmarks_gpu.md").write_text("\n".join(lines) + "\n")
    print(f"results: {args.out / 'gpu.json'}, {args.docs / 'benchmarks_gpu.md'}")


if __name__ == "__main__":
    main()
