"""Part A of the notebook: the models printed, the convolution's formula, a Gaussian blur, the Prewitt exercise,
ReLU and max pooling, and the layer-30 question. Each code cell runs in the report's namespace ``ctx.ns``."""

from __future__ import annotations

import numpy as np

import minicnn.functional as F
from minicnn.data import sample_image_path
from minicnn.demo import figures, mechanics
from minicnn.demo.snippets import code
from minicnn.demo.text import number, t
from minicnn.summary import summarize


def section_a(ctx, r):
    lang, ns = ctx.lang, ctx.ns
    r.section(t(lang, "A"))
    with r.step(t(lang, "step.A1")):
        r.text(t(lang, "A.imports"))
        path = "sample_image_path()" if ctx.image == sample_image_path() else repr(str(ctx.image))
        r.run(code(lang, "imports", path=path), ns)
        r.text(t(lang, "A.models"))
        for name in ("vgg", "resnet"):
            r.run(code(lang, name), ns, fold=lambda lines, name=name: t(lang, "fold.print", name=name, lines=lines))
    with r.step(t(lang, "step.A2")):
        theory(lang, r)
    with r.step(t(lang, "step.A3", name=ctx.image.name)):
        r.text(t(lang, "A.image"))
        r.run(code(lang, "image"), ns)
        r.figure(figures.rgb(ns["img"][0], t(lang, "fig.image", name=ctx.image.name)), "image.png",
                 t(lang, "fig.image", name=ctx.image.name))  # fmt: skip
    with r.step(t(lang, "step.A4")):
        gaussian_blur(ctx, r)
    with r.step(t(lang, "step.A5")):
        r.text(t(lang, "A.prewitt"))
        r.run(code(lang, "prewitt"), ns)
        img, out1, out2, magnitude = ns["img"], ns["output1"], ns["output2"], ns["output"]
        r.figure(figures.panels([out1[0, 0], out2[0, 0], magnitude[0, 0]], t(lang, "fig.prewitt")), "cat_prewitt.png",
                 t(lang, "fig.prewitt.caption", shape=magnitude.shape))  # fmt: skip
        ctx.results["prewitt_shape"] = magnitude.shape
        ctx.checker.conv(r, t(lang, "what.prewitt1"), img, ns["kernel1"], out1)
        ctx.checker.conv(r, t(lang, "what.prewitt2"), img, ns["kernel2"], out2)
        window_and_columns(ctx, r)
    with r.step(t(lang, "step.A6")):
        r.text(t(lang, "A.relu"))
        r.run(code(lang, "relu"), ns)
        ctx.results["pooled_shape"] = ns["x"].shape
        x = np.random.default_rng(0).random((1, 1, 4, 4), dtype=np.float32) - 0.5  # the cell's x, drawn again
        ctx.checker.op(r, t(lang, "what.relu"), "relu", F.relu(x), x)
        ctx.checker.op(r, t(lang, "what.maxpool"), "max_pool2d", ns["x"], x, kernel_size=2)
    with r.step(t(lang, "step.A7")):
        layer_30(ctx, r)


def theory(lang, r):
    """The notebook's formula (1), cross-correlation against convolution, and the 2-D form with stride and padding."""
    r.text(t(lang, "A.formula1"))
    r.formula("output_{i} = bias + Σ_{j=1}^{n} input_{i+j} × kernel_{j}          (1)")
    r.text(t(lang, "A.formula1.after"))
    r.text(t(lang, "A.xcorr"))
    r.text(t(lang, "A.conv2d"))
    r.formula("out[n, c, i, j] = bias[c] + Σ_{c′, u, v} x̃[n, c′, s·i + u, s·j + v] × weight[c, c′, u, v]")
    r.text(t(lang, "A.conv2d.after"))
    r.formula("OH = ⌊(H + 2p − K) / s⌋ + 1,     OW = ⌊(W + 2p − K) / s⌋ + 1")
    r.text(t(lang, "A.arith"))


def gaussian_blur(ctx, r):
    """The notebook's 20x20 Gaussian through conv2d; how far from an average it is; stride and padding."""
    lang, ns = ctx.lang, ctx.ns
    r.text(t(lang, "A.gauss"))
    r.run(code(lang, "gauss"), ns)
    g = ns["kernel"]  # (20, 20)
    r.figure(figures.gray(g, t(lang, "fig.gauss"), colorbar=t(lang, "fig.value")), "gaussian_kernel.png",
             t(lang, "fig.gauss"))  # fmt: skip
    r.run(code(lang, "tile"), ns)
    r.run(code(lang, "blur"), ns)
    img, kernel, blurred = ns["img"], ns["kernel"], ns["output"]  # (1, 3, 256, 256), (1, 3, 20, 20), (1, 1, 237, 237)
    r.figure(figures.gray(blurred[0, 0], t(lang, "fig.blurred", shape=blurred.shape), colorbar=t(lang, "fig.value")),
             "cat_blurred.png", t(lang, "fig.blurred.caption", shape=blurred.shape))  # fmt: skip
    r.text(t(lang, "A.gauss.sum", one=number(lang, g.sum(), 2), three=number(lang, kernel.sum(), 1),
             out_max=number(lang, blurred.max(), 2)))  # fmt: skip
    r.text(t(lang, "A.stride"))
    r.run(code(lang, "stride"), ns)
    r.text(t(lang, "A.mech.arith"))
    r.figure(mechanics.arithmetic(lambda key, **v: t(lang, key, **v)), "conv_arithmetic.png",
             t(lang, "fig.mech.arith.caption"))  # fmt: skip
    ctx.results["blurred_shape"] = blurred.shape
    ctx.results["gaussian_sum"] = float(kernel.sum())
    ctx.checker.conv(r, t(lang, "what.gauss"), img, kernel, blurred)


