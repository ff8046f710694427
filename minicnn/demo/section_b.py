"""Part B of the notebook: first-layer kernels before and after training, and the exercise's counts."""

from __future__ import annotations

from minicnn.demo import figures, pretrained
from minicnn.demo.snippets import code
from minicnn.demo.text import number, t


def section_b(ctx, r):
    lang, ns = ctx.lang, ctx.ns
    r.section(t(lang, "B"))
    with r.step(t(lang, "step.B1")):
        r.text(t(lang, "B.before"))
        r.run(code(lang, "kernels.before"), ns)
        kernels(ctx, r, "ResNet50", "resnet50_conv1_before.png", t(lang, "fig.before"), t(lang, "weights.random"))
    with r.step(t(lang, "step.B2")):
        resnet, effnet = ctx.found["resnet50"], ctx.found["efficientnet_lite0"]
        if resnet.source is not None:
            r.text(t(lang, "B.after"))
            r.run(code(lang, "kernels.resnet", weights=pretrained.argument(resnet)), ns)
            kernels(ctx, r, "ResNet50", "resnet50_conv1_after.png", t(lang, "fig.trained"),
                    pretrained.label(lang, "resnet50", resnet))  # fmt: skip
        elif effnet.source is not None:
            r.text(t(lang, "B.fallback", path=resnet.expected))
            r.run(code(lang, "kernels.effnet", weights=pretrained.argument(effnet)), ns)
            kernels(ctx, r, "EfficientNet-Lite0", "effnet_stem_trained.png", t(lang, "fig.trained"),
                    pretrained.label(lang, "efficientnet_lite0", effnet))  # fmt: skip
        else:
            r.text(t(lang, "B.fallback", path=resnet.expected) + " " + t(lang, "C.noclassify"))
        r.text(t(lang, "B.exercise"))
        r.run(code(lang, "count"), ns)
        weight = ns["weight"]  # ResNet50's conv1: (64, 3, 7, 7)
        n, c, k, _ = weight.shape
        ctx.results["resnet_conv1"] = (n, c * k * k, weight.size)
        r.answer(t(lang, "B.answer", neurons=n, c=c, k=k, per=c * k * k, total=number(lang, weight.size)))


def kernels(ctx, r, model, name, when, weights):
    """The figure of the first layer the last cell left in ``first_layer``."""
    lang, first = ctx.lang, ctx.ns["first_layer"]
    title = t(lang, "fig.kernels", model=model, weights=when)
    caption = t(lang, "fig.kernels.caption", model=model, shape=first.shape)
    r.figure(
        figures.kernel_grid(first, title, t(lang, "fig.weight")), name, caption, t(lang, "fig.weights", weights=weights)
    )
