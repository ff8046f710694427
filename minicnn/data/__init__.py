"""Data shipped with minicnn: the sample photo (see CREDITS.md beside this file)."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent


def sample_image_path() -> Path:
    """Path of the shipped sample photo: Chelsea the cat (CC0, Stefan van der Walt), 451x300 RGB."""
    return DATA_DIR / "chelsea.png"
