"""Hand-assembled hostile checkpoints: pickles that try to run code, lie about their data, or explode.

Every builder returns the bytes of a file; ``corpus(folder, canary)`` writes them all. Any payload that
would run code touches ``canary`` (a file path) if it ever runs, so a test can prove nothing ran.
The pickles are written opcode by opcode (protocol 2, and 4 for STACK_GLOBAL), as an attacker would.
"""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def X(text: str) -> bytes:
    """BINUNICODE: a str."""
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def INT(n: int) -> bytes:
    """LONG (protocol 0 text form): any int, negative or huge."""
    return b"L" + str(n).encode() + b"L\n"


def TUPLE(values) -> bytes:
    return b"(" + b"".join(INT(v) for v in values) + b"t"


def GLOBAL(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


ORDERED_DICT = GLOBAL("collections", "OrderedDict") + b")R"


def state_dict_pickle(tensors, legacy=False, extra=b"") -> bytes:
    """A torch-style state dict pickle: tensors = [(name, storage type, key, numel, offset, size, stride)]."""
    out = [b"\x80\x02", ORDERED_DICT, b"("]
    for name, stype, key, numel, offset, size, stride in tensors:
        pid = b"(" + X("storage") + GLOBAL("torch", stype) + X(key) + X("cpu") + INT(numel)
        pid += (b"N" if legacy else b"") + b"t"
        out += [X(name), GLOBAL("torch._utils", "_rebuild_tensor_v2"), b"(", pid, b"Q", INT(offset), TUPLE(size),
                TUPLE(stride), b"\x89", ORDERED_DICT, b"tR"]  # fmt: skip
    out += [extra, b"u."]
    return b"".join(out)


def zip_checkpoint(pickle_bytes: bytes, records: dict | None = None, compress_pickle=False) -> bytes:
    """A zip-format checkpoint: archive/data.pkl plus archive/data/<key> records."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", pickle_bytes, zipfile.ZIP_DEFLATED if compress_pickle else zipfile.ZIP_STORED)
        z.writestr("archive/byteorder", b"little")
        for key, data in (records or {}).items():
            z.writestr(f"archive/data/{key}", data)
    return buf.getvalue()


def _pickle_int(n: int) -> bytes:
    return b"\x80\x02" + INT(n) + b"."


def legacy_checkpoint(main_pickle: bytes, keys=("0",), storages=(b"",), element_size=4, magic=None,
                      sys_info=None, keys_pickle=None) -> bytes:  # fmt: skip
    """The legacy format: magic, protocol, sys info, the state dict's pickle, the key list, then the data."""
    info = sys_info or (b"\x80\x02}(" + X("protocol_version") + INT(1001) + X("little_endian") + b"\x88u.")
    key_list = keys_pickle or (b"\x80\x02](" + b"".join(X(k) for k in keys) + b"e.")
    data = b"".join(struct.pack("<q", len(s) // element_size) + s for s in storages)
    return (magic or _pickle_int(LEGACY_MAGIC)) + _pickle_int(1001) + info + main_pickle + key_list + data


def runs_code(canary: str) -> dict:
    """Pickles that would run `touch canary`, one per way a pickle can call something."""
    cmd = X(f"touch {canary}")
    return {
        "REDUCE os.system": b"\x80\x02" + GLOBAL("os", "system") + cmd + b"\x85R.",
        "REDUCE builtins.eval": b"\x80\x02" + GLOBAL("builtins", "eval")
        + X(f"__import__('os').system('touch {canary}')") + b"\x85R.",
        "NEWOBJ subprocess.Popen": b"\x80\x02" + GLOBAL("subprocess", "Popen") + b"](" + X("touch") + X(canary)
        + b"e\x85\x81.",
        "INST os.system": b"\x80\x02(" + cmd + b"ios\nsystem\n.",
        "OBJ os.system": b"\x80\x02(" + GLOBAL("os", "system") + cmd + b"o.",
        "STACK_GLOBAL os.system": b"\x80\x04" + X("os") + X("system") + b"\x93" + cmd + b"\x85R.",
        "BUILD with a tuple state": b"\x80\x02" + ORDERED_DICT + b"}" + X("a") + INT(1) + b"sN\x86b.",
        "BUILD on a tensor record": state_dict_pickle([("w", "FloatStorage", "0", 1, 0, (1,), (1,))])[:-2]
        + b"}" + X("x") + INT(1) + b"sbu.",
        "persistent id: a string": b"\x80\x02" + ORDERED_DICT + b"(" + X("w") + X("module") + b"Qu.",
        "persistent id: not a storage": b"\x80\x02" + ORDERED_DICT + b"(" + X("w") + b"(" + X("module") + X("os")
        + b"\x86Qu.",
    }  # fmt: skip


def lies() -> dict:
    """Well-formed tensors whose views do not fit their storages, or ask for absurd memory:
    {name: (storage numel declared, offset, size, stride)}, all over one storage of 4 float32."""
    return {
        "declared size larger than the bytes": (100, 0, (4,), (1,)),
        "declared size smaller than the bytes": (2, 0, (2,), (1,)),
        "size past the storage": (4, 0, (5,), (1,)),
        "offset past the storage": (4, 4, (1,), (1,)),
        "stride past the storage": (4, 0, (2,), (4,)),
        "negative size": (4, 0, (-1,), (1,)),
        "negative stride": (4, 3, (2,), (-1,)),
        "negative offset": (4, -1, (1,), (1,)),
        "overflowing size": (4, 0, (2**62, 2**62), (0, 0)),
        "2**40 elements of one": (4, 0, (2**20, 2**20), (0, 0)),
        "100 dimensions": (4, 0, (1,) * 100, (1,) * 100),
    }


def corpus(folder, canary):
    """Write every hostile file into ``folder``; return {name: (path, expected error class name)}."""
    from pathlib import Path

    folder = Path(folder)
    files = {}

    def put(name, data, error):
        path = folder / (name.replace(" ", "_").replace(":", "").replace("*", "x").replace(".", "_") + ".pth")
        path.write_bytes(data)
        files[name] = (path, error)

    for name, payload in runs_code(str(canary)).items():
        put(f"zip {name}", zip_checkpoint(payload), "UnsafeCheckpointError")
        put(f"legacy main pickle {name}", legacy_checkpoint(payload), "UnsafeCheckpointError")
    good_main = state_dict_pickle([("w", "FloatStorage", "0", 1, 0, (1,), (1,))], legacy=True)
    evil = runs_code(str(canary))["REDUCE os.system"]
    put("legacy key-list pickle REDUCE", legacy_checkpoint(good_main, storages=(b"\0" * 4,), keys_pickle=evil),
        "UnsafeCheckpointError")  # fmt: skip
    put("legacy sys-info pickle REDUCE", legacy_checkpoint(good_main, storages=(b"\0" * 4,), sys_info=evil),
        "UnsafeCheckpointError")  # fmt: skip
    put("legacy magic pickle REDUCE", legacy_checkpoint(good_main, storages=(b"\0" * 4,), magic=evil),
        "UnsafeCheckpointError")  # fmt: skip
    f4 = struct.pack("<4f", 1, 2, 3, 4)
    for name, (numel, offset, size, stride) in lies().items():
        tensor = [("w", "FloatStorage", "0", numel, offset, size, stride)]
        put(f"zip {name}", zip_checkpoint(state_dict_pickle(tensor), {"0": f4}), "CheckpointError")
        legacy = legacy_checkpoint(state_dict_pickle(tensor, legacy=True), storages=(f4,))
        put(f"legacy {name}", legacy, "CheckpointError")
    missing = state_dict_pickle([("w", "FloatStorage", "0", 4, 0, (4,), (1,))])
    put("zip missing storage record", zip_checkpoint(missing), "CheckpointError")
    bomb = b"\0" * (200 << 20)  # 200 MB of zeros: about 200 kB deflated
    bomb_pickle = b"\x80\x02" + X("a") + bomb + b"."
    put("zip deflate bomb (pickle)", zip_checkpoint(bomb_pickle, compress_pickle=True), "CheckpointError")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", state_dict_pickle([("w", "FloatStorage", "0", len(bomb) // 4, 0, (4,), (1,))]))
        z.writestr("archive/data/0", bomb, zipfile.ZIP_DEFLATED)
    put("zip deflate bomb (storage)", buf.getvalue(), "CheckpointError")
    depth = 200_000
    put("nesting 200,000 lists deep", zip_checkpoint(b"\x80\x02" + b"]" * depth + b"a" * (depth - 1) + b"."),
        "CheckpointError")  # fmt: skip
    nested_value = b"]" * 50_000 + b"a" * 49_999  # a list 50,000 deep as a state dict entry
    deep_entry = b"\x80\x02" + ORDERED_DICT + b"(" + X("w") + nested_value + b"u."
    put("nesting in the state dict", zip_checkpoint(deep_entry), "CheckpointError")
    put("legacy huge pickle", legacy_checkpoint(b"\x80\x02" + b"]" + (X("x" * 1000) + b"a") * 70_000 + b"."),
        "CheckpointError")  # fmt: skip
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        for member in ("sys_info", "pickle", "storages", "tensors"):
            info = tarfile.TarInfo(member)
            info.size = 4
            t.addfile(info, io.BytesIO(b"\x80\x02N."))
    put("ancient tar format", tar.getvalue(), "CheckpointError")
    put("empty file", b"", "CheckpointError")
    put("text file", b"weights = [1, 2, 3]\n" * 10, "CheckpointError")
    put("PNG file", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "CheckpointError")
    put("zip without data.pkl", _plain_zip(), "CheckpointError")
    return files


def _plain_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a checkpoint")
    return buf.getvalue()
