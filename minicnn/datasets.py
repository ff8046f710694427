"""Small image datasets to train and check CNNs on: the shipped 8x8 digits, and MNIST read from its idx files.

    images, labels = load_digits("train")    # (1438, 1, 8, 8) float32 in [0, 1], (1438,) int64
    images, labels = load_mnist("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")  # (60000, 1, 28, 28)

Both return what ``minicnn.nn`` takes: images (N, 1, H, W) float32 in [0, 1] and labels (N,) int64, the layout
of torchvision's ``ToTensor()`` on a grayscale image. The digits (1,797 images, 57 KB) ship inside minicnn
(``data/digits.csv.gz``, UCI "Optical Recognition of Handwritten Digits", CC BY 4.0; see ``data/CREDITS.md``),
so a first network can be trained with no download. MNIST is not shipped: pass the paths of its files.

Files are input: each one is validated on the way in (shape, value range, header, exact length), and a damaged
one raises ValueError naming the file and what is wrong with it.
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import warnings
import zlib
from pathlib import Path

import numpy as np

#: The shipped digits: one image per line, 64 pixel values 0..16 (row by row), then the label 0..9.
DIGITS_PATH = Path(__file__).resolve().parent / "data" / "digits.csv.gz"
DIGITS_COUNT = 1797
SPLITS = ("train", "test", "all")
TEST_FRACTION = 0.2
SPLIT_SEED = 0

IDX_IMAGES_MAGIC = 2051  # 0x00000803: unsigned bytes, 3 dimensions (N, rows, cols)
IDX_LABELS_MAGIC = 2049  # 0x00000801: unsigned bytes, 1 dimension (N,)
GZIP_MAGIC = b"\x1f\x8b"
MAX_DEFLATE_RATIO = 1032  # deflate cannot expand one byte into more than about 1032: a bound before allocating
CHUNK = 1 << 20


def load_digits(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits: images (N, 1, 8, 8) float32 in [0, 1] (pixel / 16) and labels (N,) int64.

    ``split`` is "train" (1,438 images), "test" (359) or "all" (1,797), in file order. The split is fixed and
    stratified, about 80/20: one ``numpy.random.default_rng(0)`` goes through the digits 0 to 9 in turn; for
    each digit, its indices in file order are permuted with it, and the first ``round(0.2 * count)`` go to test,
    the rest to train. Train and test are disjoint and together make all 1,797. Each call returns new arrays.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLITS))}, got {split!r}")
    images, labels, test = _digits()
    if split == "all":
        index = np.arange(len(labels))
    else:
        index = np.flatnonzero(test if split == "test" else ~test)  # sorted: file order
    return images[index], labels[index]  # fancy indexing copies: the cache stays as read


@functools.cache
def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parsed digits file and its test mask, read once; read-only, so only copies leave this module."""
    images, labels = _read_digits_csv(DIGITS_PATH)
    test = np.zeros(len(labels), dtype=bool)
    rng = np.random.default_rng(SPLIT_SEED)
    for digit in range(10):
        members = np.flatnonzero(labels == digit)  # this digit's indices, in file order
        test[rng.permutation(members)[: round(TEST_FRACTION * len(members))]] = True
    for a in (images, labels, test):
        a.flags.writeable = False
    return images, labels, test


def _read_digits_csv(path) -> tuple[np.ndarray, np.ndarray]:
    """Parse and validate a digits gzip CSV: images (N, 1, 8, 8) float32 in [0, 1], labels (N,) int64."""
    try:
        with gzip.open(path, "rt", encoding="ascii") as f, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": the shape check says so
            table = np.loadtxt(f, delimiter=",", dtype=np.int64, ndmin=2)  # (N, 65)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"the digits file {path} is damaged: cannot read it as a gzip CSV of integers ({e})") from None
    if table.shape != (DIGITS_COUNT, 65):
        raise ValueError(f"the digits file {path} is damaged: shape {table.shape}, expected ({DIGITS_COUNT}, 65)")
    pixels, labels = table[:, :64], table[:, 64]  # (N, 64), (N,)
    if pixels.min() < 0 or pixels.max() > 16:
        raise ValueError(f"the digits file {path} is damaged: pixel values outside 0..16")
    if labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"the digits file {path} is damaged: labels outside 0..9")
    images = (pixels.astype(np.float32) / np.float32(16)).reshape(-1, 1, 8, 8)  # (N, 1, 8, 8)
    return images, labels.copy()


