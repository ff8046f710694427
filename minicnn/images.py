"""Opening photos the way a user expects, and refusing broken or hostile files with one clear reason.

``open_rgb(path)`` returns an RGB PIL image, whatever the file holds:
- grayscale, palette (with transparency), RGBA, CMYK: converted to RGB (as ``.convert("RGB")`` does for
  torchvision users; transparency is dropped);
- 16-bit and 32-bit integer images: scaled to 8 bits (PIL's plain conversion would clip them to white);
- photos with an EXIF orientation (phones store portraits sideways and say so): turned upright. torchvision's
  own pipeline does not do this, so `minicnn classify` can differ from a torchvision script on such photos;
  the difference is the photo a person actually sees.
Refused with ``ImageError`` (a ValueError) and a reason: missing files, folders, anything that is not a regular
file (a FIFO would block forever), non-images, formats that are not raster photos (EPS and PDF run Ghostscript, an
interpreter, on the file: never), truncated or corrupt data, decompression bombs (more than PIL's
MAX_IMAGE_PIXELS, 89 million pixels), and shapes no photo has (a side more than MAX_ASPECT times the other:
a 143-byte 20000x1 PNG would become a 4.6 GB image once its short side is resized to 256).
"""

from __future__ import annotations

import os
import stat
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: The raster formats minicnn opens (Pillow's names); vector and document formats that Pillow hands to an external
#: interpreter (EPS, PDF via Ghostscript) are not among them.
RASTER_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM", "TGA", "ICO", "DIB", "PCX", "SGI", "MPO",
                  "JPEG2000", "QOI", "IM", "XBM", "SUN", "DDS")  # fmt: skip
#: The longest side may be at most this many times the shortest.
MAX_ASPECT = 50


class ImageError(ValueError):
    """The file cannot be used as an image (the message says why)."""


def regular_file(path, what="image"):
    """Refuse at once (no read, no wait) a path that is missing, a folder, or not a regular file (FIFO, device)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ImageError(f"{what} not found: {path}") from None
    except OSError as e:
        raise ImageError(f"cannot open {path}: {e.strerror or e}") from None
    if stat.S_ISDIR(mode):
        raise ImageError(f"{path} is a folder, not an {what}")
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or socket"
        raise ImageError(f"{path} is {kind}, not a regular file: refused (reading it could block forever)")


def open_rgb(path) -> Image.Image:
    """The image at ``path`` as an upright RGB PIL image, or ImageError saying why not."""
    regular_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=_raster_formats()) as im:
                w, h = im.size
                if min(w, h) == 0 or max(w, h) > MAX_ASPECT * min(w, h):
                    raise ImageError(f"{path} is {w}x{h} pixels: no photo has such a shape (sides more than "
                                     f"{MAX_ASPECT} times apart); refused")  # fmt: skip
                im.load()
                return _to_rgb(ImageOps.exif_transpose(im))
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"image not found: {path}") from None
    except IsADirectoryError:
        raise ImageError(f"{path} is a folder, not an image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"{path} is too large to be a photo, refused as a possible decompression bomb ({e})") from None
    except UnidentifiedImageError:
        raise ImageError(
            f"cannot read {path} as an image: not a raster image format ({', '.join(RASTER_FORMATS[:6])}, ...)"
        ) from None
    except (OSError, ValueError, SyntaxError) as e:  # truncated or corrupt data
        raise ImageError(f"cannot read {path} as an image: {e}") from None


def _raster_formats() -> list[str]:
    Image.init()  # every plugin registered, then those of RASTER_FORMATS this Pillow has
    return [f for f in RASTER_FORMATS if f in Image.OPEN]


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
