"""Part C of the notebook on a trained network: the image classified, dropout made visible, feature maps.

VGG16 when its pretrained weights are here, as in the notebook; else the trained EfficientNet-Lite0 that
minicnn ships, never a network with random weights (its predictions and maps would mean nothing).
"""

from __future__ import annotations

import numpy as np

from minicnn.demo import figures, pretrained
from minicnn.demo.snippets import code
from minicnn.demo.text import number, percent, t

#: For each network: its name, the name of its weights, and the layers the hooks watch (labels, module paths).
NETWORKS = {
    "vgg": ("VGG16", "vgg16", ("features[0]", "features[10]", "features[17]", "features[28]"),
            ("features.0", "features.10", "features.17", "features.28")),
    "effnet": ("EfficientNet-Lite0", "efficientnet_lite0", ("_conv_stem", "_blocks[2]", "_blocks[4]", "_blocks[10]"),
               ("_conv_stem", "_blocks.2", "_blocks.4", "_blocks.10")),
}  # fmt: skip


def section_c(ctx, r):
    lang = ctx.lang
    r.section(t(lang, "C"))
    if ctx.found["vgg16"].source is not None:
        kind = "vgg"
    elif ctx.found["efficientnet_lite0"].source is not None:
        kind = "effnet"
    else:
        r.text(t(lang, "C.noclassify"))
        return
    with r.step(t(lang, "step.C1")):
        classify(ctx, r, kind)
    with r.step(t(lang, "step.C2")):
        dropout(ctx, r, kind)
    with r.step(t(lang, "step.C3")):
        feature_maps(ctx, r, kind)
    with r.step(t(lang, "step.C4")):
        grad_cam(ctx, r, kind)


def classify(ctx, r, kind):
    lang, ns = ctx.lang, ctx.ns
    name, weights_name, _, _ = NETWORKS[kind]
    found = ctx.found[weights_name]
    r.text(t(lang, f"C.classify.{kind}", weights=pretrained.label(lang, weights_name, found)))
    r.run(code(lang, f"classify.{kind}", weights=pretrained.argument(found)), ns)
    probs = ns["output"][0]  # (1000,)
    top = np.argsort(-probs)[:5]
    lines = [t(lang, "C.top5.line", rank=i + 1, name=ctx.categories[c], c=c, p=percent(lang, probs[c]))
             for i, c in enumerate(top)]  # fmt: skip
    r.text(t(lang, "C.top5"))
    r.output("\n".join(lines))
    ctx.results["top5"] = [ctx.categories[c] for c in top]
    fig = figures.probabilities(probs, top, lines, t(lang, "fig.proba", model=name), t(lang, "fig.class"),
                                t(lang, "fig.probability"))  # fmt: skip
    r.figure(fig, "probabilities.png", t(lang, "fig.proba.caption", model=name),
             t(lang, "fig.weights", weights=pretrained.label(lang, weights_name, found)))  # fmt: skip
    check_probabilities(ctx, r, kind, t(lang, "what.probs", model=name), probs)


def dropout(ctx, r, kind):
    """The same image through the network several times, dropout on, then off: only dropout changes."""
    lang, ns = ctx.lang, ctx.ns
    name = NETWORKS[kind][0]
    model = ns["model"]
    r.text(t(lang, "C.dropout", how=t(lang, f"C.dropout.{kind}")))
    training = []  # which modules are in training mode at each pass (watched, not changed, by this pre-hook)
    handle = model.register_forward_pre_hook(
        lambda module, args: training.append([n for n, m in module.named_modules() if m.training])
    )
    try:
        r.run(code(lang, f"dropout.{kind}", passes=ctx.passes), ns)
    finally:
        handle.remove()
    train, evals = ns["train_passes"], ns["eval_passes"]  # each a list of (1000,) probabilities

    def top3(p):
        return " · ".join(f"{ctx.categories[c]} {percent(lang, p[c])}" for c in np.argsort(-p)[:3])

    lines = [t(lang, "C.pass.train", i=i + 1, top=top3(p)) for i, p in enumerate(train)]
    lines += [t(lang, "C.pass.eval", i=i + 1, top=top3(p)) for i, p in enumerate(evals)]
    r.text(t(lang, "C.passes"))
    r.output("\n".join(lines))
    train_gap = max(float(np.abs(p - train[0]).max()) for p in train[1:])
    eval_gap = max(float(np.abs(p - evals[0]).max()) for p in evals[1:])
    winners = list(dict.fromkeys(ctx.categories[int(np.argmax(p))] for p in train))  # in order of appearance
    gaps = [number(lang, 100 * gap, 1 if gap >= 1e-3 else 3) if gap else "0" for gap in (train_gap, eval_gap)]
    r.answer(t(lang, "C.dropout.answer", winners=", ".join(winners), train=gaps[0], eval=gaps[1]))
    ctx.results.update(dropout=(train_gap, eval_gap), dropout_model=name, dropout_top1=winners,
                       dropout_training=training[0])  # fmt: skip
    check_probabilities(ctx, r, kind, t(lang, "what.dropout", model=name), evals[0])