def load_mnist(images_path, labels_path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST from its idx files: images (N, 1, rows, cols) float32 in [0, 1] (pixel / 255), labels (N,) int64.

    The files are ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (or the ``t10k-`` pair), plain or
    gzip-compressed as downloaded (recognised by the gzip magic bytes 1f 8b, whatever the name). MNIST's images
    are 28x28; other idx files of unsigned bytes (Fashion-MNIST, KMNIST) read the same way.

    idx format: a big-endian int32 magic number (2051 images, 2049 labels), one big-endian uint32 per dimension
    (N, rows, cols for images; N for labels), then the N * rows * cols (or N) bytes of data, nothing after.
    A wrong magic number, a short or long file, or image and label counts that differ raise ValueError.
    """
    (n, rows, cols), pixels = _read_idx(images_path, IDX_IMAGES_MAGIC, "images")
    (n_labels,), labels = _read_idx(labels_path, IDX_LABELS_MAGIC, "labels")
    if n != n_labels:
        raise ValueError(f"{images_path} holds {n} images but {labels_path} holds {n_labels} labels")
    images = pixels.reshape(n, 1, rows, cols).astype(np.float32) / np.float32(255)  # (N, 1, rows, cols)
    return images, labels.astype(np.int64)


def _read_idx(path, magic: int, what: str) -> tuple[tuple[int, ...], np.ndarray]:
    """Validate and read one idx file of unsigned bytes: its dimensions and its data as a flat uint8 array."""
    ndim = magic & 0xFF  # the magic's last byte counts the dimensions
    header_size = 4 + 4 * ndim
    with open(path, "rb") as raw:
        file_size = os.fstat(raw.fileno()).st_size
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        f = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        try:
            header = _read_upto(f, header_size)
            if len(header) < 4:
                raise ValueError(f"{path} is truncated: {len(header)} bytes, too short for an idx header")
            got = int.from_bytes(header[:4], "big")
            if got != magic:
                other = {IDX_IMAGES_MAGIC: "an images file", IDX_LABELS_MAGIC: "a labels file"}.get(got)
                hint = f" ({other}: are the images and labels paths swapped?)" if other else ""
                raise ValueError(f"{path}: wrong magic number {got}, expected {magic} for idx {what}{hint}")
            if len(header) < header_size:
                raise ValueError(f"{path} is truncated: the idx header needs {header_size} bytes, the file has fewer")
            dims = tuple(int.from_bytes(header[i : i + 4], "big") for i in range(4, header_size, 4))
            if 0 in dims[1:]:
                raise ValueError(f"{path}: image dimensions {dims[1:]} must be positive")
            size = math.prod(dims)
            # Check sizes before allocating: a forged header may promise terabytes.
            if compressed and size > MAX_DEFLATE_RATIO * file_size:
                raise ValueError(f"{path} is truncated: the header promises {size} bytes, more than it can hold")
            if not compressed and file_size != header_size + size:
                problem = "is truncated" if file_size < header_size + size else "has trailing bytes"
                raise ValueError(
                    f"{path} {problem}: the header promises {header_size} + {size} bytes, the file has {file_size}"
                )
            data = _read_upto(f, size)
            if len(data) < size:
                raise ValueError(f"{path} is truncated: the header promises {size} bytes of data, found {len(data)}")
            if f.read(1):  # at the end of a gzip stream this also checks its CRC
                raise ValueError(f"{path} has trailing bytes after the {size} bytes of data its header promises")
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise ValueError(f"{path} is not a valid gzip file (damaged or truncated): {e}") from None
        finally:
            if compressed:
                f.close()
    return dims, np.frombuffer(data, dtype=np.uint8)


def _read_upto(f, n: int) -> bytearray:
    """Read n bytes, or fewer at the end of the file, a chunk at a time: memory grows only with what is there."""
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf
