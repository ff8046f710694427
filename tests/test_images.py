"""Photos of every kind, and broken or hostile files: converted as a user expects, or refused in one line."""

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from minicnn.data import sample_image_path
from minicnn.images import ImageError, open_rgb

CAT = Image.open(sample_image_path()).convert("RGB")


def make(kind, folder):
    """Write one test file of the given kind; return its path."""
    path = folder / f"{kind}.png"
    if kind == "grayscale":
        CAT.convert("L").save(path)
    elif kind == "rgba":
        CAT.convert("RGBA").save(path)
    elif kind == "palette":
        CAT.convert("P").save(path, transparency=0)
    elif kind == "cmyk":
        path = folder / "cmyk.jpg"
        CAT.convert("CMYK").save(path)
    elif kind == "sixteen_bit":
        Image.fromarray(np.asarray(CAT.convert("L"), np.uint16) * 257).save(path)
    elif kind == "exif_rotated":
        path = folder / "rotated.jpg"
        exif = Image.Exif()
        exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
        CAT.save(path, exif=exif)
    elif kind == "truncated":
        buf = io.BytesIO()
        CAT.save(buf, format="JPEG")
        path = folder / "truncated.jpg"
        path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    elif kind == "corrupt":
        buf = io.BytesIO()
        CAT.save(buf, format="PNG")
        data = bytearray(buf.getvalue())
        data[200:400] = bytes(200)
        path.write_bytes(bytes(data))
    elif kind == "not_an_image":
        path = folder / "notes.jpg"
        path.write_text("these are not pixels\n")
    elif kind == "bomb":
        Image.new("1", (20_000, 20_000)).save(path)  # 400 million pixels in a few kB
    return path


@pytest.mark.parametrize("kind", ["grayscale", "rgba", "palette", "cmyk", "sixteen_bit", "exif_rotated"])
def test_every_kind_of_photo_becomes_rgb(kind, tmp_path):
    im = open_rgb(make(kind, tmp_path))
    assert im.mode == "RGB"
    a = np.asarray(im, dtype=float)
    assert a.std() > 10  # a real picture, not a white or black field
    if kind == "sixteen_bit":
        np.testing.assert_allclose(a[..., 0], np.asarray(CAT.convert("L"), float), atol=1)  # scaled, not clipped
    if kind == "exif_rotated":
        assert im.size == (CAT.height, CAT.width)  # turned upright: portrait
    else:
        assert im.size == CAT.size


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("truncated", "cannot read"),
        ("corrupt", "cannot read"),
        ("not_an_image", "not a raster image format"),
        ("bomb", "decompression bomb"),
    ],
)
def test_broken_files_are_refused_with_a_reason(kind, message, tmp_path):
    path = make(kind, tmp_path)
    with pytest.raises(ImageError, match=message):
        open_rgb(path)
    result = subprocess.run([sys.executable, "-m", "minicnn", "classify", str(path), "--model", "efficientnet_lite0"],
                            capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().startswith("minicnn: error: ") and len(result.stderr.strip().splitlines()) == 1


def test_missing_and_folder(tmp_path):
    with pytest.raises(ImageError, match="image not found"):
        open_rgb(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="is a folder"):
        open_rgb(tmp_path)
