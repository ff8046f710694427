"""Image preprocessing as ``torchvision.transforms``: Compose, Resize, CenterCrop, ToTensor, Normalize,
and ``ImageClassification`` (the preset each named weight carries).

Each transform takes a PIL image or a NumPy array of shape (C, H, W) (or (N, C, H, W) for Resize,
CenterCrop and Normalize) and follows torchvision: on PIL images it calls the same Pillow operations
(so the ImageNet pipeline's result equals torchvision's on the same photo, pixel for pixel); on arrays
it computes what torchvision computes on tensors (antialiased bilinear resizing).
"""

from __future__ import annotations

import numbers

import numpy as np
from PIL import Image

BILINEAR, NEAREST, BICUBIC = "bilinear", "nearest", "bicubic"
_PIL_FILTERS = {BILINEAR: Image.BILINEAR, NEAREST: Image.NEAREST, BICUBIC: Image.BICUBIC}


def _size_hw(img) -> tuple[int, int]:
    return (img.height, img.width) if isinstance(img, Image.Image) else tuple(img.shape[-2:])


class Compose:
    """Apply transforms one after another: ``Compose([Resize(256), CenterCrop(224), ToTensor()])(img)``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self):
        return "Compose(\n" + "".join(f"    {t}\n" for t in self.transforms) + ")"


def resized_size(h, w, size, max_size=None) -> tuple[int, int]:
    """torchvision's rule: an int (or [int]) sets the shorter side and keeps the aspect ratio
    (long = int(size * long / short)); a pair is (height, width)."""
    if isinstance(size, (tuple, list)) and len(size) == 2:
        return int(size[0]), int(size[1])
    size = size[0] if isinstance(size, (tuple, list)) else size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    if max_size is not None:
        if max_size <= size:
            raise ValueError(f"max_size = {max_size} must be strictly greater than the requested size {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


def _aa_bilinear_weights(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) matrix of antialiased bilinear weights (Pillow's and torch's coefficients).

    Output pixel i is centred at input coordinate (i + 0.5) * scale. When shrinking (scale > 1) the
    triangle filter is widened by the scale, so every input pixel contributes: that is the antialiasing.
    """
    scale = in_size / out_size
    filterscale = max(scale, 1.0)
    support = 1.0 * filterscale
    weights = np.zeros((out_size, in_size))
    for i in range(out_size):
        center = (i + 0.5) * scale
        lo, hi = max(int(center - support + 0.5), 0), min(int(center + support + 0.5), in_size)
        x = np.arange(lo, hi)
        w = np.clip(1 - np.abs((x - center + 0.5) / filterscale), 0, None)
        weights[i, lo:hi] = w / w.sum() if w.sum() else w
    return weights


def resize_array(a: np.ndarray, size_hw) -> np.ndarray:
    """Antialiased bilinear resize of (..., H, W) float arrays: W_h @ a @ W_w^T, one axis at a time."""
    (oh, ow), (h, w) = size_hw, a.shape[-2:]
    wh, ww = _aa_bilinear_weights(h, oh).astype(a.dtype), _aa_bilinear_weights(w, ow).astype(a.dtype)
    return np.einsum("ij,...jw->...iw", wh, np.einsum("...hw,vw->...hv", a, ww))  # (..., OH, OW)


class Resize:
    """Resize to ``size``: an int sets the shorter side (aspect ratio kept), a pair is (height, width)."""

    def __init__(self, size, interpolation=BILINEAR, max_size=None, antialias=True):
        sizes = size if isinstance(size, (tuple, list)) else [size]
        if not 1 <= len(sizes) <= 2 or not all(isinstance(v, int) and v > 0 for v in sizes):
            raise ValueError(f"Resize size must be a positive int or a pair of positive ints, got {size!r}")
        if interpolation not in _PIL_FILTERS:
            raise ValueError(f"interpolation must be one of {sorted(_PIL_FILTERS)}, got {interpolation!r}")
        self.size, self.interpolation, self.max_size, self.antialias = size, interpolation, max_size, antialias

    def __call__(self, img):
        h, w = _size_hw(img)
        oh, ow = resized_size(h, w, self.size, self.max_size)
        if isinstance(img, Image.Image):
            return img.resize((ow, oh), _PIL_FILTERS[self.interpolation])
        if self.interpolation != BILINEAR or not self.antialias:
            raise ValueError("minicnn resizes arrays with antialiased bilinear interpolation only")
        return resize_array(np.asarray(img), (oh, ow)).astype(img.dtype, copy=False)

    def __repr__(self):
        return (
            f"Resize(size={self.size}, interpolation={self.interpolation}, max_size={self.max_size}, "
            f"antialias={self.antialias})"
        )


