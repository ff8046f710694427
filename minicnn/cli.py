"""The command line: ``minicnn demo | classify | train | summary | weights`` (also ``python -m minicnn``).

A user's mistake (a missing image, an unknown model, a damaged checkpoint, no network) prints one line on
stderr, ``minicnn: error: ...``, and exits with status 2: no traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from minicnn._config import CONV_ALGORITHMS


class UserError(Exception):
    """A mistake in what the user asked for: reported as one line, without a traceback."""


def open_image(path):
    """The image at ``path`` as an upright RGB PIL image (minicnn/images.py), or a UserError saying why not."""
    from minicnn.images import ImageError, open_rgb

    try:
        return open_rgb(path)
    except ImageError as e:
        raise UserError(str(e)) from None


def _resolve(model_name, weights):
    from minicnn.models import MODELS, resolve_weights

    if model_name not in MODELS:
        raise UserError(f"unknown model {model_name!r}; choose one of: {', '.join(MODELS)}")
    try:
        return resolve_weights(model_name, weights)
    except (ValueError, FileNotFoundError) as e:
        raise UserError(str(e)) from None


def _load_model(model_name, source, download=None):
    from minicnn.models import MODELS

    what = "random initialisation" if source is None else getattr(source, "name", None) or str(source)
    print(f"minicnn: loading {model_name} ({what})", file=sys.stderr, flush=True)
    return MODELS[model_name](weights=source, download=download).eval()


def _preprocess(source, model_name):
    """The preprocessing of the named weights, or of the model's DEFAULT weights for a checkpoint file."""
    from minicnn.models import WEIGHTS, WeightsEnum

    weights = source if isinstance(source, WeightsEnum) else WEIGHTS[model_name].DEFAULT
    return weights.transforms(), weights.meta["categories"]


def cmd_classify(args) -> int:
    import numpy as np

    import minicnn
    import minicnn.functional as F
    from minicnn.data import sample_image_path
    from minicnn.functional import _autotune

    source = _resolve(args.model, args.weights)
    images = args.images or [str(sample_image_path())]
    pictures = [open_image(p) for p in images]  # every image checked before the model loads
    model = _load_model(args.model, source, download=False if args.offline else None)
    if not args.check:  # --check compares every module's own output: the eager model has them all
        minicnn.optimize(model, algorithm=args.algorithm)
    preprocess, categories = _preprocess(source, args.model)
    label = getattr(source, "name", None) or Path(str(source)).name
    measuring = _MeasuringProgress()
    for path, picture in zip(images, pictures):
        x = preprocess(picture)[None]  # (1, 3, 224, 224)
        with minicnn.conv_algorithm(args.algorithm), _autotune.reporting(measuring.layer):  # (conv_algorithm: --check)
            logits = model(x)
        measuring.close()
        probs = F.softmax(logits, dim=1)[0]
        print(f"{path}  ({args.model}, {label} weights)")
        for rank, c in enumerate(np.argsort(-logits[0], kind="stable")[: args.topk], 1):  # by logit: no ties at 0%
            print(f"  {rank}. {categories[c]:<32s} {100 * probs[c]:6.2f}%")
        if args.check:
            _check_against_torch(model, args.model, source, x)
    return 0


class _MeasuringProgress:
    """Progress on stderr while ``--algorithm auto`` measures each layer shape it has not seen before (compiling
    kernels the first time): one line rewritten in place on a terminal, else a line when it starts and when it ends."""

    def __init__(self):
        self.count, self.t0, self.tty = 0, 0.0, sys.stderr.isatty()

    def layer(self, description):
        if self.count == 0:
            self.t0 = time.monotonic()
        self.count += 1
        if self.tty:
            sys.stderr.write(f"\rminicnn: auto: measuring layer shape {self.count} ({description})\x1b[K")
        elif self.count == 1:
            sys.stderr.write("minicnn: auto: measuring the conv algorithms of each new layer shape (compiling the "
                             "first time; remembered for the next runs)\n")  # fmt: skip
        sys.stderr.flush()

    def close(self):
        """The summary line, if anything was measured since the last one."""
        from minicnn.functional import _autotune

        if self.count:
            seconds, where = time.monotonic() - self.t0, _autotune.cache_file()
            line = f"minicnn: auto measured {self.count} layer shapes in {seconds:.1f} s (remembered in {where})"
            sys.stderr.write(f"\r{line}\x1b[K\n" if self.tty else f"{line}\n")
            sys.stderr.flush()
        self.count = 0


