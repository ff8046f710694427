"""Training benchmark (issue 15): one SGD step of the digits CNN, and conv2d's backward on VGG16's layer shapes,
against torch in the same run, same threads (methods of benchmarks/common.py).

    .venv/bin/python benchmarks/training.py            # about 3 minutes on 2 cores; --quick for a smoke run

Writes ``benchmarks/results/training.json`` and the table ``docs/benchmarks_training.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import common  # noqa: E402

#: VGG16's 13 conv layers: (name, C_in, C_out, input size at 224x224).
VGG16_LAYERS = [("conv1_1", 3, 64, 224), ("conv1_2", 64, 64, 224), ("conv2_1", 64, 128, 112),
                ("conv2_2", 128, 128, 112), ("conv3_1", 128, 256, 56), ("conv3_2", 256, 256, 56),
                ("conv3_3", 256, 256, 56), ("conv4_1", 256, 512, 28), ("conv4_2", 512, 512, 28),
                ("conv4_3", 512, 512, 28), ("conv5_1", 512, 512, 14), ("conv5_2", 512, 512, 14),
                ("conv5_3", 512, 512, 14)]  # fmt: skip


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for torch, OpenBLAS and Numba")
    p.add_argument("--repeats", type=int, default=9, help="timed calls per contender (median)")
    p.add_argument("--batch", type=int, default=8, help="batch of the conv2d backward table (default 8)")
    p.add_argument("--size", type=int, default=224, help="VGG16's input size for the backward table")
    p.add_argument(
        "--isa",
        choices=common.ISA_CHOICES,
        default="native",
        help="avx2: cap every library at AVX2 on an AVX-512 machine (files get the suffix _avx2)",
    )
    p.add_argument("--quick", action="store_true", help="a tiny smoke run (for tests)")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.batch, args.size = 2, 1, 32
    return args


def training_step(np, torch, args):
    """One step (zero_grad, forward, cross-entropy, backward, SGD with momentum) on a batch of 64 digits: minicnn's
    readable NumPy kernels, the same inside ``minicnn.compiled()``, torch, and torch on channels-last tensors."""
    import minicnn
    from minicnn import datasets, nn, optim, training

    x, y = datasets.load_digits("train")
    x, y = x[:64], y[:64]
    tx, ty = torch.tensor(x), torch.tensor(y)

    def torch_step(channels_last):
        ref = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                  torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                  torch.nn.Flatten(), torch.nn.Linear(256, 10))  # fmt: skip
        ref.load_state_dict({k: torch.tensor(np.array(v)) for k, v in model.state_dict().items()})
        inputs = tx
        if channels_last:
            ref, inputs = ref.to(memory_format=torch.channels_last), tx.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(ref.parameters(), lr=0.01, momentum=0.9)

        def step():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(ref(inputs), ty).backward()
            opt.step()

        return step

    def minicnn_step(compiled):
        net = training.digits_cnn(generator=np.random.default_rng(0))
        opt, loss_fn = optim.SGD(net.parameters(), lr=0.01, momentum=0.9), nn.CrossEntropyLoss()

        def step():
            with minicnn.compiled(compiled):
                opt.zero_grad()
                loss_fn(net(x), y).backward()
                opt.step()

        return step

    model = training.digits_cnn(generator=np.random.default_rng(0))
    runs = {"minicnn": minicnn_step(False), "minicnn compiled": minicnn_step(True), "torch": torch_step(False),
            "torch channels-last": torch_step(True)}  # fmt: skip
    times = common.time_in_blocks(runs, args.repeats * 5)
    fastest = min(times["torch"], times["torch channels-last"])
    return {"batch": 64, **{f"{name} ms": 1e3 * t for name, t in times.items()},
            "ratio": times["minicnn"] / times["torch"], "compiled ratio": times["minicnn compiled"] / times["torch"],
            "compiled ratio to fastest torch": times["minicnn compiled"] / fastest}  # fmt: skip


def conv_backward(np, torch, args):
    """conv2d's backward (gradients of input, weight and bias) on each VGG16 layer shape, checked then timed."""
    from minicnn import specs
    from minicnn.functional.conv import conv2d_backward
    from minicnn.numerics import normalized_max_error

    rows = []
    for name, c_in, c_out, size in VGG16_LAYERS:
        size = max(2, size * args.size // 224)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((args.batch, c_in, size, size), dtype=np.float32)
        w = (rng.standard_normal((c_out, c_in, 3, 3)) / np.sqrt(9 * c_in)).astype(np.float32)
        g = rng.standard_normal((args.batch, c_out, size, size), dtype=np.float32)
        spec = specs.conv2d(x, w, None, 1, 1, 1, 1)
        tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
        tb, tg = torch.zeros(c_out, requires_grad=True), torch.tensor(g)
        tout = torch.nn.functional.conv2d(tx, tw, tb, padding=1)

        def ours():
            return conv2d_backward(g, x, w, spec)

        def theirs():
            return torch.autograd.grad(tout, (tx, tw, tb), tg, retain_graph=True)

        gx, gw, _ = ours()
        rx, rw, _ = theirs()
        err = max(normalized_max_error(gx, rx.numpy()), normalized_max_error(gw, rw.numpy()))
        times = common.time_in_blocks({"minicnn": ours, "torch": theirs}, args.repeats)
        flops = 2 * 2 * spec.macs  # two products of the forward's size (input and weight gradients)
        rows.append({"layer": name, "shape": [args.batch, c_in, size, size], "out_channels": c_out,
                     "minicnn_ms": 1e3 * times["minicnn"], "torch_ms": 1e3 * times["torch"],
                     "ratio": times["minicnn"] / times["torch"], "minicnn_gflops": flops / times["minicnn"] / 1e9,
                     "torch_gflops": flops / times["torch"] / 1e9, "error": err})  # fmt: skip
        common.progress(f"  {name}: minicnn {rows[-1]['minicnn_ms']:.1f} ms, torch {rows[-1]['torch_ms']:.1f} ms, "
                        f"ratio {rows[-1]['ratio']:.2f} (error {err:.1e})")  # fmt: skip
    return rows


def write_report(results, docs: Path, suffix: str = ""):
    meta, step, rows = results["meta"], results["training_step"], results["conv_backward"]
    lines = [
        "# Training benchmarks (issue 15)",
        "",
        f"Written by `benchmarks/training.py` on {meta['date']}: {meta['cpu']} ({meta['isa']}), {meta['threads']} "
        f"threads, NumPy {meta['numpy']}, torch {meta['torch']}; float32; medians of timed calls in rounds, "
        "torch in the same run with the same threads. Targets: one training step at most 1.5x torch's time, "
        "conv2d backward at most 2x per layer.",
        "",
        "## One training step of the digits CNN (batch 64)",
        "",
        "`minicnn compiled` is the same step inside `minicnn.compiled()` (`minicnn train digits` runs it); `minicnn`",
        "the readable NumPy kernels (the default).",
        "",
        "| minicnn | minicnn compiled | torch | torch channels-last | ratios to torch (minicnn, compiled) |",
        "| --- | --- | --- | --- | --- |",
        f"| {step['minicnn ms']:.2f} ms | {step['minicnn compiled ms']:.2f} ms | {step['torch ms']:.2f} ms "
        f"| {step['torch channels-last ms']:.2f} ms | {step['ratio']:.2f}, **{step['compiled ratio']:.2f}** |",
        "",
        f"## conv2d backward (input, weight and bias gradients) on VGG16's layers, batch {rows[0]['shape'][0]}",
        "",
        "| layer | input | minicnn ms | torch ms | ratio | minicnn GFLOP/s | torch GFLOP/s | error vs torch |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        shape = "x".join(map(str, r["shape"]))
        lines.append(f"| {r['layer']} | {shape} | {r['minicnn_ms']:.1f} | {r['torch_ms']:.1f} | {r['ratio']:.2f} "
                     f"| {r['minicnn_gflops']:.0f} | {r['torch_gflops']:.0f} | {r['error']:.1e} |")  # fmt: skip
    total = sum(r["minicnn_ms"] for r in rows) / sum(r["torch_ms"] for r in rows)
    lines += ["", f"All 13 layers together: {total:.2f}x torch's time.", ""]
    (docs / f"benchmarks_training{suffix}.md").write_text("\n".join(lines))


def main(argv=None):
    args = parse_args(argv)
    common.prepare_process(args.threads, args.isa)
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    results = {"meta": {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": common.cpu_name(),
                        "isa": common.instruction_set(), "threads": args.threads, "numpy": np.__version__,
                        "torch": torch.__version__, "quick": args.quick}}  # fmt: skip
    common.progress(f"{results['meta']['cpu']} ({results['meta']['isa']}), {args.threads} threads")
    common.progress("== one training step of the digits CNN")
    results["training_step"] = training_step(np, torch, args)
    step = results["training_step"]
    common.progress(f"  minicnn {step['minicnn ms']:.2f} ms, compiled {step['minicnn compiled ms']:.2f} ms, torch "
                    f"{step['torch ms']:.2f} ms (channels-last {step['torch channels-last ms']:.2f} ms): "
                    f"{step['ratio']:.2f}x, compiled {step['compiled ratio']:.2f}x")  # fmt: skip
    common.progress("== conv2d backward, VGG16's layers")
    results["conv_backward"] = conv_backward(np, torch, args)
    args.out.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.isa == "native" else f"_{args.isa}"
    name = "training-quick.json" if args.quick else f"training{suffix}.json"
    (args.out / name).write_text(json.dumps(results, indent=1))
    if not args.quick:
        write_report(results, args.docs, suffix)


if __name__ == "__main__":
    main()
