"""The walkthrough demo: Part II, section A of the notebook, computed by minicnn on the shipped photo.

    minicnn demo [--out DIR] [--image PATH]

Steps, as in the notebook: load the image and resize it to 256x256; blur it with the notebook's 20x20
Gaussian kernel through ``conv2d`` (no padding: 256 -> 237); find its edges with the Prewitt filter
(horizontal, vertical, magnitude); apply ReLU and 2x2 max pooling to a small 4x4 example. Each step
prints its shapes and numbers and writes a figure into DIR.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import minicnn.functional as F
from minicnn.data import sample_image_path


def load_image(path, size=(256, 256)) -> np.ndarray:
    """The notebook's ``Image.open(path).convert("RGB").resize(size)`` then ``ToTensor()``: (3, H, W) in [0, 1]."""
    from PIL import Image

    with Image.open(path) as im:
        rgb = im.convert("RGB").resize(size)
    return np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / 255.0  # (H, W, 3) -> (3, H, W)


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
    return np.tile(k1, (1, 3, 1, 1)), np.tile(k2, (1, 3, 1, 1))  # same kernel for R, G, B


class _Step:
    """Prints a step's title and, at its end, how long it took (the demo's progress display)."""

    def __init__(self, title: str):
        self.title = title

    def __enter__(self):
        print(f"\n== {self.title}", flush=True)
        self.t0 = time.perf_counter()

    def __exit__(self, *exc):
        print(f"   ({time.perf_counter() - self.t0:.2f} s)", flush=True)


def _save_gray(arr, path, title):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(arr, cmap="gray")
    ax.set_title(title)
    ax.axis("off")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def run(out_dir="minicnn-demo", image=None) -> dict:
    """Run the walkthrough; write figures into ``out_dir``; return the numbers it printed."""
    import matplotlib

    matplotlib.use("Agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    image = Path(image) if image else sample_image_path()
    results: dict = {"figures": []}

    with _Step(f"A.1 The image: {image.name}, converted to RGB and resized to 256x256"):
        img = load_image(image)[None]  # (1, 3, 256, 256): the batch dimension added
        print(f"   tensor shape {img.shape}, dtype {img.dtype}, values in [{img.min():.3f}, {img.max():.3f}]")
        results["image_shape"] = img.shape

    with _Step("A.2 A 20x20 Gaussian kernel, the same for R, G and B, through conv2d (no padding)"):
        g = gaussian_kernel()
        kernel = np.tile(g, (1, 3, 1, 1))  # (1, 3, 20, 20), like kernel.repeat(1, 3, 1, 1)
        blurred = F.conv2d(img, kernel)  # (1, 1, 237, 237): 256 - 20 + 1 = 237
        print(f"   kernel {kernel.shape}, sum {g.sum():.4f}; output {blurred.shape} (256 - 20 + 1 = 237)")
        _save_gray(g, out / "gaussian_kernel.png", "Gaussian kernel (20x20)")
        _save_gray(blurred[0, 0], out / "cat_blurred.png", f"conv2d with the Gaussian: {blurred.shape}")
        results["figures"] += ["gaussian_kernel.png", "cat_blurred.png"]
        results["blurred_shape"] = blurred.shape

    with _Step("A.3 Exercise: the Prewitt filter (horizontal and vertical gradients, then the magnitude)"):
        k1, k2 = prewitt_kernels()
        out1, out2 = F.conv2d(img, k1), F.conv2d(img, k2)  # (1, 1, 254, 254) each
        magnitude = np.sqrt(out1**2 + out2**2)
        print(f"   horizontal {out1.shape}, vertical {out2.shape}, magnitude max {magnitude.max():.3f}")
        _save_prewitt(out1[0, 0], out2[0, 0], magnitude[0, 0], out / "cat_prewitt.png")
        results["figures"].append("cat_prewitt.png")
        results["prewitt_shape"] = magnitude.shape

    with _Step("A.4 ReLU (the positive part) and 2x2 max pooling on a 4x4 example"):
        x = np.random.default_rng(0).random((1, 1, 4, 4), dtype=np.float32) - 0.5
        np.set_printoptions(precision=4, suppress=True)
        print("   x =\n" + _indent(x[0, 0]))
        print("   relu(x) =\n" + _indent(F.relu(x)[0, 0]))
        pooled = F.max_pool2d(x, kernel_size=2)
        print("   max_pool2d(x, kernel_size=2) =\n" + _indent(pooled[0, 0]))
        results["pooled_shape"] = pooled.shape

    print(f"\nFigures written to {out.resolve()}: {', '.join(results['figures'])}")
    return results


def _indent(a) -> str:
    return "\n".join("      " + line for line in str(a).splitlines())


def _save_prewitt(h, v, mag, path):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 5))
    for ax, arr, title in zip(axes, (h, v, mag), ("horizontal gradient", "vertical gradient", "magnitude")):
        ax.imshow(arr, cmap="gray")
        ax.set_title(f"Prewitt: {title}")
        ax.axis("off")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
