"""The three sections of the notebook's Part II, each step computed by minicnn and added to the report."""

from __future__ import annotations

import numpy as np

import minicnn
import minicnn.functional as F
from minicnn import models
from minicnn.demo import figures
from minicnn.demo.convolution import gaussian_kernel, load_image, prewitt_kernels
from minicnn.demo.text import t
from minicnn.summary import format_summary, summarize

IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def weights_label(ctx, found, model_name):
    if found.source is None:
        return f"{model_name}: " + t(ctx.lang, "weights.random", path=found.expected)
    return f"{model_name}: " + t(ctx.lang, "weights.file", name=found.name, path=found.path)


def section_a(ctx, r):
    """Models printed, the Gaussian blur, the Prewitt exercise, ReLU and max pooling, the layer-30 question."""
    lang = ctx.lang
    r.section(t(lang, "A"))
    with r.step(t(lang, "step.A1")):
        r.text(t(lang, "A.models"))
        r.code("model = models.vgg16()\nprint(model)\nmodel = models.resnet50()\nprint(model)")
        for model in (ctx.vgg16, ctx.resnet50_fresh):
            text = repr(model)
            r.output(text, echo=False)
            lines = text.splitlines()
            print("   " + "\n   ".join(lines[:8]) + f"\n   ... ({len(lines)} lines, all in the report)")
    with r.step(t(lang, "step.A2", name=ctx.image.name)):
        r.text(t(lang, "A.image"))
        img = load_image(ctx.image)[None]  # (1, 3, 256, 256)
        ctx.img = img
        r.output(f"img.shape = {img.shape}, dtype {img.dtype}, values in [{img.min():.3f}, {img.max():.3f}]")
        r.figure(figures.rgb(img[0], f"{ctx.image.name}, 256x256"), "image.png", ctx.image.name, "--")
    with r.step(t(lang, "step.A3")):
        r.text(t(lang, "A.gauss"))
        r.code("kernel = np.tile(gaussian_kernel(), (1, 3, 1, 1))   # kernel.repeat(1, 3, 1, 1)\n"
               "output = F.conv2d(img, kernel)")  # fmt: skip
        g = gaussian_kernel()
        kernel = np.tile(g, (1, 3, 1, 1))  # (1, 3, 20, 20)
        blurred = F.conv2d(img, kernel)  # (1, 1, 237, 237)
        r.output(f"kernel.shape = {kernel.shape}\noutput.shape = {blurred.shape}")
        r.figure(figures.gray(g, "Gaussian kernel 20x20"), "gaussian_kernel.png", "Gaussian kernel (20x20)", "--")
        r.figure(figures.gray(blurred[0, 0], f"conv2d(img, kernel): {blurred.shape}"), "cat_blurred.png",
                 f"conv2d with the Gaussian kernel: {blurred.shape}", "--")  # fmt: skip
        ctx.results["blurred_shape"] = blurred.shape
        ctx.checker.conv(r, "Gaussian blur (conv2d)", img, kernel, blurred)
    with r.step(t(lang, "step.A4")):
        r.text(t(lang, "A.prewitt"))
        k1, k2 = prewitt_kernels()
        r.code("kernel1 = np.tile([[-1., 0., 1.]] * 3, (1, 3, 1, 1))\nkernel2 = kernel1.transpose(0, 1, 3, 2)\n"
               "output1, output2 = F.conv2d(img, kernel1), F.conv2d(img, kernel2)\n"
               "output = np.sqrt(output1**2 + output2**2)")  # fmt: skip
        out1, out2 = F.conv2d(img, k1), F.conv2d(img, k2)
        magnitude = np.sqrt(out1**2 + out2**2)  # (1, 1, 254, 254)
        r.output(f"output.shape = {magnitude.shape}, max {magnitude.max():.3f}")
        r.figure(figures.panels([out1[0, 0], out2[0, 0], magnitude[0, 0]], ["horizontal", "vertical", "magnitude"]),
                 "cat_prewitt.png", "Prewitt: horizontal gradient, vertical gradient, magnitude", "--")  # fmt: skip
        ctx.results["prewitt_shape"] = magnitude.shape
        ctx.checker.conv(r, "Prewitt, horizontal (conv2d)", img, k1, out1)
        ctx.checker.conv(r, "Prewitt, vertical (conv2d)", img, k2, out2)
    with r.step(t(lang, "step.A5")):
        r.text(t(lang, "A.relu"))
        x = ctx.rng.random((1, 1, 4, 4), dtype=np.float32) - 0.5
        r.code("x = np.random.rand(1, 1, 4, 4) - 0.5\nprint(F.relu(x))\nprint(F.max_pool2d(x, kernel_size=2))")
        with np.printoptions(precision=4, suppress=True):
            pooled = F.max_pool2d(x, kernel_size=2)
            r.output(f"x =\n{x}\nrelu(x) =\n{F.relu(x)}\nmax_pool2d(x, kernel_size=2) =\n{pooled}")
        ctx.results["pooled_shape"] = pooled.shape
        ctx.checker.op(r, "relu", F.relu(x), x)
        ctx.checker.op(r, "max_pool2d", pooled, x, kernel_size=2)
    with r.step(t(lang, "step.A6")):
        r.text(t(lang, "A.table"))
        rows = summarize(ctx.vgg16, (3, 256, 256))
        r.output(format_summary([rows[0]] + [row for row in rows[1:] if row.depth == 2], "vgg16", (1, 3, 256, 256)),
                 echo=False)  # fmt: skip
        row = next(row for row in rows if row.name == "features.30")
        out = "x".join(map(str, row.output_shape[1:]))
        ctx.results["layer30"] = row.output_shape[1:]
        r.answer(t(lang, "A.answer", type=row.type, out=out, inp="3x256x256", factor=256 // row.output_shape[-1],
                   channels=row.output_shape[1]))  # fmt: skip


