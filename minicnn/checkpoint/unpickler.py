"""A pickle reader that only understands what a PyTorch state dict needs, and refuses everything else.

A checkpoint is a pickle, and unpickling can import and call anything: ``pickle.load`` on a downloaded file
runs whatever code its author wanted. This reader is safe by construction:

- ``find_class`` (the GLOBAL, STACK_GLOBAL, INST and OBJ opcodes, and the extension registry) answers only
  the names below, each mapped to minicnn's own harmless stand-in; any other name raises
  ``UnsafeCheckpointError`` naming it, before anything is imported.
- REDUCE, NEWOBJ and BUILD therefore only ever call those stand-ins, and BUILD may only set attributes
  from a dict on an ``OrderedDict`` (torch stores the state dict's ``_metadata`` that way).
- ``persistent_load`` only accepts torch's storage records: ``("storage", type, key, location, numel)``.
- It is NumPy-free and torch-free: tensors come out as ``TensorRecord``s (storage, offset, size, stride),
  checked and turned into arrays by ``minicnn.checkpoint.reader``.

Any other failure while reading (truncated data, a bad opcode, a stand-in called with wrong arguments)
becomes a ``CheckpointError``. It never falls back to ``pickle.load``.
"""

from __future__ import annotations

import collections
import io
import pickle
from dataclasses import dataclass

from minicnn.checkpoint.errors import CheckpointError, UnsafeCheckpointError

#: torch's storage classes and the NumPy dtype name of their elements ("bfloat16" has no NumPy dtype).
STORAGE_TYPES = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
}


@dataclass(frozen=True)
class StorageType:
    """Stands in for ``torch.FloatStorage`` and friends: only its element type matters."""

    name: str
    dtype: str


@dataclass(frozen=True)
class StorageRef:
    """A storage named by a persistent id: where its bytes are is up to the file format."""

    key: str
    dtype: str
    numel: int
    view: tuple[str, int, int] | None = None  # legacy format: (view key, offset, numel) into this root


@dataclass(frozen=True)
class TensorRecord:
    """What ``torch._utils._rebuild_tensor_v2`` would build: a strided view into a storage."""

    storage: StorageRef
    offset: int
    size: tuple
    stride: tuple


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    """Stand-in for ``torch._utils._rebuild_tensor(_v2)``: records the view; requires_grad, hooks ignored."""
    if not isinstance(storage, StorageRef):
        raise CheckpointError("a tensor in the checkpoint is not built on a storage")
    return TensorRecord(storage, storage_offset, size, stride)


def _rebuild_parameter(data, *_ignored):
    """Stand-in for ``torch._utils._rebuild_parameter``: a parameter is its tensor."""
    if not isinstance(data, TensorRecord):
        raise CheckpointError("a parameter in the checkpoint does not hold a tensor")
    return data


ALLOWED = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): StorageType(name, dtype) for name, dtype in STORAGE_TYPES.items()},
}