def _check_against_torch(model, model_name, source, x):
    """Run torchvision on the same weights and input; print each module's normalized error."""
    try:
        from reference.compare import module_errors, reference_outputs
    except ImportError:
        raise UserError("--check needs torch and torchvision: pip install 'minicnn[reference]'") from None
    from minicnn.numerics import tolerance
    from minicnn.summary import record_outputs as minicnn_outputs

    ours = minicnn_outputs(model, x)
    rows = module_errors(ours, reference_outputs(model_name, model, x))
    worst, limit = max(err for _, _, err in rows), tolerance(x.dtype, "model")
    print(f"  check against torchvision (float64), per module; tolerance {limit:.0e}:")
    for name, shape, err in rows:
        flag = "" if err <= limit else "  TOO LARGE"
        print(f"    {name or '(model)':<24s} {str(shape):<22s} {err:.2e}{flag}")
    print(f"  worst normalized error {worst:.2e}: {'OK' if worst <= limit else 'FAILED'}")


def parse_shape(text: str) -> tuple[int, ...]:
    """'3x256x256' -> (3, 256, 256)."""
    try:
        shape = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise UserError(f"--input must look like 3x224x224 (channels x height x width), got {text!r}")
    return shape


def cmd_summary(args) -> int:
    from minicnn.models import MODELS
    from minicnn.nn import init
    from minicnn.summary import format_summary, summarize

    if args.model not in MODELS:
        raise UserError(f"unknown model {args.model!r}; choose one of: {', '.join(MODELS)}")
    if args.batch < 1:
        raise UserError(f"--batch must be at least 1, got {args.batch}")
    shape = parse_shape(args.input)
    with init.no_init():  # the table does not depend on the weights' values
        model = MODELS[args.model]()
    try:
        rows = summarize(model, shape, batch_size=args.batch)
    except ValueError as e:
        raise UserError(f"{args.model} cannot take a {args.input} input: {e}") from None
    print(format_summary(rows, args.model, (args.batch, *shape), args.depth))
    return 0


def cmd_weights(args) -> int:
    from minicnn import hub
    from minicnn.models import WEIGHTS

    if args.model not in (None, "all") and args.model not in WEIGHTS:
        raise UserError(f"unknown model {args.model!r}; choose one of: {', '.join(WEIGHTS)}")
    chosen = []
    for model_name, enum_cls in WEIGHTS.items():
        if args.model in (None, "all", model_name):
            try:  # iterating an Enum skips the DEFAULT alias
                members = list(enum_cls) if args.weights is None else [enum_cls.verify(args.weights)]
            except ValueError as e:
                raise UserError(str(e)) from None
            chosen += [(model_name, m.name, m) for m in members]
    for model_name, name, member in chosen:
        try:
            path = member.path()
        except FileNotFoundError as e:  # packaged weights whose package is not installed
            if args.action != "list":
                raise UserError(str(e)) from None
            print(f"{model_name:<9s} {name:<24s} not installed: pip install {member.value.install}")
            continue
        default = " (DEFAULT)" if member is WEIGHTS[model_name].DEFAULT else ""
        if args.action == "path":
            print(path)
        elif args.action == "list":
            state = f"cached, {path.stat().st_size / 2**20:.1f} MB" if path.is_file() else "not cached"
            source = f"pip install {member.value.install}" if member.value.package else member.url
            print(f"{model_name:<9s} {name + default:<24s} {state:<20s} {path}\n{'':<9s} {source}")
        elif args.action == "download":
            if hub.settings.offline():
                raise UserError("MINICNN_OFFLINE is set: downloads are off; unset it to download")
            try:
                member.get_path(download=True)
            except hub.DownloadError as e:
                raise UserError(str(e)) from None
            print(f"{model_name} {name}: {path}")
        elif args.action == "verify":
            if not path.is_file():
                print(f"{model_name} {name}: not cached ({path})")
                continue
            digest, prefix = hub.sha256_of(path), hub.hash_prefix_of(path.name)
            if prefix and not digest.startswith(prefix):
                raise UserError(f"{path} is damaged: its SHA-256 starts with {digest[:8]}, not {prefix}; delete it")
            print(f"{model_name} {name}: OK ({path}, SHA-256 {digest[:12]}...)")
    return 0


def cmd_demo(args) -> int:
    from minicnn import demo
    from minicnn.models import MODELS

    if args.image is not None:
        open_image(args.image)
    weights = {}
    for item in args.weights:
        model_name, sep, source = item.partition("=")
        if not sep or model_name not in MODELS:
            raise UserError(f"--weights takes MODEL=NAME_OR_PATH with MODEL one of {', '.join(MODELS)}, got {item!r}")
        _resolve(model_name, source)  # a clear error now rather than halfway through
        weights[model_name] = source
    try:
        demo.run(out_dir=Path(args.out), image=args.image, weights=weights, check=args.check, lang=args.lang,
                 quick=args.quick, download=args.download, overwrite=args.overwrite)  # fmt: skip
    except ImportError as e:
        raise UserError(str(e)) from None
    return 0