def section_b(ctx, r):
    """ResNet50's first-layer kernels before and after training, and the exercise's counts."""
    lang = ctx.lang
    r.section(t(lang, "B"))
    with r.step(t(lang, "step.B1")):
        r.text(t(lang, "B.before"))
        first = ctx.resnet50_fresh.conv1.weight  # (64, 3, 7, 7)
        r.code("model = models.resnet50()\nfirst_layer = model.conv1.weight\nprint(first_layer.shape)")
        r.output(f"first_layer.shape = {first.shape}")
        r.figure(figures.kernel_grid(first, "ResNet50 conv1, before training"), "resnet50_conv1_before.png",
                 "ResNet50 conv1 (channel 0 of each kernel), before training",
                 t(lang, "fig.weights", weights=t(lang, "weights.fresh")))  # fmt: skip
    with r.step(t(lang, "step.B2")):
        found = ctx.resnet50_found
        if found.source is not None:
            r.text(t(lang, "B.after"))
            trained = models.resnet50(weights=found.source).conv1.weight
            title, name, label = (
                "ResNet50 conv1, trained",
                "resnet50_conv1_after.png",
                weights_label(ctx, found, "resnet50"),
            )
        elif ctx.effnet is not None:
            r.text(t(lang, "B.fallback", path=found.expected))
            trained = ctx.effnet._conv_stem.weight  # (32, 3, 3, 3)
            title, name, label = (
                "EfficientNet-Lite0 stem, trained",
                "effnet_stem_trained.png",
                t(lang, "weights.effnet"),
            )
        else:
            trained = None
            r.text(t(lang, "B.fallback", path=found.expected) + " " + t(lang, "C.noclassify"))
        if trained is not None:
            r.figure(figures.kernel_grid(trained, title), name, title + " (channel 0 of each kernel)",
                     t(lang, "fig.weights", weights=label))  # fmt: skip
    n, c, k, _ = first.shape
    ctx.results["resnet_conv1"] = (n, c * k * k, first.size)
    r.answer(t(lang, "B.answer", neurons=n, c=c, k=k, per=c * k * k, total=first.size))


