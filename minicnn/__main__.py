"""The command line: ``minicnn COMMAND ...`` or ``python -m minicnn COMMAND ...``.

A user's mistake (a missing image, say) prints one line on stderr and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import sys


class UserError(Exception):
    """A mistake in what the user asked for: reported as one line, without a traceback."""


def _demo(args) -> int:
    from pathlib import Path

    from minicnn import demo

    if args.image is not None:
        _check_image(args.image)
    demo.run(out_dir=Path(args.out), image=args.image)
    return 0


def _check_image(path) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.verify()
    except FileNotFoundError:
        raise UserError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError) as e:
        raise UserError(f"cannot read {path} as an image: {e}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minicnn", description="CNN inference in NumPy, checked against PyTorch.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = sub.add_parser("demo", help="the notebook's walkthrough on the shipped cat photo (or --image)")
    demo.add_argument("--out", default="minicnn-demo", help="folder for the figures (default: minicnn-demo)")
    demo.add_argument("--image", default=None, help="an image file (default: the shipped photo of a cat)")
    demo.set_defaults(run=_demo)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UserError as e:
        print(f"minicnn: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minicnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