def layer_30(ctx, r):
    """The exercise: VGG16's layer-30 output, by a hook, then every layer of the network in a table."""
    lang, ns = ctx.lang, ctx.ns
    r.text(t(lang, "A.table"))
    r.run(code(lang, "layer30"), ns)
    vgg = ns["vgg"]
    rows = summarize(vgg, (3, 256, 256))
    r.text(t(lang, "A.table.after"))
    r.output(layer_table(rows, lang))
    ctx.results["table_layers"] = [row.name for row in rows if row.is_leaf]
    row = next(row for row in rows if row.name == "features.30")
    pooled = next(row for row in rows if row.name == "avgpool")
    _, channels, side, _ = row.output_shape  # (1, 512, 8, 8)
    ctx.results["layer30"] = row.output_shape[1:]
    r.answer(t(lang, "A.answer", type=row.type, out="x".join(map(str, row.output_shape[1:])), inp="3x256x256",
               factor=256 // side, channels=channels, side=side, avgpool=repr(vgg.avgpool),
               pooled=pooled.output_shape[-1], flat=number(lang, vgg.classifier[0].in_features)))  # fmt: skip
    words = lambda key, **v: t(lang, key, **v)  # noqa: E731
    rf = mechanics.receptive_fields(vgg)
    ctx.results["receptive_fields"] = {name: side for name, _, side, _ in rf}
    r.text(t(lang, "A.mech.rf"))
    picture = np.clip(ns["img"][0].transpose(1, 2, 0), 0, 1)  # the cat at 256x256, as the network sees it
    r.figure(mechanics.receptive_field_picture(picture, rf, words), "receptive_field.png",
             t(lang, "fig.mech.rf.caption"), t(lang, "fig.weights", weights=t(lang, "weights.random")))  # fmt: skip
    r.text(t(lang, "A.mech.shrink"))
    shapes = [(t(lang, "mech.input.name"), (3, 256, 256))]
    shapes += [(row.name, row.output_shape[1:]) for row in rows if row.name.startswith("features.")]
    r.figure(mechanics.shrinking(shapes, words, lambda v: number(lang, v)), "numbers_per_layer.png",
             t(lang, "fig.mech.shrink.caption"))  # fmt: skip


def window_and_columns(ctx, r):
    """One output pixel of the Prewitt filter number by number, and im2col's matrix of real windows of the cat."""
    lang, ns = ctx.lang, ctx.ns
    words = lambda key, **v: t(lang, key, **v)  # noqa: E731
    red = ns["img"][0, 0]  # (256, 256), the red channel
    prewitt = ns["kernel1"][0, 0]  # (3, 3)
    r.text(t(lang, "A.mech.window"))
    fig, total, out = mechanics.window_sum(red, prewitt, (120, 100), words, lambda v: number(lang, v, 2))
    ctx.results["window_sum"] = (total, out)
    r.figure(fig, "one_output_pixel.png", t(lang, "fig.mech.window.caption"))
    r.text(t(lang, "A.mech.im2col"))
    fig, shape = mechanics.im2col_picture(red, (120, 100), 12, words)
    ctx.results["im2col_shape"] = shape
    r.figure(fig, "im2col_matrix.png", t(lang, "fig.mech.im2col.caption"))


def layer_table(rows, lang) -> str:
    """Every leaf module (each layer that computes), in the order they run: output shape, parameters, multiply-adds,
    and the im2col buffer in MiB (2**20 bytes). Numbers written for ``lang``."""
    head = t(lang, "table.head")
    widths = (28, 20, 13, 17, 12)
    lines = ["".join(f"{h:<{w}s}" if i < 2 else f"{h:>{w}s}" for i, (h, w) in enumerate(zip(head, widths)))]
    lines.append("-" * sum(widths))
    leaves = [row for row in rows if row.is_leaf]
    for row in leaves:
        cells = (
            f"{row.name} ({row.type})",
            str(list(row.output_shape)),
            number(lang, row.params) if row.params else "-",
            number(lang, row.macs) if row.macs else "-",
            f"{number(lang, row.im2col_bytes / 2**20, 1)} {'MiB' if lang == 'en' else 'Mio'}"
            if row.im2col_bytes
            else "-",
        )
        lines.append("".join(f"{c:<{w}s}" if i < 2 else f"{c:>{w}s}" for i, (c, w) in enumerate(zip(cells, widths))))
    lines.append("-" * sum(widths))
    params, macs = sum(row.params for row in rows), sum(row.macs for row in leaves)
    lines.append(t(lang, "table.total", params=number(lang, params), macs=number(lang, macs / 1e9, 1)))
    return "\n".join(lines)
