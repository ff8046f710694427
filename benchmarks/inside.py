"""Each convolution's time inside the whole network: ``minicnn.optimize``'s fused convolutions against torch's.

Run on its own (a few minutes; not part of run.py)::

    .venv/bin/python benchmarks/inside.py resnet50 [--isa avx2] [--passes 12] [--batch 1]

Alone, a layer keeps its weights and its input in the caches from one call to the next; inside the network the
other layers evict them, and the per-layer table of run.py (warm) and these numbers differ (docs/performance.md).
Here the whole network runs, torch and minicnn in alternate passes in one process (same threads, same settings as
run.py), and every convolution is timed where it is: minicnn's ``FusedConv`` calls (the convolution with its folded
batch norm, ReLU and residual in the epilogue, the layout it needs, and for VGG16's layers before a pooling that
pooling, which a Winograd kernel does in its output transform) and torch's ``Conv2d`` modules, between
forward hooks, in eager NCHW and in channels-last (torch's batch norms and ReLUs are apart: their time is in the
*rest* line). Medians over the passes; the table is sorted by what minicnn loses, and says which kernel ran
(``minicnn.optimize.algorithms``). Random weights: the times do not depend on the values.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ISA_CHOICES, _busy_wait, cpu_name, instruction_set, median, prepare_process  # noqa: E402


def minicnn_timed(model, times):
    """Times every FusedConv call of the optimized ``model`` into ``times[name]`` (a list per pass)."""
    from minicnn import optimization

    names = {conv: name for name, conv in model.named_modules()}
    original = optimization.FusedConv.__call__

    def timed(self, x, residual=None):
        t = time.perf_counter()
        out = original(self, x, residual)
        times.setdefault(names.get(self.conv, "?"), []).append(time.perf_counter() - t)
        return out

    return original, timed


def torch_timed(torch, model, times, recording):
    """Forward hooks around each Conv2d of a torch ``model``: its time into ``times[name]`` while ``recording``."""
    started = {}

    def before(module, inputs, name):
        started[name] = time.perf_counter()

    def after(module, inputs, output, name):
        if recording["on"]:
            times.setdefault(name, []).append(time.perf_counter() - started[name])

    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_pre_hook(lambda m, i, name=name: before(m, i, name))
            m.register_forward_hook(lambda m, i, o, name=name: after(m, i, o, name))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=("vgg16", "resnet50"))
    parser.add_argument("--passes", type=int, default=12)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--isa", choices=ISA_CHOICES, default="native")
    parser.add_argument("--algorithm", default="auto", help="optimize's algorithm (default: auto)")
    args = parser.parse_args()
    prepare_process(args.threads, args.isa)

    import numpy as np
    import torch
    import torchvision

    import minicnn
    from minicnn import models, optimization

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, args.model)().eval()
    mine = getattr(models, args.model)().eval()
    mine.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    theirs_cl = getattr(torchvision.models, args.model)()
    theirs_cl.load_state_dict(theirs.state_dict())
    theirs_cl = theirs_cl.eval().to(memory_format=torch.channels_last)

    x = np.random.default_rng(0).standard_normal((args.batch, 3, args.size, args.size), dtype=np.float32)
    xt = torch.from_numpy(x)
    xt_cl = xt.contiguous(memory_format=torch.channels_last)
    minicnn.optimize(mine, x, algorithm=args.algorithm)
    plan = minicnn.optimize.algorithms(mine)

    mine_t, theirs_t, theirs_cl_t = {}, {}, {}
    totals = {"minicnn": [], "torch": [], "torch_cl": []}
    recording = {"on": False}
    original, timed = minicnn_timed(mine, mine_t)
    torch_timed(torch, theirs, theirs_t, recording)
    torch_timed(torch, theirs_cl, theirs_cl_t, recording)
    with torch.no_grad():
        error = float(np.abs(mine(x) - theirs(xt).numpy()).max())
        for _ in range(2):  # warm
            mine(x), theirs(xt), theirs_cl(xt_cl)
        for p in range(args.passes):
            for name, run in (("minicnn", lambda: mine(x)), ("torch", lambda: theirs(xt)),
                              ("torch_cl", lambda: theirs_cl(xt_cl))):  # fmt: skip
                _busy_wait(0.02)
                run()  # untimed: after the other library
                optimization.FusedConv.__call__ = timed if name == "minicnn" else original
                recording["on"] = True
                try:
                    t = time.perf_counter()
                    run()
                    totals[name].append(time.perf_counter() - t)
                finally:
                    recording["on"] = False
                    optimization.FusedConv.__call__ = original
            print(f"pass {p + 1}/{args.passes}", file=sys.stderr, end="\r")

    ms = {k: {n: 1e3 * median(v) for n, v in d.items()} for k, d in
          (("minicnn", mine_t), ("torch", theirs_t), ("torch_cl", theirs_cl_t))}  # fmt: skip
    total = {k: 1e3 * median(v) for k, v in totals.items()}
    print(f"# {args.model} batch {args.batch}, {args.size}x{args.size}: each convolution inside the network")
    print(f"{cpu_name()}, {instruction_set()}, {args.threads} threads; "
          f"medians of {args.passes} passes; max |logit difference| {error:.1e}\n")  # fmt: skip
    print("| layer | input | minicnn kernel | minicnn ms | torch ms | torch cl ms | minicnn - best torch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    rows = []
    for name in ms["torch"]:
        kernels = plan.get(name, {})
        shape, kernel = next(((s, k) for (s, _), k in kernels.items() if s[0] == args.batch), (None, "(not fused)"))
        m = ms["minicnn"].get(name, float("nan"))
        best = min(ms["torch"][name], ms["torch_cl"].get(name, float("inf")))
        rows.append((m - best, name, "x".join(map(str, shape[1:])) if shape else "", kernel, m, ms["torch"][name],
                     ms["torch_cl"].get(name, float("nan"))))  # fmt: skip
    for gap, name, shape, kernel, m, t, tc in sorted(rows, key=lambda r: (r[0] != r[0], -r[0])):  # NaN: not fused, last
        print(f"| {name} | {shape} | {kernel} | {m:.2f} | {t:.2f} | {tc:.2f} | {gap:+.2f} |")
    conv = {k: sum(v.values()) for k, v in ms.items()}
    print(f"| convolutions | | | {conv['minicnn']:.1f} | {conv['torch']:.1f} | {conv['torch_cl']:.1f} | |")
    print(
        f"| rest (the pass minus its convolutions) | | | {total['minicnn'] - conv['minicnn']:.1f} | "
        f"{total['torch'] - conv['torch']:.1f} | {total['torch_cl'] - conv['torch_cl']:.1f} | |"
    )
    print(
        f"| whole pass | | | {total['minicnn']:.1f} | {total['torch']:.1f} | {total['torch_cl']:.1f} | "
        f"{total['minicnn'] / total['torch']:.2f}x torch |"
    )


if __name__ == "__main__":
    main()
