"""The shipped digits and the MNIST idx reader: shapes, a fixed stratified split, and damaged files refused by name."""

import collections
import csv
import gzip
import hashlib
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minicnn.datasets import DIGITS_PATH, _read_digits_csv, load_digits, load_mnist

# UCI optdigits' documented class distribution of its test set (optdigits.tes), which scikit-learn ships.
CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
SIZES = {"train": 1438, "test": 359, "all": 1797}
# SHA-256 of load_digits("test")'s images then labels: the split is fixed, so this never changes.
TEST_SPLIT_SHA256 = "d422799ca308f41bb89134d4766b086cccd608cb4cd099973d2b48015f6296ab"


def rows(images, labels):
    """Each image with its label as one hashable row (the digits' images are all distinct)."""
    flat = np.rint(images.reshape(len(images), -1) * 16).astype(np.int64)  # (N, 64)
    return [tuple(r) + (int(label),) for r, label in zip(flat, labels)]


# ---------------------------------------------------------------------------------------------- digits


@pytest.mark.parametrize("split", ["train", "test", "all"])
def test_digits_shapes_dtypes_ranges(split):
    images, labels = load_digits(split)
    n = SIZES[split]
    assert images.shape == (n, 1, 8, 8) and images.dtype == np.float32
    assert labels.shape == (n,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_array_equal(images * 16, np.rint(images * 16))  # pixel / 16, pixels whole numbers
    assert set(labels.tolist()) == set(range(10))


def test_digits_default_split_is_train():
    np.testing.assert_array_equal(load_digits()[1], load_digits("train")[1])


def test_digits_train_and_test_partition_all():
    train, test, every = (rows(*load_digits(s)) for s in ("train", "test", "all"))
    assert len(set(every)) == len(every) == 1797  # distinct images: rows identify them
    assert not set(train) & set(test)
    assert sorted(train + test) == sorted(every)
    # both in file order: each is a subsequence of "all"
    for part in (train, test):
        position = {row: i for i, row in enumerate(every)}
        assert [position[r] for r in part] == sorted(position[r] for r in part)


def test_digits_split_is_stratified_80_20():
    _, test = load_digits("test")
    _, every = load_digits("all")
    assert abs(len(test) / len(every) - 0.2) < 0.01
    for digit in range(10):
        count = int((every == digit).sum())
        assert abs(int((test == digit).sum()) - 0.2 * count) <= 1, digit


def test_digits_split_is_fixed():
    first, second = load_digits("test"), load_digits("test")
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    digest = hashlib.sha256(first[0].tobytes() + first[1].tobytes()).hexdigest()
    assert digest == TEST_SPLIT_SHA256, "the digits split changed (a NumPy permutation change?)"


def test_digits_returns_copies():
    images, labels = load_digits("all")
    images[:] = 7.0
    labels[:] = -1
    images, labels = load_digits("all")
    assert images.max() == 1.0 and labels.min() == 0
    train_images, _ = load_digits("train")
    train_images += 1
    assert load_digits("train")[0].max() == 1.0


def test_digits_match_the_csv_read_independently():
    with gzip.open(DIGITS_PATH, "rt", newline="") as f:
        table = [[int(v) for v in line] for line in csv.reader(f)]
    assert collections.Counter(line[64] for line in table) == dict(enumerate(CLASS_COUNTS))
    images, labels = load_digits("all")
    assert np.bincount(labels).tolist() == CLASS_COUNTS
    np.testing.assert_array_equal(images.reshape(-1, 64) * 16, [line[:64] for line in table])
    np.testing.assert_array_equal(labels, [line[64] for line in table])


def test_digits_shipped_file_is_the_credited_one():
    digest = hashlib.sha256(DIGITS_PATH.read_bytes()).hexdigest()
    assert digest == "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"  # as in data/CREDITS.md


@pytest.mark.parametrize("split", ["validation", "Train", "", None])
def test_digits_bad_split(split):
    with pytest.raises(ValueError, match="'train', 'test', 'all'"):
        load_digits(split)


@pytest.mark.parametrize(
    "damage",
    [
        "not gzip",
        "truncated gzip",
        "missing row",
        "extra column",
        "pixel 17",
        "negative pixel",
        "label 10",
        "not an integer",
        "empty",
    ],
)
def test_damaged_digits_file_is_refused_by_name(tmp_path, damage):
    data = DIGITS_PATH.read_bytes()
    lines = gzip.decompress(data).decode().splitlines()
    path = tmp_path / "digits-damaged.csv.gz"
    if damage == "not gzip":
        path.write_text("\n".join(lines))
    elif damage == "truncated gzip":
        path.write_bytes(data[: len(data) // 2])
    else:
        if damage == "missing row":
            lines = lines[:-1]
        elif damage == "extra column":
            lines = [line + ",0" for line in lines]
        elif damage == "pixel 17":
            lines[5] = "17" + lines[5][lines[5].index(",") :]
        elif damage == "negative pixel":
            lines[5] = "-1" + lines[5][lines[5].index(",") :]
        elif damage == "label 10":
            lines[5] = lines[5][: lines[5].rindex(",")] + ",10"
        elif damage == "not an integer":
            lines[5] = "1.5" + lines[5][lines[5].index(",") :]
        elif damage == "empty":
            lines = []
        path.write_bytes(gzip.compress("\n".join(lines).encode()))
    with pytest.raises(ValueError, match="digits-damaged.csv.gz"):
        _read_digits_csv(path)


# ---------------------------------------------------------------------------------------------- MNIST idx


def idx_bytes(magic, dims, data):
    """An idx file: big-endian int32 magic, one big-endian uint32 per dimension, then the bytes."""
    return struct.pack(f">i{len(dims)}I", magic, *dims) + bytes(data)


def write(path, content, compressed=False):
    path.write_bytes(gzip.compress(content) if compressed else content)
    return path


def mnist_pair(folder, n=3, rows=28, cols=28, compressed=False, seed=0):
    """Write a small images/labels idx pair; return the paths and the uint8 pixels and labels written."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    suffix = ".gz" if compressed else ""
    images_path = write(folder / f"images-idx3-ubyte{suffix}", idx_bytes(2051, (n, rows, cols), pixels), compressed)
    labels_path = write(folder / f"labels-idx1-ubyte{suffix}", idx_bytes(2049, (n,), labels), compressed)
    return images_path, labels_path, pixels, labels


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_mnist_round_trip(tmp_path, compressed):
    images_path, labels_path, pixels, labels = mnist_pair(tmp_path, n=5, compressed=compressed)
    images, got = load_mnist(images_path, labels_path)
    assert images.shape == (5, 1, 28, 28) and images.dtype == np.float32
    assert got.shape == (5,) and got.dtype == np.int64
    np.testing.assert_array_equal(images[:, 0], pixels / np.float32(255))
    np.testing.assert_array_equal(got, labels)
    assert 0.0 <= images.min() and images.max() <= 1.0


def test_mnist_gzip_found_by_its_magic_bytes_not_its_name(tmp_path):
    images_path, labels_path, pixels, labels = mnist_pair(tmp_path, compressed=True)
    images_path = images_path.rename(tmp_path / "train-images-idx3-ubyte")  # gzipped, no .gz
    images, got = load_mnist(str(images_path), str(labels_path))
    np.testing.assert_array_equal(np.rint(images[:, 0] * 255), pixels)


@given(
    n=st.integers(0, 6),
    rows=st.integers(1, 9),
    cols=st.integers(1, 9),
    compressed=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_mnist_round_trip_any_shape(n, rows, cols, compressed, seed):
    with tempfile.TemporaryDirectory() as folder:
        images_path, labels_path, pixels, labels = mnist_pair(Path(folder), n, rows, cols, compressed, seed)
        images, got = load_mnist(images_path, labels_path)
    assert images.shape == (n, 1, rows, cols)
    np.testing.assert_array_equal(np.rint(images[:, 0] * 255), pixels)
    np.testing.assert_array_equal(got, labels)


def corrupt(kind, images, labels):
    """The (images, labels) file contents after one kind of damage; the damaged one is listed first in BAD."""
    if kind == "images magic":
        return struct.pack(">i", 2052) + images[4:], labels
    if kind == "labels magic":
        return images, struct.pack(">i", 2051) + labels[4:]
    if kind == "swapped":
        return labels, images
    if kind == "images truncated":
        return images[:-1], labels
    if kind == "images header truncated":
        return images[:10], labels
    if kind == "images tiny":
        return images[:2], labels
    if kind == "labels truncated":
        return images, labels[:-1]
    if kind == "images trailing byte":
        return images + b"\0", labels
    if kind == "labels trailing byte":
        return images, labels + b"\0"
    if kind == "count mismatch":
        return images, idx_bytes(2049, (2,), labels[8:10])
    if kind == "forged header":  # promises 4 billion images: refused before any allocation
        return struct.pack(">iIII", 2051, 2**32 - 1, 28, 28) + images[16:], labels
    if kind == "zero-sized images":
        return struct.pack(">iIII", 2051, 3, 0, 28), labels
    raise AssertionError(kind)


BAD = {
    "images magic": ("images", "wrong magic"),
    "labels magic": ("labels", "swapped"),
    "swapped": ("images", "swapped"),
    "images truncated": ("images", "truncated"),
    "images header truncated": ("images", "truncated"),
    "images tiny": ("images", "truncated"),
    "labels truncated": ("labels", "truncated"),
    "images trailing byte": ("images", "trailing bytes"),
    "labels trailing byte": ("labels", "trailing bytes"),
    "count mismatch": ("labels", "3 images but .* 2 labels"),
    "forged header": ("images", "truncated"),
    "zero-sized images": ("images", "must be positive"),
}


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("kind", list(BAD))
def test_mnist_malformed_file_is_refused_by_name(tmp_path, kind, compressed):
    (tmp_path / "good").mkdir()
    good_images, good_labels, _, _ = mnist_pair(tmp_path / "good", n=3)
    images, labels = corrupt(kind, good_images.read_bytes(), good_labels.read_bytes())
    images_path = write(tmp_path / "bad-images-idx3-ubyte", images, compressed)
    labels_path = write(tmp_path / "bad-labels-idx1-ubyte", labels, compressed)
    which, problem = BAD[kind]
    with pytest.raises(ValueError, match=problem) as info:
        load_mnist(images_path, labels_path)
    assert f"bad-{which}-idx" in str(info.value)


@pytest.mark.parametrize("damage", ["truncated stream", "bad crc", "trailing garbage"])
def test_mnist_damaged_gzip_is_refused_by_name(tmp_path, damage):
    images_path, labels_path, _, _ = mnist_pair(tmp_path, compressed=True)
    data = images_path.read_bytes()
    if damage == "truncated stream":
        data = data[: len(data) // 2]
    elif damage == "bad crc":
        data = data[:-8] + bytes([data[-8] ^ 0xFF]) + data[-7:]
    else:
        data = data + b"not gzip"
    images_path.write_bytes(data)
    with pytest.raises(ValueError, match=images_path.name):
        load_mnist(images_path, labels_path)


def test_mnist_gzip_with_trailing_member_is_trailing_bytes(tmp_path):
    images_path, labels_path, _, _ = mnist_pair(tmp_path, compressed=True)
    images_path.write_bytes(images_path.read_bytes() + gzip.compress(b"\0"))  # a second gzip member
    with pytest.raises(ValueError, match=f"{images_path.name} has trailing bytes"):
        load_mnist(images_path, labels_path)
