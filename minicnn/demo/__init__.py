"""``minicnn demo``: Part II of the notebook, every step computed by minicnn, as figures, answers and a report.

    minicnn demo [--out DIR] [--image PATH] [--weights MODEL=NAME_OR_PATH] [--check] [--lang en|fr]

Sections as in the notebook: A. convolution layers and max pooling (the models printed, a Gaussian blur, the
Prewitt exercise, ReLU and pooling, the layer-30 question); B. ResNet50's first-layer kernels before and after
training; C. classification, dropout against eval mode, feature maps through forward hooks. It uses the
pretrained weights it finds in the torch hub cache and never downloads unless ``download=True``; where
they are missing it says so, uses the trained EfficientNet-Lite0 or random weights instead, and every figure
names the weights that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from minicnn.demo.convolution import gaussian_kernel, load_image, prewitt_kernels

__all__ = ["gaussian_kernel", "load_image", "prewitt_kernels", "run"]


@dataclass
class Context:
    """What the steps share: options, the image, the models and what was found, and the results."""

    lang: str
    image: Path
    passes: int
    checker: object
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    results: dict = field(default_factory=dict)


def run(out_dir="minicnn-demo", image=None, weights=None, check=False, lang="en", quick=False, download=False,
        overwrite=False):  # fmt: skip
    """Run the walkthrough; write the figures and report.html into ``out_dir``; return the results.

    weights: {model name: weights name or checkpoint path} to use instead of what the cache holds.
    check: recompute every number with PyTorch (needs torch) and report the differences.
    quick: fewer repeated passes in the dropout step (for tests).
    overwrite: write into ``out_dir`` even if it holds files the demo did not write (refused otherwise).
    """
    import time

    from minicnn import models
    from minicnn.data import imagenet_categories, sample_image_path
    from minicnn.demo import pretrained, sections
    from minicnn.demo.check import NoCheck, TorchCheck
    from minicnn.demo.report import Report, prepare_folder
    from minicnn.demo.text import t

    if lang not in ("en", "fr"):
        raise ValueError(f"lang must be 'en' or 'fr', got {lang!r}")
    start = time.perf_counter()
    weights = dict(weights or {})
    out = Path(out_dir)
    prepare_folder(out, overwrite)
    ctx = Context(lang, Path(image) if image else sample_image_path(), 2 if quick else 3,
                  TorchCheck() if check else NoCheck())  # fmt: skip
    ctx.categories = imagenet_categories()
    r = Report(out, lang)
    r.text(t(lang, "intro", image=ctx.image.name))

    print("== Loading the models (pretrained weights from the torch hub cache when present)", flush=True)
    ctx.vgg16_found = pretrained.find("vgg16", weights.get("vgg16"), download)
    ctx.vgg16 = models.vgg16(weights=ctx.vgg16_found.source, generator=0)
    ctx.resnet50_found = pretrained.find("resnet50", weights.get("resnet50"), download)
    ctx.resnet50_fresh = models.resnet50(generator=0)
    effnet_found = pretrained.find("efficientnet_lite0", weights.get("efficientnet_lite0"))
    ctx.effnet = models.efficientnet_lite0(weights=effnet_found.source).eval() if effnet_found.source else None
    for name, found in (
        ("vgg16", ctx.vgg16_found),
        ("resnet50", ctx.resnet50_found),
        ("efficientnet_lite0", effnet_found),
    ):
        state = f"{found.name} ({found.path})" if found.source else f"not found (expected at {found.expected})"
        print(f"   {name}: {state}", flush=True)

    sections.section_a(ctx, r)
    sections.section_b(ctx, r)
    sections.section_c(ctx, r)
    if not ctx.checker.enabled:
        r.text(t(lang, "check.none"))
    report = r.write_html(t(lang, "title"))
    print(f"\nReport: {report.resolve()}\nFigures: {', '.join(p.name for p in r.figures)}")
    print(f"({time.perf_counter() - start:.1f} s)")
    ctx.results.update(report=report, figures=[p.name for p in r.figures], checks=r.checks)
    return ctx.results
