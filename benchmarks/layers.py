"""Per-layer benchmark: conv2d algorithms against torch on each of VGG16's conv layers and ResNet50's distinct conv
shapes (batch 1, 224x224 unless told otherwise)."""

from __future__ import annotations

from benchmarks.common import gemm_product, progress, time_in_blocks, time_interleaved

#: Column -> (algorithm, channels-last input). The NCHW columns are the readable or NCHW kernels; the *_cl ones get
#: a channels-last input, as an optimized model runs them.
CONTENDERS = {"im2col": ("im2col", False), "numba": ("numba_blocked", False), "winograd": ("winograd4", False),
              "winograd2": ("winograd2", False), "auto": ("auto", False), "im2col_cl": ("im2col_cl", True),
              "winograd_cl": ("winograd4_cl", True), "auto_cl": ("auto", True)}  # fmt: skip


def conv_shapes(model_name: str, size: int):
    """(name, input shape, Conv2d) of every distinct conv layer of a model on a size x size image."""
    import numpy as np

    from minicnn import models
    from minicnn.nn import Conv2d, init

    with init.no_init():
        model = getattr(models, model_name)()
    seen, shapes = set(), []
    for name, m in model.named_modules():
        if isinstance(m, Conv2d):
            m.register_forward_pre_hook(lambda mod, args, name=name: shapes.append((name, args[0].shape, mod)))
    model.eval()(np.zeros((1, 3, size, size), np.float32))
    out = []
    for name, shape, mod in shapes:
        key = (shape[1:], mod.out_channels, mod.kernel_size, mod.stride, mod.padding)
        if key not in seen:
            seen.add(key)
            out.append((name, shape, mod))
    return out


def run(np, torch, args):
    import minicnn.functional as F
    from minicnn.kernels.registry import tolerance_kind
    from minicnn.testing import assert_close

    rng = np.random.default_rng(0)
    product, product_flops = gemm_product(np)
    rows = []
    layers = [("vgg16", *s) for s in conv_shapes("vgg16", args.size)]
    if not args.vgg_only:
        layers += [("resnet50", *s) for s in conv_shapes("resnet50", args.size)]
    for i, (model, name, shape, mod) in enumerate(layers):
        shape = (args.batch, *shape[1:])
        x = rng.standard_normal(shape, dtype=np.float32)
        fan_in = mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1]
        w = (rng.standard_normal(mod.weight.shape) * np.sqrt(2 / fan_in)).astype(np.float32)
        b = rng.standard_normal(mod.out_channels).astype(np.float32) if mod.bias is not None else None
        kw = dict(stride=mod.stride, padding=mod.padding)
        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        bt = None if b is None else torch.from_numpy(b)
        ref = torch.nn.functional.conv2d(xt.double(), wt.double(), None if b is None else bt.double(), **kw).numpy()
        terms = torch.nn.functional.conv2d(
            xt.abs().double(), wt.abs().double(), None if b is None else bt.abs().double(), **kw
        )
        x_cl = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)  # channels-last input
        runs = {column: (lambda a=a, xi=(x_cl if cl else x): F.conv2d(xi, w, b, **kw, algorithm=a))
                for column, (a, cl) in CONTENDERS.items()}  # fmt: skip
        errors = {}
        for column, fn in runs.items():  # verify before timing (this also compiles Numba code)
            kind, scale = tolerance_kind(CONTENDERS[column][0]), float(terms.max())
            errors[column] = assert_close(fn(), ref, kind=kind, dtype=np.float32, scale=scale, name=f"{name} {column}")
        runs["torch"] = lambda: torch.nn.functional.conv2d(xt, wt, bt, **kw)
        xt_cl = xt.contiguous(memory_format=torch.channels_last)
        runs["torch_cl"] = lambda: torch.nn.functional.conv2d(xt_cl, wt, bt, **kw)
        if args.quick or mod.groups > 1:  # numba's direct loops on big layers take seconds: skip when quick
            runs.pop("numba", None)
        runs["gemm"] = product  # the GEMM peak again, in this layer's rounds: the machine drifts during a run
        times = time_in_blocks(runs, args.repeats, fastest=("gemm",))
        local_peak = product_flops / times.pop("gemm") / 1e9
        crop = x[:, :, : max(shape[2] // 16, 3), : max(shape[3] // 16, 3)]
        scale = (shape[2] * shape[3]) / (crop.shape[2] * crop.shape[3])
        times["naive"] = (
            scale * time_interleaved({"naive": lambda: F.conv2d(crop, w, b, **kw, algorithm="naive")}, 1)["naive"]
        )
        out_hw = ref.shape[2] * ref.shape[3]
        flops = 2 * args.batch * mod.out_channels * out_hw * fan_in // mod.groups
        moved = 4 * (x.size + w.size + ref.size)  # the least memory traffic: read input and weights, write output
        row = {"model": model, "layer": name, "shape": list(shape), "c_out": mod.out_channels,
               "kernel": list(mod.kernel_size), "stride": list(mod.stride), "gflop": flops / 1e9,
               "intensity": flops / moved, "errors": errors,
               "im2col_mb": args.batch * fan_in * out_hw * 4 / 2**20, "gemm_peak_gflops": local_peak}  # fmt: skip
        for a, t in times.items():  # fractions of the GEMM peak measured beside the layer
            row[a] = {"ms": 1e3 * t, "gflops": flops / t / 1e9, "of_peak": flops / t / 1e9 / local_peak}
        rows.append(row)
        summary = " ".join(
            f"{a} {row[a]['ms']:.1f}" for a in ("torch", "im2col_cl", "winograd_cl", "auto_cl") if a in row
        )
        progress(f"[{i + 1}/{len(layers)}] {model} {name:<24s} {str(shape):<18s} {summary} ms")
    return rows
