"""Section A's ingredients, built exactly as the notebook builds them."""

from __future__ import annotations

import numpy as np


def load_image(path, size=(256, 256)) -> np.ndarray:
    """The notebook's ``Image.open(path).convert("RGB").resize(size)`` then ``ToTensor()``: (3, H, W) in [0, 1]."""
    from minicnn.images import open_rgb
    from minicnn.transforms import ToTensor

    return ToTensor()(open_rgb(path).resize(size))


def gaussian_kernel() -> np.ndarray:
    """The notebook's 20x20 Gaussian, built the same way (including its 3.14 for pi).

    x_range = arange(-5, 5, 0.5); xx, yy = meshgrid(x_range, x_range, indexing="ij"); var = 10
    kernel = 1 / (2 * 3.14 * var) * exp(-(xx**2 + yy**2) / (2 * var))
    """
    r = np.arange(-5, 5, 0.5, dtype=np.float32)  # 20 values
    xx, yy = np.meshgrid(r, r, indexing="ij")  # torch.meshgrid's default indexing
    var = 10
    return (1.0 / (2.0 * 3.14 * var)) * np.exp(-(xx**2 + yy**2) / (2 * var))  # (20, 20)


def prewitt_kernels() -> tuple[np.ndarray, np.ndarray]:
    """Prewitt's horizontal-gradient kernel and its transpose (vertical gradient), each (1, 3, 3, 3)."""
    k1 = np.array([[-1.0, 0.0, 1.0]] * 3, dtype=np.float32)  # (3, 3): responds to left-right changes
    k2 = np.ascontiguousarray(k1.T)  # (3, 3): responds to top-bottom changes
    return np.tile(k1, (1, 3, 1, 1)), np.tile(k2, (1, 3, 1, 1))  # the same kernel for R, G and B
