"""Opening photos the way a user expects, and refusing broken or hostile files with one clear reason.

``open_rgb(path)`` returns an RGB PIL image, whatever the file holds:
- grayscale, palette (with transparency), RGBA, CMYK: converted to RGB (as ``.convert("RGB")`` does for
  torchvision users; transparency is dropped);
- 16-bit and 32-bit integer images: scaled to 8 bits (PIL's plain conversion would clip them to white);
- photos with an EXIF orientation (phones store portraits sideways and say so): turned upright. torchvision's
  own pipeline does not do this, so `minicnn classify` can differ from a torchvision script on such photos;
  the difference is the photo a person actually sees.
Refused with ``ImageError`` (a ValueError) and a reason: missing files, folders, non-images, truncated or
corrupt data, and decompression bombs (more than PIL's MAX_IMAGE_PIXELS, 89 million pixels).
"""

from __future__ import annotations

import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


class ImageError(ValueError):
    """The file cannot be used as an image (the message says why)."""


def open_rgb(path) -> Image.Image:
    """The image at ``path`` as an upright RGB PIL image, or ImageError saying why not."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                im.load()
                return _to_rgb(ImageOps.exif_transpose(im))
    except FileNotFoundError:
        raise ImageError(f"image not found: {path}") from None
    except IsADirectoryError:
        raise ImageError(f"{path} is a folder, not an image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"{path} is too large to be a photo, refused as a possible decompression bomb ({e})") from None
    except UnidentifiedImageError:
        raise ImageError(f"cannot read {path} as an image: not an image format Pillow knows") from None
    except (OSError, ValueError, SyntaxError) as e:  # truncated or corrupt data
        raise ImageError(f"cannot read {path} as an image: {e}") from None


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # high bit depth: scale to 0..255 instead of clipping
        a = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or a.max() > 255 else 255.0
        im = Image.fromarray(np.clip(a * (255.0 / top), 0, 255).round().astype(np.uint8))
    elif im.mode == "F":
        a = np.nan_to_num(np.asarray(im, dtype=np.float64))
        span = a.max() - a.min()
        im = Image.fromarray(((a - a.min()) / span * 255 if span else np.zeros_like(a)).astype(np.uint8))
    elif im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    return im.convert("RGB")