class CenterCrop:
    """Cut the central (height, width) region; an image smaller than that is first padded with zeros."""

    def __init__(self, size):
        self.size = (int(size), int(size)) if isinstance(size, numbers.Number) else (size[0], size[-1])

    def __call__(self, img):
        (h, w), (ch, cw) = _size_hw(img), self.size
        if cw > w or ch > h:  # pad: left, top, right, bottom as torchvision
            left, top = max(cw - w, 0) // 2, max(ch - h, 0) // 2
            right, bottom = (max(cw - w, 0) + 1) // 2, (max(ch - h, 0) + 1) // 2
            if isinstance(img, Image.Image):
                padded = Image.new(img.mode, (w + left + right, h + top + bottom))
                padded.paste(img, (left, top))
                img = padded
            else:
                img = np.pad(img, [(0, 0)] * (img.ndim - 2) + [(top, bottom), (left, right)])
            h, w = _size_hw(img)
        top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
        if isinstance(img, Image.Image):
            return img.crop((left, top, left + cw, top + ch))
        return img[..., top : top + ch, left : left + cw]

    def __repr__(self):
        return f"CenterCrop(size={self.size})"


def pil_to_array(img: Image.Image) -> np.ndarray:
    """A PIL image as a (C, H, W) uint8 array (1 channel for "L", 3 for "RGB", 4 for "RGBA", ...)."""
    a = np.asarray(img)
    return (a[None] if a.ndim == 2 else a.transpose(2, 0, 1)).copy()


class ToTensor:
    """PIL image (H, W, C) with values 0..255 -> float32 array (C, H, W) with values in [0, 1]."""

    def __call__(self, img):
        if isinstance(img, Image.Image):
            return pil_to_array(img).astype(np.float32) / np.float32(255)
        a = np.asarray(img)
        if a.ndim == 2:
            a = a[:, :, None]
        a = a.transpose(2, 0, 1)  # (H, W, C) -> (C, H, W)
        return a.astype(np.float32) / np.float32(255) if a.dtype == np.uint8 else a.astype(np.float32)

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """(x - mean[c]) / std[c] for each channel c of a (C, H, W) or (N, C, H, W) array."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std, self.inplace = list(mean), list(std), inplace
        if any(s == 0 for s in self.std):
            raise ValueError(f"std evaluated to zero after conversion to float, leading to division by zero: {std}")

    def __call__(self, x):
        if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
            raise TypeError("Normalize expects a float array (C, H, W); apply ToTensor first")
        c = x.shape[-3]
        if len(self.mean) not in (1, c) or len(self.std) not in (1, c):
            raise ValueError(f"Normalize has {len(self.mean)} means and {len(self.std)} stds for {c} channels")
        mean = np.asarray(self.mean, x.dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, x.dtype).reshape(-1, 1, 1)
        out = x if self.inplace else x.copy()
        out -= mean
        out /= std
        return out

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class ImageClassification:
    """torchvision's classification preset: resize (shorter side) -> center crop -> [0, 1] -> normalize.

    On a PIL image the result equals ``weights.transforms()(img)`` of torchvision, as a float32 (3, crop, crop)
    array. ``scale`` and ``offset`` allow other conventions, e.g. EfficientNet-Lite's (x*255 - 127) / 128.
    """

    def __init__(self, *, crop_size, resize_size=256, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                 interpolation=BILINEAR):  # fmt: skip
        self.crop_size, self.resize_size = crop_size, resize_size
        self.mean, self.std, self.interpolation = tuple(mean), tuple(std), interpolation
        self._pipeline = Compose([Resize(resize_size, interpolation), CenterCrop(crop_size), ToTensor(),
                                  Normalize(mean, std)])  # fmt: skip

    def __call__(self, img):
        if isinstance(img, Image.Image) and img.mode != "RGB":
            img = img.convert("RGB")
        return self._pipeline(img)

    def __repr__(self):
        return (
            f"ImageClassification(\n    crop_size={[self.crop_size]}\n    resize_size={[self.resize_size]}\n"
            f"    mean={list(self.mean)}\n    std={list(self.std)}\n    interpolation={self.interpolation}\n)"
        )
