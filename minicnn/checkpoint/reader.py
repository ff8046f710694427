"""Read a PyTorch checkpoint (``torch.save`` of a state dict) into NumPy arrays, without torch.

Two formats exist. The **zip** format (torch >= 1.6, the default): a zip archive ``NAME/data.pkl`` (the
pickle), ``NAME/data/0``, ``NAME/data/1``, ... (each storage's raw bytes, stored uncompressed),
``NAME/byteorder``. The **legacy** format (``_use_new_zipfile_serialization=False``, and every file
written before 2020): five things in a row in one file: a pickle of a magic number, one of the protocol
version, one of system information (byte order), the state dict's pickle, a pickle listing the storage
keys, then for each key an 8-byte element count and the storage's raw bytes.

Either way the pickle describes tensors as views (offset, size, stride) into storages. This module finds
each storage's bytes in the file, checks every view against them, and reads each storage once into memory
(through one open file, closed when the checkpoint is loaded). The arrays are the process's own: a model
loaded from a file never changes, nor crashes, when the file is later rewritten or truncated (memory-mapping
it did both); the price is the file's size in memory, once (a model holds its weights in memory anyway).
"""

from __future__ import annotations

import struct
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from minicnn.checkpoint.errors import CheckpointError, UnsafeCheckpointError
from minicnn.checkpoint.unpickler import StorageRef, TensorRecord, safe_load

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
MAX_DIMS = 32


