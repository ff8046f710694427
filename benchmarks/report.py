"""Turn the benchmark results into docs/benchmarks.md and two plots."""

from __future__ import annotations

import os
from pathlib import Path

ALGOS = ["naive", "im2col", "numba", "winograd", "winograd2", "auto"]


def write(results: dict, docs: Path, suffix: str = "") -> None:
    """docs/benchmarks{suffix}.md and its figures (``suffix`` "_avx2" for a run capped at AVX2)."""
    figures = docs / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    plot_layers(results, figures / f"bench_layers{suffix}.png")
    plot_roofline(results, figures / f"bench_roofline{suffix}.png")
    gpu = os.path.relpath(Path(__file__).resolve().parents[1] / "docs" / "benchmarks_gpu.md", docs.resolve())
    (docs / f"benchmarks{suffix}.md").write_text(markdown(results, suffix, gpu_link=Path(gpu).as_posix()))


def markdown(r: dict, suffix: str = "", gpu_link: str = "benchmarks_gpu.md") -> str:
    """The record's text; ``gpu_link``: where the GPU record is, from the folder this one is written to."""
    m = r["meta"]
    peak = m["gemm_peak_gflops"]
    out = [
        "# Benchmarks",
        "",
        "Written by `python benchmarks/run.py` (see benchmarks/README.md for the method). Medians of calls timed",
        "in blocks, three rounds; every ratio is against torch in the same run, same threads. On a GPU, against",
        f"cuDNN: [benchmarks_gpu.md]({gpu_link}), written by `benchmarks/gpu.py` (`scripts/gpu_check.sh`).",
        "",
        f"Machine: {m['cpu']} ({m.get('isa', '?')}, {m['machine']}), {m['threads']} threads for every library; "
        f"float32 GEMM peak measured at {peak:.0f} GFLOP/s at the start (the fastest of 15 runs), memory bandwidth "
        f"{m['bandwidth_gbs']:.1f} GB/s; NumPy {m['numpy']}, "
        f"torch {m['torch']}; {m['date']}." + (" **Quick smoke run: not meaningful.**" if m["quick"] else ""),
        "",
        "## Whole networks (eval mode, float32, milliseconds per forward pass; ratio to torch)",
        "",
        "torch as loaded (eager), channels-last (`model.to(memory_format=torch.channels_last)`) and frozen "
        "TorchScript (`optimize_for_inference(freeze(script(model)))`); minicnn eager (the default NumPy rule, as "
        "loaded) and `minicnn.optimize(model)` (measured per layer; *default*: the fixed NumPy rule). Ratios to torch "
        "eager; the last column: optimize against the fastest torch variant. EfficientNet-Lite0's torch is the "
        "independent implementation of `reference/efficientnet.py` (F.conv2d, F.batch_norm, F.relu6; torchvision has "
        "no Lite0 to script or freeze).",
        "",
        "| model | batch | torch | torch cl | torch frozen | minicnn eager | optimize | optimize default "
        "| optimize / fastest torch |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for n in r["networks"]:
        t = n["torch"]
        cell = lambda a, n=n, t=t: f"{n[a]:.0f} ({n[a] / t:.2f}x)" if a in n else "--"  # noqa: E731
        fastest = min(n[a] for a in ("torch", "torch_cl", "torch_frozen") if a in n)
        out.append(f"| {n['model']} | {n['batch']} | {t:.0f} | {cell('torch_cl')} | {cell('torch_frozen')} | "
                   f"{cell('eager')} | {cell('optimize')} | {cell('optimize_default')} | "
                   f"{n['optimize'] / fastest:.2f}x |")  # fmt: skip
    plans = [n for n in r["networks"] if n.get("plan")]  # (records before 2026-12-02 have none)
    if plans:
        out += ["", "What `optimize` ran (its `auto` choices in this run, convolutions per algorithm; "
                "`minicnn.optimize.algorithms(model)` lists them layer by layer): "
                + "; ".join(f"{n['model']} batch {n['batch']}: " + ", ".join(f"{a} {c}" for a, c in n["plan"].items())
                            for n in plans) + "."]  # fmt: skip
    load, mem = r["load_ms"], r["memory"]
    out += [
        "",
        "## Loading, memory, start-up",
        "",
        f"- Loading VGG16's checkpoint (528 MB, read into memory): minicnn {load['minicnn']:.0f} ms (and summing every "
        f"value: {load['minicnn_read_all']:.0f} ms), `torch.load` {load['torch']:.0f} ms.",
        f"- Peak memory of classifying the cat with VGG16: `minicnn classify` {mem['minicnn_mb']:.0f} MB, the same "
        f"job in torchvision {mem['torchvision_mb']:.0f} MB ({mem['minicnn_mb'] / mem['torchvision_mb']:.2f}x).",
    ]
    if "startup_s" in r:
        s = r["startup_s"]
        out.append(f"- `minicnn classify --model efficientnet_lite0 --algorithm auto`, whole command: "
                   f"{s['cold']:.1f} s with empty Numba and autotune caches (compiling, measuring), "
                   f"{s['warm']:.1f} s with warm ones.")  # fmt: skip
        if "default_cold" in s:  # (records before 2026-12-02 measured auto only)
            out.append(f"- `minicnn classify --model efficientnet_lite0` (the default rule: nothing compiled or "
                       f"measured): {s['default_cold']:.1f} s with empty caches, {s['default_warm']:.1f} s with warm "
                       f"ones.")  # fmt: skip
    out += [
        "",
        "## Per conv layer (batch 1; milliseconds, ratio to torch, fraction of the GEMM peak)",
        "",
        "naive is timed on a 1/16 x 1/16 crop and scaled up; numba's direct loops are skipped in quick runs. "
        "*cl*: the input stored channels-last, as the models run (winograd then needs no layout copy); "
        "ratios are to torch on NCHW. Each minicnn column calls `F.conv2d(..., algorithm=...)` as eager code "
        "does, so it prepares the weight in every call (Winograd's transformed kernels, the channels-last GEMM "
        "columns; torch's eager call, too, starts from the weight as given); `optimize` prepares them once (the "
        "whole-network table). "
        "The GEMM peak of each row is measured again in that layer's rounds (the "
        "fastest of its 2048x2048 products there), since the machine drifts during a run; column *peak*.",
        "",
        "| model | layer | input | GFLOP | peak GFLOP/s | torch | torch cl | im2col | im2col cl | numba | winograd "
        "| winograd cl | winograd2 | auto | auto cl | naive | im2col MB | winograd error |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in r["layers"]:
        t = row["torch"]["ms"]

        def cell(a, row=row, t=t):
            if a not in row:
                return "--"
            return f"{row[a]['ms']:.1f} ({row[a]['ms'] / t:.2f}x, {100 * row[a]['of_peak']:.0f}%)"

        out.append(
            f"| {row['model']} | {row['layer']} | {'x'.join(map(str, row['shape'][1:]))} | {row['gflop']:.2f} "
            f"| {row['gemm_peak_gflops']:.0f} | {t:.1f} ({100 * row['torch']['of_peak']:.0f}%) | {cell('torch_cl')} "
            f"| {cell('im2col')} | "
            f"{cell('im2col_cl')} | "
            f"{cell('numba')} | {cell('winograd')} | {cell('winograd_cl')} | {cell('winograd2')} | {cell('auto')} | "
            f"{cell('auto_cl')} | "
            f"{row['naive']['ms']:.0f} | "
            f"{row['im2col_mb']:.0f} | {row['errors'].get('winograd', 0):.1e} |"
        )
    out += [
        "",
        f"![GFLOP/s per layer](figures/bench_layers{suffix}.png)",
        "",
        f"![roofline](figures/bench_roofline{suffix}.png)",
        "",
    ]
    return "\n".join(out)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_layers(r: dict, path: Path) -> None:
    """GFLOP/s of each algorithm on each of VGG16's conv layers, torch's beside them, the GEMM peak as a line."""
    import numpy as np

    plt = _plt()
    rows = [x for x in r["layers"] if x["model"] == "vgg16"]
    names = ["torch", "torch_cl", "im2col", "im2col_cl", "winograd", "winograd_cl", "winograd2", "numba", "auto_cl"]
    fig, ax = plt.subplots(figsize=(14, 5))
    width = 0.8 / len(names)
    for k, name in enumerate(names):
        vals = [x[name]["gflops"] if name in x else 0 for x in rows]
        ax.bar(np.arange(len(rows)) + k * width, vals, width, label=name)
    ax.axhline(r["meta"]["gemm_peak_gflops"], color="k", ls="--", label="measured GEMM peak")
    ax.set_xticks(np.arange(len(rows)) + 0.4)
    ax.set_xticklabels([f"{x['layer']}\n{x['shape'][1]}->{x['c_out']}\n{x['shape'][2]}px" for x in rows], fontsize=7)
    ax.set_ylabel("GFLOP/s (direct-convolution FLOPs / time)")
    ax.set_title("VGG16 conv layers: speed by algorithm")
    ax.legend(fontsize=8, ncol=4)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def plot_roofline(r: dict, path: Path) -> None:
    """Roofline view: arithmetic intensity (FLOPs per byte that must move) against GFLOP/s achieved."""
    import numpy as np

    plt = _plt()
    peak, bw = r["meta"]["gemm_peak_gflops"], r["meta"]["bandwidth_gbs"]
    fig, ax = plt.subplots(figsize=(8, 6))
    xs = np.logspace(-1, 3, 100)
    ax.plot(xs, np.minimum(peak, bw * xs), "k-", label=f"roof: min({peak:.0f} GFLOP/s, {bw:.0f} GB/s x intensity)")
    for name, marker in [("torch", "o"), ("im2col_cl", "s"), ("winograd_cl", "^"), ("numba", "x"), ("auto_cl", "*")]:
        pts = [(x["intensity"], x[name]["gflops"]) for x in r["layers"] if name in x]
        if pts:
            ax.scatter(*zip(*pts), marker=marker, label=name, alpha=0.7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per byte of input, weights and output)")
    ax.set_ylabel("GFLOP/s")
    ax.set_title("Every conv layer (VGG16, ResNet50) on the roofline")
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