class SafeUnpickler(pickle._Unpickler):
    """The pure-Python unpickler with an allow-list (its opcode table is ours to restrict)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, legacy=False):
        super().__init__(file)
        self.legacy = legacy

    def find_class(self, module, name):
        target = ALLOWED.get((module, name))
        if target is None:
            raise UnsafeCheckpointError(
                f"the checkpoint asks for {module}.{name}, which a state dict never needs: refused, nothing was run"
            )
        return target

    def persistent_load(self, pid):
        n = 6 if self.legacy else 5
        if not (isinstance(pid, tuple) and len(pid) == n and pid[0] == "storage"):
            raise UnsafeCheckpointError(
                f"unexpected persistent id in the checkpoint (only storages are allowed): {_short(pid)}"
            )
        _, stype, key, location, numel = pid[:5]
        if not isinstance(stype, StorageType):
            raise CheckpointError(f"storage {_short(key)} has no torch storage type")
        if not (isinstance(key, str) and isinstance(location, str) and _is_index(numel)):
            raise CheckpointError(f"malformed storage record {_short(pid)}")
        view = pid[5] if self.legacy else None
        if view is not None and not (
            isinstance(view, tuple) and len(view) == 3 and isinstance(view[0], str) and all(map(_is_index, view[1:]))
        ):
            raise CheckpointError(f"malformed storage view record for storage {_short(key)}")
        return StorageRef(key, stype.dtype, numel, view)

    def load_build(self):
        state = self.stack.pop()
        inst = self.stack[-1]
        if not (isinstance(inst, collections.OrderedDict) and type(state) is dict):
            raise UnsafeCheckpointError(f"the checkpoint sets the state of a {type(inst).__name__}: refused")
        if not all(isinstance(k, str) and not k.startswith("__") and not hasattr(dict, k) for k in state):
            # a key such as "items" would hide the dict's own method (and make the state dict read as another)
            raise UnsafeCheckpointError("the checkpoint sets special attributes on a dict: refused")
        inst.__dict__.update(state)

    dispatch[pickle.BUILD[0]] = load_build

    objects = 0  # containers and memo entries made so far

    def _count(self):
        self.objects += 1
        if self.objects > MAX_OBJECTS:
            raise CheckpointError(f"the checkpoint's pickle builds more than {MAX_OBJECTS} objects; a state dict of "
                                  "50,000 tensors needs fewer: refused")  # fmt: skip

    def load_bytearray8(self):
        # pickle's own version allocates the declared length (up to 2**63 bytes) before reading anything
        raise CheckpointError("the checkpoint holds a bytearray, which a state dict never does: refused")

    dispatch[pickle.BYTEARRAY8[0]] = load_bytearray8


def _counted(handler):
    def counting(self):
        self._count()
        handler(self)

    return counting


#: Opcodes that make a new container, or a memo entry: counted, so that the memory a pickle can take is bounded
#: (16 MB of EMPTY_SET opcodes made 16 million sets, 3.6 GB, before this bound).
for _opcode in (pickle.EMPTY_LIST, pickle.EMPTY_DICT, pickle.EMPTY_SET, pickle.EMPTY_TUPLE, pickle.LIST,
                pickle.DICT, pickle.TUPLE, pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3, pickle.FROZENSET, pickle.MARK,
                pickle.PUT, pickle.BINPUT, pickle.LONG_BINPUT, pickle.MEMOIZE, pickle.REDUCE, pickle.NEWOBJ,
                pickle.BINUNICODE, pickle.SHORT_BINUNICODE, pickle.BININT, pickle.BININT1, pickle.BININT2,
                pickle.BINFLOAT, pickle.LONG1):  # fmt: skip
    SafeUnpickler.dispatch[_opcode[0]] = _counted(SafeUnpickler.dispatch[_opcode[0]])


#: The most pickle bytes one load may read: a state dict's pickle is a few hundred kB (its data lives
#: outside it).
MAX_PICKLE_BYTES = 64 << 20
#: The most objects (containers, strings, numbers, memo entries) one pickle may make: ResNet50's state dict makes
#: about 8,000, a 12,000-tensor file about 300,000; 2 million bound the memory to about 450 MB (empty sets, the
#: largest object one opcode makes, are 216 bytes).
MAX_OBJECTS = 2_000_000


class _Bounded(io.RawIOBase):
    """A read-only view of a binary file that refuses to hand out more than ``limit`` bytes."""

    def __init__(self, f, limit, what):
        self.f, self.left, self.what = f, limit, what

    def readable(self):
        return True

    def _take(self, n):
        if n is None or n < 0 or n > self.left:
            n = self.left + 1
        data = self.f.read(n)
        self.left -= len(data)
        if self.left < 0:
            raise CheckpointError(f"{self.what}: its pickle is larger than {MAX_PICKLE_BYTES >> 20} MB")
        return data

    def read(self, n=-1):
        return self._take(n)

    def readline(self, size=-1):
        line = self.f.readline(min(self.left + 1, 1 << 20) if size is None or size < 0 else min(size, self.left + 1))
        self.left -= len(line)
        if self.left < 0:
            raise CheckpointError(f"{self.what}: its pickle is larger than {MAX_PICKLE_BYTES >> 20} MB")
        return line


def safe_load(data: bytes | io.BufferedIOBase, what: str, legacy=False):
    """Unpickle one pickle from ``data`` (bytes or an open binary file) with the allow-list, reading at
    most MAX_PICKLE_BYTES bytes."""
    f = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    try:
        return SafeUnpickler(_Bounded(f, MAX_PICKLE_BYTES, what), legacy=legacy).load()
    except CheckpointError:
        raise
    except RecursionError:
        raise CheckpointError(f"{what} nests too deeply") from None
    except MemoryError:
        raise CheckpointError(f"{what} asks for more memory than is available") from None
    except Exception as e:  # truncated data, bad opcodes, stand-ins called with wrong arguments, ...
        raise CheckpointError(f"{what} is not a valid pickle ({type(e).__name__}: {_short(e)})") from None


def _is_index(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _short(v, limit=120) -> str:
    try:
        text = repr(v) if not isinstance(v, BaseException) else str(v)
    except Exception:
        text = f"<{type(v).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
