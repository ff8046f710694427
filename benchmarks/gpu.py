"""minicnn's CUDA kernels against cuDNN on a GPU: VGG16's conv layers, then three whole networks.

    python benchmarks/gpu.py [--out DIR] [--batches 1 32] [--repeats 10]     (or: bash scripts/gpu_check.sh)

Per layer (VGG16's nine distinct conv shapes at 224x224, each batch size): minicnn's three CUDA kernels
(``naive``: one thread per output; ``im2col``: the readable 16x16 shared-memory tiles; ``auto``: the
register-blocked implicit GEMM, in each of its block shapes) and torch's cuDNN with TF32 off (full float32,
the fair comparison) and on. Each is checked against torch in float64 before it is timed. Then VGG16,
ResNet50 and EfficientNet-Lite0 end to end (random weights; minicnn's default ``auto``) against torch eager,
TF32 off and on, and channels-last. Times are medians of ``--repeats`` calls after one untimed call
(compilation excluded), each call followed by a device synchronisation. GFLOP/s are against the card's
measured float32 peak (an 8192^3 torch.mm, TF32 off). Writes DIR/gpu.json and DIR/benchmarks_gpu.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: VGG16's distinct 3x3 conv layers at 224x224: (name, C_in, C_out, H = W), padding 1.
VGG16_LAYERS = [("features.0", 3, 64, 224), ("features.2", 64, 64, 224), ("features.5", 64, 128, 112),
                ("features.7", 128, 128, 112), ("features.10", 128, 256, 56), ("features.12", 256, 256, 56),
                ("features.17", 256, 512, 28), ("features.19", 512, 512, 28),
                ("features.24", 512, 512, 14)]  # fmt: skip


def timed(fn, sync, repeats):
    """Median seconds of ``repeats`` calls after one untimed call."""
    fn()
    sync()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - t0)
    return sorted(samples)[len(samples) // 2]


def layer_rows(np, torch, sync, batches, repeats, log):
    import minicnn.functional as F
    from minicnn import cuda
    from minicnn.cuda import conv_blocked, ops
    from minicnn.kernels.registry import tolerance_kind
    from minicnn.testing import assert_close

    rows = []
    for batch in batches:
        for name, c_in, c_out, size in VGG16_LAYERS:
            rng = np.random.default_rng(0)
            x = rng.standard_normal((batch, c_in, size, size)).astype(np.float32)
            w = (rng.standard_normal((c_out, c_in, 3, 3)) * 0.05).astype(np.float32)
            xd, wd = cuda.to_device(x), cuda.to_device(w)
            xt, wt = torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda()
            ref = torch.nn.functional.conv2d(xt.double(), wt.double(), padding=1).cpu().numpy()
            scale = torch.nn.functional.conv2d(xt.double().abs(), wt.double().abs(), padding=1).max().item()
            row = {"layer": name, "batch": batch, "shape": [batch, c_in, size, size], "c_out": c_out,
                   "gflop": 2 * ref.size * c_in * 9 / 1e9, "auto_config": ops._blocked_config(c_out, size * size,
                                                                                           batch)}  # fmt: skip
            contenders = {"naive": ("naive", None), "im2col": ("im2col", None)}
            contenders.update({f"auto_{c}": ("auto", c) for c in conv_blocked.CONFIGS})
            for key, (algorithm, config) in contenders.items():
                choose = ops._blocked_config if config is None else (lambda *shape, c=config: c)

                def conv(algorithm=algorithm):
                    return F.conv2d(xd, wd, padding=1, algorithm=algorithm)

                with mock.patch.object(ops, "_blocked_config", choose):
                    got, kind = np.asarray(conv()), tolerance_kind(algorithm)
                    assert_close(got, ref, kind=kind, dtype=np.float32, scale=scale, name=key)
                    row[key] = 1e3 * timed(conv, sync, repeats)
            row["auto"] = row[f"auto_{row['auto_config']}"]
            for tf32 in (False, True):
                torch.backends.cudnn.allow_tf32 = tf32
                with torch.no_grad():
                    row[f"cudnn_tf32_{'on' if tf32 else 'off'}"] = 1e3 * timed(
                        lambda: torch.nn.functional.conv2d(xt, wt, padding=1), sync, repeats
                    )
            torch.backends.cudnn.allow_tf32 = False
            rows.append(row)
            log(f"{name} batch {batch}: naive {row['naive']:.2f} ms, im2col {row['im2col']:.2f}, "
                + ", ".join(f"{k} {row[k]:.2f}" for k in row if k.startswith("auto_") and k != "auto_config")
                + f"; cuDNN {row['cudnn_tf32_off']:.2f} ms (TF32 {row['cudnn_tf32_on']:.2f})")  # fmt: skip
    return rows


def network_rows(np, torch, sync, batches, repeats, log):
    import torchvision

    from minicnn import cuda, models
    from minicnn.testing import assert_close
    from reference import efficientnet as reference

    rows = []
    for name in ("vgg16", "resnet50", "efficientnet_lite0"):
        ours = getattr(models, name)(generator=0).eval()
        state = dict(ours.state_dict())  # NumPy arrays, kept: to("cuda") gives the modules DeviceArrays instead
        ours.to("cuda")
        if name == "efficientnet_lite0":
            tv = None  # no torchvision twin: the functional reference, run on the same weights
            sd = {k: torch.from_numpy(v).cuda() for k, v in state.items() if v.dtype != np.int64}
        else:
            tv = getattr(torchvision.models, name)()
            tv.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
            tv = tv.cuda().eval()
        for batch in batches:
            x = np.random.default_rng(batch).standard_normal((batch, 3, 224, 224)).astype(np.float32)
            xd, xt = cuda.to_device(x), torch.from_numpy(x).cuda()
            got = np.asarray(ours(xd))
            if tv is None:
                ref = reference.forward(state, x, device="cuda")["logits"]
            else:
                with torch.no_grad():
                    ref = tv.double()(xt.double()).cpu().numpy()
                    tv.float()

            def run_torch(xt=xt, tv=tv):
                return reference.forward(sd, xt, torch.float32, "cuda", numpy=False) if tv is None else tv(xt)

            def run_ours(xd=xd):
                return ours(xd)

            assert_close(got, ref, kind="model", dtype=np.float32, name=f"{name} batch {batch}")
            row = {"network": name, "batch": batch, "minicnn": 1e3 * timed(run_ours, sync, repeats)}
            with torch.no_grad():
                for tf32 in (False, True):
                    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = tf32
                    row[f"torch_tf32_{'on' if tf32 else 'off'}"] = 1e3 * timed(run_torch, sync, repeats)
                torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
                if tv is not None:
                    tv_cl, xt_cl = tv.to(memory_format=torch.channels_last), xt.to(memory_format=torch.channels_last)
                    row["torch_channels_last"] = 1e3 * timed(lambda: tv_cl(xt_cl), sync, repeats)
                    tv.to(memory_format=torch.contiguous_format)
            rows.append(row)
            log(f"{name} batch {batch}: minicnn {row['minicnn']:.1f} ms, torch {row['torch_tf32_off']:.1f} ms "
                f"(TF32 {row['torch_tf32_on']:.1f})")  # fmt: skip
    return rows


def markdown(result):
    peak = result["peak_gflops"]
    lines = ["# GPU benchmarks", "", f"Written by `benchmarks/gpu.py` on {result['device']}, {result['date']} "
             f"({result['versions']}); float32 peak measured at {peak:.0f} GFLOP/s (torch.mm 8192^3, TF32 off). "
             "Medians of timed calls, ms.", "",
             "| layer | batch | input | naive | im2col | auto (block) | cuDNN (TF32 off) | cuDNN (TF32 on) "
             "| auto / cuDNN speed | auto GFLOP/s (% peak) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in result["layers"]:
        speed = r["gflop"] / r["auto"] * 1e3
        lines.append(
            f"| {r['layer']} | {r['batch']} | {r['shape'][1]}x{r['shape'][2]}x{r['shape'][3]} -> {r['c_out']} "
            f"| {r['naive']:.2f} | {r['im2col']:.2f} | {r['auto']:.2f} ({r['auto_config']}) "
            f"| {r['cudnn_tf32_off']:.2f} | {r['cudnn_tf32_on']:.2f} | {r['cudnn_tf32_off'] / r['auto']:.2f} "
            f"| {speed:.0f} ({100 * speed / peak:.0f}%) |"
        )
    lines += ["", "Every block shape of the register-blocked kernel (ms):", "",
              "| layer | batch | " + " | ".join(result["configs"]) + " |",
              "| --- | --- | " + " | ".join("---" for _ in result["configs"]) + " |"]  # fmt: skip
    for r in result["layers"]:
        times = " | ".join(f"{r['auto_' + c]:.2f}" for c in result["configs"])
        lines.append(f"| {r['layer']} | {r['batch']} | {times} |")
    lines += ["", "| network | batch | minicnn | torch (TF32 off) | torch (TF32 on) | torch channels-last "
              "| minicnn / torch |", "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for n in result["networks"]:
        cl = f"{n['torch_channels_last']:.1f}" if "torch_channels_last" in n else "-"
        lines.append(f"| {n['network']} | {n['batch']} | {n['minicnn']:.1f} | {n['torch_tf32_off']:.1f} "
                     f"| {n['torch_tf32_on']:.1f} | {cl} | {n['minicnn'] / n['torch_tf32_off']:.2f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--batches", type=int, nargs="+", default=[1, 32])
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--skip-networks", action="store_true")
    args = p.parse_args(argv)
    import numba
    import numpy as np
    import torch
    from numba import cuda as ncuda

    from minicnn.cuda import conv_blocked

    if not torch.cuda.is_available():
        sys.exit("benchmarks/gpu.py needs a CUDA GPU (torch.cuda.is_available() is False)")

    def sync():
        torch.cuda.synchronize()
        ncuda.synchronize()

    def log(line):
        print(line, flush=True)

    torch.backends.cudnn.benchmark = True  # cuDNN's fastest algorithm per shape, as a tuned torch program runs
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    a = torch.randn(8192, 8192, device="cuda")
    peak = 2 * 8192**3 / timed(lambda: torch.mm(a, a), sync, 10) / 1e9
    log(f"float32 peak (torch.mm, TF32 off): {peak:.0f} GFLOP/s")
    result = {"device": torch.cuda.get_device_name(), "peak_gflops": peak, "date": time.strftime("%Y-%m-%d %H:%M"),
              "versions": f"torch {torch.__version__}, numba {numba.__version__}",
              "configs": list(conv_blocked.CONFIGS),
              "layers": layer_rows(np, torch, sync, args.batches, args.repeats, log), "networks": []}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu.json").write_text(json.dumps(result, indent=1))  # the layers' results, should the rest fail
    (args.out / "benchmarks_gpu.md").write_text(markdown(result))
    if not args.skip_networks:
        result["networks"] = network_rows(np, torch, sync, args.batches, max(3, args.repeats // 2), log)
    (args.out / "gpu.json").write_text(json.dumps(result, indent=1))
    (args.out / "benchmarks_gpu.md").write_text(markdown(result))
    log(f"results: {args.out / 'gpu.json'}, {args.out / 'benchmarks_gpu.md'}")


if __name__ == "__main__":
    main()