def cmd_train(args) -> int:
    import numpy as np

    from minicnn import training

    if args.epochs < 1:
        raise UserError(f"--epochs must be at least 1, got {args.epochs}")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    model = training.digits_cnn(generator=np.random.default_rng(args.seed))
    before = np.array(model[0].weight, copy=True)  # the first layer's 3x3 kernels, random
    print(f"minicnn: training {sum(p.size for p in model.parameters()):,} parameters on {args.dataset} "
          f"({args.epochs} epochs, seed {args.seed})", file=sys.stderr, flush=True)  # fmt: skip
    model, history = training.train_digits(model, epochs=args.epochs, seed=args.seed, compiled=not args.numpy)
    for path in training.save_figures(out, history, before, np.asarray(model[0].weight)):
        print(f"minicnn: wrote {path}", file=sys.stderr)
    print(f"test accuracy: {100 * history['test_accuracy'][-1]:.1f}% ({history['test_size']} images)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minicnn", description="CNN inference in NumPy, checked against PyTorch.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="the notebook's walkthrough on the shipped cat photo (or --image)")
    p.add_argument("--out", default="minicnn-demo", help="folder for the figures (default: minicnn-demo)")
    p.add_argument("--overwrite", action="store_true", help="write into --out even if it holds other files")
    p.add_argument("--image", default=None, help="an image file (default: the shipped photo of a cat)")
    p.add_argument(
        "--weights",
        action="append",
        default=[],
        metavar="MODEL=SOURCE",
        help="weights to use, e.g. vgg16=/path/vgg16.pth or resnet50=IMAGENET1K_V1 (repeatable)",
    )
    p.add_argument("--check", action="store_true", help="recompute every number with PyTorch (needs torch)")
    p.add_argument("--lang", choices=["en", "fr"], default="en", help="the report's language (default en)")
    p.add_argument("--download", action="store_true", help="download missing pretrained weights (528 MB for VGG16)")
    p.add_argument("--quick", action="store_true", help="fewer repeated passes (for tests)")
    p.set_defaults(run=cmd_demo)

    p = sub.add_parser("classify", help="top-k ImageNet classes of images")
    p.add_argument("images", nargs="*", metavar="IMAGE", help="image files (default: the shipped photo of a cat)")
    p.add_argument("--model", default="vgg16", help="vgg16 (default), resnet50 or efficientnet_lite0")
    p.add_argument("--weights", default="DEFAULT", help="DEFAULT, a weights name (IMAGENET1K_V1...) or a checkpoint")
    p.add_argument("--topk", type=int, default=5, help="how many classes to show (default 5)")
    p.add_argument("--algorithm", default="default", choices=CONV_ALGORITHMS,
                   help="conv2d kernels of the optimized model (minicnn.optimize): default, the fixed NumPy rule "
                   "(nothing to compile or time: best for a few images); auto measures and compiles, which pays "
                   "off on batches; or one algorithm")  # fmt: skip
    p.add_argument("--check", action="store_true", help="compare every layer with torchvision (needs torch)")
    p.add_argument("--offline", action="store_true", help="never download weights (also: MINICNN_OFFLINE=1)")
    p.set_defaults(run=cmd_classify)

    p = sub.add_parser("train", help="train a small CNN on the shipped handwritten digits, with figures")
    p.add_argument("dataset", choices=["digits"], help="digits: 1,797 8x8 images (UCI optdigits), shipped")
    p.add_argument("--epochs", type=int, default=30, help="passes over the training images (default 30)")
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights and of the batch order")
    p.add_argument("--out", default="minicnn-train", help="folder for the figures (default: minicnn-train)")
    p.add_argument("--numpy", action="store_true", help="the readable NumPy kernels only (default: minicnn.compiled())")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("summary", help="a model's layer table: output shapes, parameters, work, im2col memory")
    p.add_argument("model", metavar="MODEL", help="vgg16, resnet50 or efficientnet_lite0")
    p.add_argument("--input", default="3x224x224", help="input size CxHxW (default 3x224x224)")
    p.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    p.add_argument("--depth", type=int, default=None, help="show layers down to this nesting depth")
    p.set_defaults(run=cmd_summary)

    p = sub.add_parser("weights", help="pretrained weights: list, path, download, verify")
    p.add_argument("action", choices=["list", "path", "download", "verify"])
    p.add_argument("model", nargs="?", default=None, help="vgg16, resnet50, efficientnet_lite0 or all (default)")
    p.add_argument("--weights", default=None, help="a weights name (default: all of them; DEFAULT for path)")
    p.set_defaults(run=cmd_weights)
    return parser


def main(argv=None) -> int:
    from minicnn.checkpoint import CheckpointError

    args = build_parser().parse_args(argv)
    if args.command == "weights" and args.action in ("path", "download") and args.weights is None:
        args.weights = "DEFAULT"
    if args.command == "classify" and args.topk < 1:
        print("minicnn: error: --topk must be at least 1", file=sys.stderr)
        return 2
    try:
        return args.run(args)
    except (UserError, CheckpointError, OSError) as e:  # (a DownloadError is an OSError)
        message = str(e) if not isinstance(e, FileNotFoundError) or not e.filename else f"file not found: {e.filename}"
        print(f"minicnn: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minicnn: interrupted", file=sys.stderr)
        return 130