def section_c(ctx, r):
    """The image classified, dropout made visible, feature maps through forward hooks."""
    lang = ctx.lang
    r.section(t(lang, "C"))
    with r.step(t(lang, "step.C1")):
        classify(ctx, r)
    with r.step(t(lang, "step.C2")):
        r.text(t(lang, "C.dropout"))
        x = normalized_image(ctx)
        vgg = ctx.vgg16.train()
        lines, outs = [], {}
        for mode in ("train", "eval"):
            vgg.train(mode == "train")
            outs[mode] = [F.softmax(vgg(x), dim=1)[0] for _ in range(ctx.passes)]
            for i, p in enumerate(outs[mode]):
                c = int(np.argmax(p))
                lines.append(f"{mode:5s} pass {i + 1}: class {c} ({ctx.categories[c]}), p = {p[c]:.6f}, "
                             f"p[0..2] = {np.array2string(p[:3], precision=6)}")  # fmt: skip
        train_diff = max(np.abs(a - outs["train"][0]).max() for a in outs["train"][1:])
        eval_diff = max(np.abs(a - outs["eval"][0]).max() for a in outs["eval"][1:])
        lines.append(f"largest difference between passes: train {train_diff:.3e}, eval {eval_diff:.3e}")
        r.code("model.train()   # the default: dropout active\nmodel(img); model(img)\n"
               "model.eval()    # dropout off\nmodel(img); model(img)")  # fmt: skip
        r.output("\n".join(lines))
        ctx.results["dropout"] = (train_diff, eval_diff)
        r.answer(f"train: {train_diff:.3e} > 0, eval: {eval_diff:.3e} = 0")
        ctx.checker.model_output(r, "VGG16 eval-mode probabilities", "vgg16", ctx.vgg16, x, outs["eval"][0])
    with r.step(t(lang, "step.C3")):
        r.text(t(lang, "C.maps"))
        r.code("z = []\ndef store_layer_output(model, input, output):\n    z.append(output)\n\n"
               "for i in (0, 10, 17, 28):\n    model.features[i].register_forward_hook(store_layer_output)\n"
               "output = model(img)")  # fmt: skip
        z = []
        handles = [ctx.vgg16.features[i].register_forward_hook(lambda m, i, o: z.append(o)) for i in (0, 10, 17, 28)]
        ctx.vgg16.eval()(x)
        for h in handles:
            h.remove()
        r.output("\n".join(f"z[{i}].shape = {fm.shape}" for i, fm in enumerate(z)))
        label = t(lang, "fig.weights", weights=weights_label(ctx, ctx.vgg16_found, "vgg16"))
        for layer, fm in zip((0, 10, 17, 28), z):
            kind = "pretrained" if ctx.vgg16_found.source is not None else "random weights"
            r.figure(figures.feature_grid(fm[0], f"VGG16 features[{layer}]: {fm.shape[1:]} ({kind})"),
                     f"feature_maps_layer{layer}.png", f"features[{layer}] {fm.shape[1:]}", label)  # fmt: skip
        ctx.results["feature_maps"] = [fm.shape for fm in z]
        r.text(t(lang, "C.inplace"))
        ctx.checker.feature_maps(r, ctx.vgg16, x, z)


def normalized_image(ctx):
    """The notebook's classification input: the 256x256 image, normalized with ImageNet's mean and std."""
    from minicnn.transforms import Normalize

    return Normalize(IMAGENET_MEAN, IMAGENET_STD)(ctx.img[0])[None]


def classify(ctx, r):
    lang = ctx.lang
    if ctx.vgg16_found.source is not None:
        model, name, x = ctx.vgg16.eval(), "VGG16", normalized_image(ctx)
        label = weights_label(ctx, ctx.vgg16_found, "vgg16")
    elif ctx.effnet is not None:
        from minicnn.images import open_rgb

        model, name, label = ctx.effnet, "EfficientNet-Lite0", t(lang, "weights.effnet")
        x = models.EfficientNetLite0_Weights.DEFAULT.transforms()(open_rgb(ctx.image))[None]
    else:
        r.text(t(lang, "C.noclassify"))
        return
    r.text(t(lang, "C.classify", model=name, weights=label))
    r.code(
        "model.eval()\nminicnn.optimize(model)  # minicnn's addition: the same numbers, faster\n"
        "output = F.softmax(model(img), dim=1)\nc = output.argmax(axis=1)\nplt.plot(output[0])"
    )
    minicnn.optimize(model, algorithm="default")  # folded, fused, channels-last; nothing compiled or timed
    try:
        probs = F.softmax(model(x), dim=1)[0]
    finally:
        minicnn.optimize.unfreeze(model)  # the next sections hook and edit the eager model
    top = np.argsort(-probs)[:5]
    r.output(
        "\n".join(f"{i + 1}. {ctx.categories[c]:<28s} {100 * probs[c]:6.2f}%  (class {c})" for i, c in enumerate(top))
    )
    ctx.results["top5"] = [ctx.categories[c] for c in top]
    r.figure(figures.probabilities(probs, top, ctx.categories, f"{name}: class probabilities"), "probabilities.png",
             f"{name}: the probability of each of the 1000 classes", t(lang, "fig.weights", weights=label))  # fmt: skip
    if name == "VGG16":
        ctx.checker.model_output(r, "VGG16 class probabilities", "vgg16", ctx.vgg16, x, probs)
    else:
        ctx.checker.effnet(r, ctx.effnet, x, probs)