def load_checkpoint(path) -> dict[str, np.ndarray]:
    """Load a checkpoint written by ``torch.save(model.state_dict(), path)``, safely and without torch.

    Returns ``{name: array}`` in the file's order. float32, float64, float16, int64, int32, int16, int8,
    uint8 and bool keep their dtype; bfloat16 becomes float32. A file holding ``{"state_dict": {...}, ...}``
    (a training checkpoint) gives its state dict.

    Raises:
        FileNotFoundError: no such file.
        UnsafeCheckpointError: the pickle asks for anything a state dict does not need (nothing is run).
        CheckpointError: anything else wrong with the file (truncated, inconsistent, not a checkpoint).
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    if not path.exists():
        raise FileNotFoundError(f"no such checkpoint file: {path}")
    if not path.is_file():  # a FIFO, a device: reading could block forever
        raise CheckpointError(f"{path} is not a regular file (a FIFO, a device or a socket): refused")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path} is empty")
    with open(path, "rb") as f:  # one file descriptor for the whole file, closed when done (also on errors)
        if _is_zip(path, f):
            root, storages = _read_zip(path, f)
        elif _is_tar(f):
            raise CheckpointError(
                f"{path} is in PyTorch's tar format (torch < 0.1.10), which minicnn does not read: load it with "
                "an old torch and save it again with torch.save(model.state_dict(), path)"
            )
        else:
            root, storages = _read_legacy(path, f)
        storages.file = f
        return _state_dict(root, storages, path)


def _is_zip(path, f) -> bool:
    try:
        return zipfile.is_zipfile(f)
    except Exception as e:  # is_zipfile itself raises on some damaged end records
        raise CheckpointError(f"{path} is a damaged zip archive ({type(e).__name__}: {e})") from None


def _is_tar(f) -> bool:
    try:
        f.seek(0)
        return tarfile.is_tarfile(f)
    except Exception:
        return False


# ---------------------------------------------------------------------------------------------- zip format


def _read_zip(path, f):
    try:
        zf = zipfile.ZipFile(f)  # (closing it leaves f open: the caller's)
    except Exception as e:  # zipfile raises many kinds of errors on damaged archives
        raise CheckpointError(f"{path} is a damaged zip archive ({type(e).__name__}: {e})") from None
    try:
        return _read_zip_records(path, zf)
    finally:
        zf.close()


def _read_zip_records(path, zf):
    infos = zf.infolist()
    names = {i.filename: i for i in infos}
    if any(n.endswith("/constants.pkl") or "/code/" in n for n in names):
        raise CheckpointError(
            f"{path} is a TorchScript archive (torch.jit.save), not a state dict: load it with torch.jit.load "
            "and save model.state_dict() with torch.save"
        )
    pickles = [n for n in names if n.count("/") == 1 and n.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise CheckpointError(f"{path} is a zip archive but not a PyTorch checkpoint (no NAME/data.pkl record)")
    prefix = pickles[0][: -len("data.pkl")]
    byteorder = "little"
    if prefix + "byteorder" in names:
        byteorder = _read_record(zf, names[prefix + "byteorder"], path, limit=16).decode("ascii", "replace")
        if byteorder not in ("little", "big"):
            raise CheckpointError(f"{path}: unknown byte order {byteorder!r}")
    pkl = _read_record(zf, names[pickles[0]], path, limit=64 << 20)
    root = safe_load(pkl, f"{path}: {pickles[0]}")
    file_size = zf.fp.seek(0, 2) if zf.fp is not None else path.stat().st_size

    def locate(ref: StorageRef, f):
        info = names.get(f"{prefix}data/{ref.key}")
        if info is None:
            raise CheckpointError(f"{path}: storage {ref.key!r} has no data record")
        if info.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(f"{path}: storage {ref.key!r} is compressed; torch.save never compresses")
        return _data_offset(f, info, file_size, path), info.file_size

    return root, _Storages(path, byteorder, locate)


def _read_record(zf, info, path, limit):
    if info.compress_type != zipfile.ZIP_STORED:
        raise CheckpointError(f"{path}: record {info.filename} is compressed; torch.save never compresses")
    if info.file_size > limit:
        raise CheckpointError(f"{path}: record {info.filename} is implausibly large ({info.file_size} bytes)")
    try:
        return zf.read(info)
    except Exception as e:  # bad CRC, truncated data, damaged headers
        raise CheckpointError(f"{path}: cannot read {info.filename} ({type(e).__name__}: {e})") from None


def _data_offset(f, info, file_size, path) -> int:
    """Where a stored record's bytes start: after its local header (30 bytes, the name, the extra field)."""
    f.seek(info.header_offset)
    header = f.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise CheckpointError(f"{path}: damaged zip entry {info.filename}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    if info.compress_size != info.file_size or start + info.file_size > file_size:
        raise CheckpointError(f"{path}: zip entry {info.filename} claims more bytes than the file holds")
    return start


# ------------------------------------------------------------------------------------------- legacy format


def _read_legacy(path, f):
    f.seek(0)
    what = f"{path}"
    not_a_checkpoint = f"{path} is not a PyTorch checkpoint (neither a zip archive nor the legacy format)"
    head = f.read(2)
    f.seek(0)
    if len(head) < 2 or head[0] != 0x80 or not 2 <= head[1] <= 5:  # torch.save's pickles start with PROTO 2
        raise CheckpointError(not_a_checkpoint)
    try:
        magic = safe_load(f, what, legacy=True)
    except UnsafeCheckpointError:
        raise
    except CheckpointError:
        raise CheckpointError(not_a_checkpoint) from None
    if magic != LEGACY_MAGIC:
        raise CheckpointError(not_a_checkpoint)
    protocol = safe_load(f, what, legacy=True)
    if protocol != 1001:
        raise CheckpointError(f"{path}: unsupported legacy protocol version {protocol!r}")
    info = safe_load(f, what, legacy=True)
    little = info.get("little_endian", True) if isinstance(info, dict) else True
    root = safe_load(f, f"{path} (state dict pickle)", legacy=True)
    keys = safe_load(f, f"{path} (storage key list)", legacy=True)
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise CheckpointError(f"{path}: malformed storage key list")
    pos = f.tell()  # the storages' data starts right after the key list
    file_size = f.seek(0, 2)
    offsets = {}
    itemsizes = _element_sizes(root)
    for key in keys:  # each storage: its element count (int64), then its bytes
        f.seek(pos)
        head = f.read(8)
        if len(head) != 8:
            raise CheckpointError(f"{path} is truncated: storage {key!r} is missing")
        numel = struct.unpack("<q" if little else ">q", head)[0]
        offsets[key] = (pos + 8, numel)
        pos += 8
        if numel < 0:
            raise CheckpointError(f"{path}: storage {key!r} declares a negative size")
        pos += numel * itemsizes.get(key, 1)  # a storage no tensor uses: its bytes are skipped
        if pos > file_size:
            raise CheckpointError(f"{path} is truncated: storage {key!r} needs bytes past the end of the file")

    def locate(ref: StorageRef, f):
        if ref.key not in offsets:
            raise CheckpointError(f"{path}: storage {ref.key!r} is not in the storage key list")
        start, numel = offsets[ref.key]
        return start, numel * _ITEMSIZE[ref.dtype]

    return root, _Storages(path, "little" if little else "big", locate)


def _element_sizes(root) -> dict:
    """Bytes per element of each storage, from the tensors in the state dict that use it (one pass: a file of
    12,000 tensors is read in linear time)."""
    sizes = {}
    for rec in _records(root):
        ref = rec.storage
        sizes.setdefault(ref.key, _ITEMSIZE[ref.dtype])
        if ref.view:
            sizes.setdefault(ref.view[0], _ITEMSIZE[ref.dtype])
    return sizes


# ---------------------------------------------------------------------------------- storages and tensors

_ITEMSIZE = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int64": 8, "int32": 4, "int16": 2,
             "int8": 1, "uint8": 1, "bool": 1}  # fmt: skip