def feature_maps(ctx, r, kind):
    """The notebook's forward hooks at four depths, the maps drawn, and what they show."""
    lang, ns = ctx.lang, ctx.ns
    name, weights_name, labels, paths = NETWORKS[kind]
    weights = pretrained.label(lang, weights_name, ctx.found[weights_name])
    r.text(t(lang, "C.maps", which=t(lang, f"C.maps.{kind}", weights=weights)))
    r.run(code(lang, f"hooks.{kind}"), ns)
    z = ns["z"]  # four (1, C, H, W) arrays, one per hooked layer
    r.text(t(lang, "C.maps.exercise"))
    r.run(code(lang, "maps"), ns)
    for label, fm in zip(labels, z):
        shape = fm.shape[1:]
        fig = figures.feature_grid(fm[0], t(lang, "fig.maps", model=name, layer=label, shape=shape),
                                   t(lang, "fig.channel", i="{i}"))  # fmt: skip
        r.figure(fig, f"feature_maps_{label.replace('[', '').replace(']', '')}.png",
                 t(lang, "fig.maps.caption", layer=label, shape=shape),
                 t(lang, "fig.weights", weights=weights))  # fmt: skip
    dead = [int((fm[0].reshape(fm.shape[1], -1) == 0).all(axis=1).sum()) for fm in z]  # channels zero everywhere
    counts = [
        t(lang, "C.dead.count", dead=d, channels=fm.shape[1], layer=label) for d, fm, label in zip(dead, z, labels)
    ]
    r.text(t(lang, "C.dead", counts=", ".join(counts)))
    r.text(t(lang, f"C.read.{kind}"))
    r.text(t(lang, "C.random"))
    if kind == "vgg":
        r.text(t(lang, "C.inplace"))
    ctx.results.update(feature_maps=[fm.shape for fm in z], dead_channels=dead, feature_maps_model=name)
    if kind == "vgg":
        ctx.checker.feature_maps(r, [t(lang, "what.maps", layer=label) for label in labels], ns["model"], ns["x"], z)
    else:
        whats = [t(lang, "what.maps", layer=label) for label in labels]
        ctx.checker.effnet_maps(r, whats, paths, ns["model"], ns["x"], z)


def grad_cam(ctx, r, kind):
    """Grad-CAM and EigenCAM of the predicted class, over the network's input."""
    from minicnn.explain import default_target_layer

    lang, ns = ctx.lang, ctx.ns
    name, weights_name, _, _ = NETWORKS[kind]
    layer = next(n for n, m in ns["model"].named_modules() if m is default_target_layer(ns["model"]))
    r.text(t(lang, "C.gradcam", model=name, layer=layer))
    r.run(code(lang, "gradcam"), ns)
    cam, eigen, c = ns["cam"], ns["eigen"], int(ns["c"][0])
    label = ctx.categories[c]
    fig = figures.cams(ns["rgb"], [cam, eigen], [t(lang, "fig.gradcam", name=label), t(lang, "fig.eigencam")])
    r.figure(fig, "grad_cam.png", t(lang, "fig.gradcam.caption", model=name),
             t(lang, "fig.weights", weights=pretrained.label(lang, weights_name, ctx.found[weights_name])))  # fmt: skip
    row, col = np.unravel_index(int(np.argmax(cam)), cam.shape)
    hottest = np.sort(cam.ravel())[::-1][: cam.size // 4].sum() / max(float(cam.sum()), 1e-12)
    ctx.results.update(grad_cam=(int(row), int(col)), grad_cam_layer=layer)
    r.answer(t(lang, "C.gradcam.answer", name=label, row=int(row), col=int(col), size=cam.shape[0],
               share=percent(lang, hottest, 0)))  # fmt: skip


def check_probabilities(ctx, r, kind, what, probs):
    if kind == "vgg":
        ctx.checker.model_output(r, what, "vgg16", ctx.ns["model"], ctx.ns["x"], probs)
    else:
        ctx.checker.effnet(r, what, ctx.ns["model"], ctx.ns["x"], probs)
