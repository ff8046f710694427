"""Data shipped with minicnn: the sample photo, the ImageNet class names and the handwritten digits (see CREDITS.md)."""

from __future__ import annotations

import functools
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent


def sample_image_path() -> Path:
    """Path of the shipped sample photo: Chelsea the cat (CC0, Stefan van der Walt), 451x300 RGB."""
    return DATA_DIR / "chelsea.png"


@functools.cache
def imagenet_categories() -> tuple[str, ...]:
    """The 1,000 ImageNet-1K class names in class-index order (torchvision's list): 281 is "tabby"."""
    names = (DATA_DIR / "imagenet_classes.txt").read_text(encoding="utf-8").splitlines()
    assert len(names) == 1000, "imagenet_classes.txt must list 1000 classes"
    return tuple(names)
