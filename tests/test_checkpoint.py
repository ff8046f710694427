"""The checkpoint reader: every storage dtype, views into shared storages, both formats, and refusals."""

import collections
import mmap
import pickle
import zipfile

import numpy as np
import pytest
import torch

from minicnn.checkpoint import CheckpointError, UnsafeCheckpointError, load_checkpoint

FORMATS = ["zip", "legacy"]


def save(obj, path, fmt):
    torch.save(obj, path, _use_new_zipfile_serialization=(fmt == "zip"))
    return path


def expected(t):
    t = t.detach()
    return (t.float() if t.dtype == torch.bfloat16 else t).numpy()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_dtype_and_views_into_shared_storages(fmt, tmp_path):
    base = torch.arange(24, dtype=torch.float32) * 0.5
    state = collections.OrderedDict()
    state["base"] = base
    state["view_with_offset"] = base[5:17].view(3, 4)  # shares base's storage, offset 5
    state["transposed"] = base[:12].view(3, 4).t()  # non-contiguous strides
    state["every_other"] = base[1::2]  # stride 2
    state["expanded"] = torch.tensor([1.0, 2.0]).expand(3, 2)  # stride 0
    state["scalar"] = torch.tensor(3.25, dtype=torch.float64)
    state["empty"] = torch.zeros(0, 4)
    for dtype in (torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16, torch.int8,
                  torch.uint8, torch.bool):  # fmt: skip
        state[f"as_{dtype}".replace("torch.", "")] = (torch.arange(-3, 9) % 5).to(dtype).view(3, 4)
    state["parameter"] = torch.nn.Parameter(torch.ones(2, 2))
    state["bf16_values"] = torch.tensor([1.5, -2.25, 3.0e38, 1e-20], dtype=torch.bfloat16)
    path = save(state, tmp_path / "all.pth", fmt)
    loaded = load_checkpoint(path)
    assert list(loaded) == list(state)
    for name, t in state.items():
        want = expected(t)
        assert loaded[name].shape == want.shape, name
        assert loaded[name].dtype == want.dtype, name
        np.testing.assert_array_equal(loaded[name], want, err_msg=name)
    assert loaded["as_bfloat16"].dtype == np.float32 and loaded["as_float16"].dtype == np.float16


@pytest.mark.parametrize("fmt", FORMATS)
def test_arrays_are_the_processs_own_and_writable_without_touching_the_file(fmt, tmp_path):
    """Read into memory, not mapped: a loaded array never follows the file, and editing it never changes the file."""
    path = save({"w": torch.arange(1000, dtype=torch.float32)}, tmp_path / "w.pth", fmt)
    before = path.read_bytes()
    w = load_checkpoint(path)["w"]
    assert not memory_mapped(w) and w.flags.writeable
    w[:] = -1
    assert path.read_bytes() == before
    assert load_checkpoint(path)["w"][3] == 3


def test_training_checkpoint_with_a_state_dict_inside(tmp_path):
    path = save({"epoch": 3, "state_dict": {"w": torch.ones(2)}}, tmp_path / "train.pth", "zip")
    assert list(load_checkpoint(path)) == ["w"]


def memory_mapped(a) -> bool:
    """Whether an array's memory comes from a file mapping (following the chain of views)."""
    while a is not None:
        if isinstance(a, (np.memmap, mmap.mmap)):
            return True
        a = getattr(a, "base", None)
    return False


class RunsCode:
    """Unpickling this calls os.system: a canary file appears if the reader ever runs it."""

    def __init__(self, canary):
        self.canary = canary

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.canary}",))


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_checkpoint_that_runs_code_is_refused_without_running_it(fmt, tmp_path):
    canary = tmp_path / "canary"
    path = save({"w": torch.ones(2), "evil": RunsCode(canary)}, tmp_path / "evil.pth", fmt)
    with pytest.raises(UnsafeCheckpointError, match=r"posix.system|os.system"):
        load_checkpoint(path)
    assert not canary.exists()
    with pytest.raises(Exception):  # noqa: B017 - torch's own safe mode refuses it too
        torch.load(path, weights_only=True)
    assert not canary.exists()


def test_build_on_anything_but_a_dict_is_refused(tmp_path):
    """BUILD can call __setstate__: only an OrderedDict's plain attributes (torch's _metadata) may be set."""
    payload = b"\x80\x02ccollections\nOrderedDict\nq\x00)R}q\x01X\x09\x00\x00\x00__class__K\x01sb."
    zpath = tmp_path / "build.pth"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("build/data.pkl", payload)
    with pytest.raises(UnsafeCheckpointError, match="special attributes"):
        load_checkpoint(zpath)


def test_not_a_checkpoint(tmp_path):
    for name, content in [("empty.pth", b""), ("text.pth", b"hello world"), ("pickle.pth", pickle.dumps([1, 2]))]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(CheckpointError):
            load_checkpoint(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "missing.pth")


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_checkpoint_is_a_checkpoint_error(fmt, tmp_path):
    path = save({"w": torch.arange(100, dtype=torch.float32)}, tmp_path / "w.pth", fmt)
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 40):
        (tmp_path / "cut.pth").write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            load_checkpoint(tmp_path / "cut.pth")


@pytest.mark.filterwarnings("ignore::FutureWarning")  # torch.jit is deprecated, still what people have
def test_torchscript_archive_says_what_it_is(tmp_path):
    scripted = torch.jit.script(torch.nn.Linear(2, 2))
    torch.jit.save(scripted, str(tmp_path / "scripted.pt"))
    with pytest.raises(CheckpointError, match="TorchScript"):
        load_checkpoint(tmp_path / "scripted.pt")


def test_a_view_past_its_storage_is_refused(tmp_path):
    """A hand-edited pickle whose tensor claims more elements than its storage holds."""
    path = save({"w": torch.arange(6, dtype=torch.float32)}, tmp_path / "w.pth", "zip")
    with zipfile.ZipFile(path) as z:
        records = {i.filename: z.read(i) for i in z.infolist()}
    pkl_name = next(n for n in records if n.endswith("data.pkl"))
    records[pkl_name] = records[pkl_name].replace(b"K\x06\x85", b"K\x60\x85")  # size (6,) -> (96,)
    bad = tmp_path / "bad.pth"
    with zipfile.ZipFile(bad, "w") as z:
        for name, data in records.items():
            z.writestr(name, data)
    with pytest.raises(CheckpointError, match="reads past the end of its storage"):
        load_checkpoint(bad)


def test_reader_never_imports_torch_or_uses_plain_pickle():
    import minicnn.checkpoint.reader as reader
    import minicnn.checkpoint.unpickler as unpickler

    for module in (reader, unpickler):
        source = open(module.__file__).read()
        assert "import torch" not in source and "pickle.load(" not in source and "pickle.loads(" not in source
