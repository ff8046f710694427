"""``minicnn demo``: Part II of the notebook, every step computed by minicnn, as figures, answers and a report.

    minicnn demo [--out DIR] [--image PATH] [--weights MODEL=NAME_OR_PATH] [--check] [--lang en|fr]

Sections as in the notebook: A. convolution layers and max pooling (the models printed, the convolution's
formula, a Gaussian blur, the Prewitt exercise, ReLU and pooling, the layer-30 question); B. first-layer
kernels before and after training; C. classification, dropout in training and eval mode, feature maps
through forward hooks. Each step shows its code cell (``snippets.py``), runs it (``Report.run``) and adds
its words (``text.py``, English and French) and figures (``figures.py``): ``section_a.py``, ``section_b.py``,
``section_c.py``. It uses the pretrained weights it finds in the torch hub cache and never downloads unless
``download=True``; where they are missing it says so and uses the trained EfficientNet-Lite0 instead (part C
never runs on random weights), and every figure names the weights that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from minicnn.demo.convolution import gaussian_kernel, load_image, prewitt_kernels

__all__ = ["gaussian_kernel", "load_image", "prewitt_kernels", "run"]


@dataclass
class Context:
    """What the steps share: options, the image, the weights found, the code cells' namespace, and the results."""

    lang: str
    image: Path
    passes: int
    checker: object
    epochs: int = 10  # of the digits CNN trained in B.3
    found: dict = field(default_factory=dict)  # {model name: pretrained.Found}
    ns: dict = field(default_factory=lambda: {"__name__": "__report__"})  # where the code cells run, as in a kernel
    results: dict = field(default_factory=dict)


def run(out_dir="minicnn-demo", image=None, weights=None, check=False, lang="en", quick=False, download=False,
        overwrite=False):  # fmt: skip
    """Run the walkthrough; write the figures and report.html into ``out_dir``; return the results.

    weights: {model name: weights name or checkpoint path} to use instead of what the cache holds.
    check: recompute every number with PyTorch (needs torch) and report the differences.
    quick: fewer repeated passes in the dropout step and fewer epochs in B.3 (for tests).
    overwrite: write into ``out_dir`` even if it holds files the demo did not write (refused otherwise).
    """
    import time

    from minicnn.demo.text import t

    if lang not in ("en", "fr"):
        raise ValueError(f"lang must be 'en' or 'fr', got {lang!r}")
    print(t(lang, "start"), flush=True)  # before the slow imports: say why a first run is slow
    start = time.perf_counter()

    from minicnn.data import imagenet_categories, sample_image_path
    from minicnn.demo import figures, pretrained
    from minicnn.demo.check import NoCheck, TorchCheck
    from minicnn.demo.report import Report, prepare_folder
    from minicnn.demo.section_a import section_a
    from minicnn.demo.section_b import section_b
    from minicnn.demo.section_c import section_c

    weights = dict(weights or {})
    out = Path(out_dir)
    prepare_folder(out, overwrite)
    ctx = Context(lang, Path(image) if image else sample_image_path(), 3 if quick else 5,
                  TorchCheck() if check else NoCheck())  # fmt: skip
    ctx.categories = imagenet_categories()
    ctx.epochs = 3 if quick else 10
    figures.pyplot()  # off-screen drawing, before a code cell imports matplotlib.pyplot
    r = Report(out, lang)
    r.text(t(lang, "intro", image=ctx.image.name))

    print(f"== {t(lang, 'loading')}", flush=True)
    for name in ("vgg16", "resnet50", "efficientnet_lite0"):
        found = pretrained.find(name, weights.get(name), download and name != "efficientnet_lite0")
        ctx.found[name] = found
        state = t(lang, "found.yes", name=found.name, path=found.path) if found.source else \
            t(lang, "found.no", path=found.expected)  # fmt: skip
        print("   " + t(lang, "console.found", model=name, state=state), flush=True)

    section_a(ctx, r)
    section_b(ctx, r)
    section_c(ctx, r)
    if not ctx.checker.enabled:
        r.text(t(lang, "check.none"))
    report = r.write_html(t(lang, "title"))
    print("\n" + t(lang, "done", report=report.resolve(), figures=", ".join(p.name for p in r.figures),
                   seconds=f"{time.perf_counter() - start:.1f}"))  # fmt: skip
    ctx.results.update(report=report, figures=[p.name for p in r.figures], checks=r.checks)
    return ctx.results
