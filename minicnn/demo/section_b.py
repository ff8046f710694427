"""Part B of the notebook: first-layer kernels before and after training, and the exercise's counts; then minicnn
training a network itself (B.3) and learning the Prewitt kernel by gradient descent (B.4)."""

from __future__ import annotations

import numpy as np

from minicnn.demo import figures, pretrained
from minicnn.demo.snippets import code
from minicnn.demo.text import number, percent, scientific, t


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
    with r.step(t(lang, "step.B3")):
        train(ctx, r)
    with r.step(t(lang, "step.B4")):
        learn_prewitt(ctx, r)


def train(ctx, r):
    """The digits CNN trained in a code cell; its first layer before and after, on one scale."""
    from minicnn.training import kernel_figure

    lang, ns = ctx.lang, ctx.ns
    r.text(t(lang, "B.train"))
    r.run(code(lang, "train.digits", epochs=ctx.epochs), ns)
    fig = kernel_figure(ns["before"], np.asarray(ns["after"]), (t(lang, "fig.digits.random"), t(lang, "fig.trained")))
    fig.suptitle(t(lang, "fig.digits"), y=1.0)
    r.figure(fig, "digits_kernels_before_after.png", t(lang, "fig.digits.caption"),
             t(lang, "fig.weights", weights=t(lang, "weights.digits")))  # fmt: skip
    accuracy = float(ns["accuracy"])
    ctx.results["digits_accuracy"] = accuracy
    r.answer(t(lang, "B.train.answer", epochs=ctx.epochs, accuracy=percent(lang, accuracy, 1),
               n=len(ns["y_test"]), chance=percent(lang, 0.1, 0)))  # fmt: skip


def learn_prewitt(ctx, r):
    """A 3x3 kernel learned from (image, Prewitt-filtered image): the loss curve and the kernel converging."""
    lang, ns = ctx.lang, ctx.ns
    r.text(t(lang, "B.learn"))
    r.run(code(lang, "learn.prewitt"), ns)
    losses, snapshots = ns["losses"], ns["snapshots"]
    error = float(np.abs(np.asarray(ns["w"])[0, 0] - ns["prewitt"][0, 0]).max())
    ctx.results["prewitt_learned_error"] = error
    fig = figures.learning(losses, snapshots, t(lang, "fig.learn.title"), t(lang, "fig.learn.loss"),
                           t(lang, "fig.learn.step"), t(lang, "fig.learn.kernel", step="{step}"))  # fmt: skip
    r.figure(fig, "prewitt_learned.png", t(lang, "fig.learn.caption"))
    r.answer(t(lang, "B.learn.answer", start=scientific(lang, losses[0]), end=scientific(lang, losses[-1]),
               error=number(lang, error, 3)))  # fmt: skip


def kernels(ctx, r, model, name, when, weights):
    """The figure of the first layer the last cell left in ``first_layer``."""
    lang, first = ctx.lang, ctx.ns["first_layer"]
    title = t(lang, "fig.kernels", model=model, weights=when)
    caption = t(lang, "fig.kernels.caption", model=model, shape=first.shape)
    r.figure(
        figures.kernel_grid(first, title, t(lang, "fig.weight")), name, caption, t(lang, "fig.weights", weights=weights)
    )