class _Storages:
    """Maps each storage to a 1-D array of its elements, read from the file once, checking its declared size."""

    def __init__(self, path, byteorder, locate):
        self.path, self.byteorder, self.locate, self.cache = path, byteorder, locate, {}
        self.file = None  # the open checkpoint, set by load_checkpoint while it reads

    def array(self, ref: StorageRef) -> np.ndarray:
        if ref.key not in self.cache:
            start, nbytes = self.locate(ref, self.file)
            itemsize = _ITEMSIZE[ref.dtype]
            if nbytes != ref.numel * itemsize:
                raise CheckpointError(
                    f"{self.path}: storage {ref.key!r} declares {ref.numel} {ref.dtype} elements "
                    f"({ref.numel * itemsize} bytes) but holds {nbytes} bytes"
                )
            raw_dtype = "uint16" if ref.dtype == "bfloat16" else ref.dtype
            dtype = np.dtype(raw_dtype).newbyteorder("<" if self.byteorder == "little" else ">")
            arr = np.empty(ref.numel, dtype)
            self.file.seek(start)
            if arr.size and self.file.readinto(memoryview(arr).cast("B")) != nbytes:
                raise CheckpointError(f"{self.path} is truncated: storage {ref.key!r} is shorter than declared")
            self.cache[ref.key] = (ref.dtype, arr)
        dtype, arr = self.cache[ref.key]
        if dtype != ref.dtype:
            raise CheckpointError(
                f"{self.path}: storage {ref.key!r} is used both as {dtype} and as {ref.dtype}; torch.save never "
                "writes that"
            )
        if ref.view is not None:  # legacy storage views: a slice of the root storage
            _, offset, numel = ref.view
            if offset + numel > arr.size:
                raise CheckpointError(f"{self.path}: a view of storage {ref.key!r} runs past its end")
            arr = arr[offset : offset + numel]
        return arr


def _records(obj):
    """Every TensorRecord in the (possibly nested) containers of a loaded pickle, without recursion."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, TensorRecord):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def _tensor(rec: TensorRecord, storages: _Storages, name: str, path) -> np.ndarray:
    """The array a TensorRecord describes: checked against its storage, then a strided view of it."""
    size, stride, offset = rec.size, rec.stride, rec.offset
    ok = (
        isinstance(size, tuple)
        and isinstance(stride, tuple)
        and len(size) == len(stride) <= MAX_DIMS
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (*size, *stride, offset))
    )
    if not ok:
        raise CheckpointError(f"{path}: tensor {name!r} has a malformed size, stride or offset")
    storage = storages.array(rec.storage)
    numel = 1
    for s in size:
        numel *= s
    if numel > max(64 * storage.size, 1 << 20):  # e.g. stride-0 "expanded" sizes of 2**40 elements
        raise CheckpointError(
            f"{path}: tensor {name!r} claims {numel} elements from a storage of {storage.size}: refused "
            "(it would need far more memory than the file holds)"
        )
    if numel == 0:
        out = np.empty(size, storage.dtype)
    else:
        last = offset + sum((s - 1) * st for s, st in zip(size, stride))  # the largest element index it reads
        if last >= storage.size:
            raise CheckpointError(
                f"{path}: tensor {name!r} (size {list(size)}, stride {list(stride)}, offset {offset}) reads past "
                f"the end of its storage of {storage.size} elements"
            )
        if stride == _contiguous_strides(size):  # the usual case: a plain reshape of a slice
            out = storage[offset : offset + numel].reshape(size)
        else:
            item = storage.itemsize  # a strided view whose base is the storage itself (checked to hold it above)
            out = np.ndarray(size, storage.dtype, buffer=storage, offset=offset * item,
                             strides=tuple(st * item for st in stride))  # fmt: skip
    if rec.storage.dtype == "bfloat16":  # the top 16 bits of a float32
        out = (out.astype(np.uint32) << 16).view(np.float32)
    if not out.dtype.isnative:
        out = out.astype(out.dtype.newbyteorder("="))
    return out


def _contiguous_strides(size) -> tuple:
    """Element strides of a C-contiguous array of this size: (prod(size[1:]), ..., size[-1], 1)."""
    strides, step = [], 1
    for s in reversed(size):
        strides.append(step)
        step *= s
    return tuple(reversed(strides))


def _state_dict(root, storages, path) -> dict[str, np.ndarray]:
    if isinstance(root, dict) and "state_dict" in root and isinstance(root["state_dict"], dict):
        root = root["state_dict"]
    if not isinstance(root, dict):
        raise CheckpointError(f"{path} holds a {type(root).__name__}, not a state dict")
    out = {}
    for name, value in root.items():
        if not isinstance(name, str):
            raise CheckpointError(f"{path}: state dict key {name!r} is not a string")
        if not isinstance(value, TensorRecord):
            raise CheckpointError(f"{path}: state dict entry {name!r} is a {type(value).__name__}, not a tensor")
        out[name] = _tensor(value, storages, name, path)
    return out
