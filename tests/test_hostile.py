"""Hostile checkpoints are refused without running anything; mutated ones load or raise CheckpointError."""

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minicnn
from minicnn.checkpoint import CheckpointError, UnsafeCheckpointError, load_checkpoint
from tests import fuzz_checkpoints
from tests.hostile import corpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    canary = folder / "canary"
    return corpus(folder, canary), canary


def test_the_corpus_covers_every_attack(hostile):
    names = " ".join(hostile[0])
    for attack in ("REDUCE", "NEWOBJ", "BUILD", "INST", "OBJ", "STACK_GLOBAL", "persistent id", "key-list pickle",
                   "declared size", "negative", "overflowing", "deflate bomb", "nesting", "tar", "empty"):  # fmt: skip
        assert attack in names, attack


def test_every_hostile_checkpoint_is_refused_and_nothing_runs(hostile):
    files, canary = hostile
    assert len(files) >= 50
    for name, (path, expected) in files.items():
        with pytest.raises(CheckpointError) as err:
            load_checkpoint(path)
        if expected == "UnsafeCheckpointError":
            assert isinstance(err.value, UnsafeCheckpointError), f"{name}: {err.value}"
        assert str(path) in str(err.value) or "checkpoint" in str(err.value), f"{name}: {err.value}"
    assert not canary.exists(), "a hostile checkpoint ran code"
    assert issubclass(minicnn.CheckpointError, ValueError) and minicnn.UnsafeCheckpointError is UnsafeCheckpointError


def test_errors_name_the_problem(hostile):
    files, _ = hostile
    expectations = {
        "zip REDUCE os.system": "asks for os.system",
        "legacy key-list pickle REDUCE": "asks for os.system",
        "zip NEWOBJ subprocess.Popen": "asks for subprocess.Popen",
        "zip declared size larger than the bytes": "declares 100 float32 elements (400 bytes) but holds 16 bytes",
        "zip 2**40 elements of one": "claims 1099511627776 elements",
        "zip deflate bomb (storage)": "compressed",
        "ancient tar format": "tar format",
        "PNG file": "is not a PyTorch checkpoint",
        "legacy huge pickle": "larger than 64 MB",
    }
    for name, text in expectations.items():
        with pytest.raises(CheckpointError, match=text.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
            load_checkpoint(files[name][0])


def test_memory_stays_bounded(hostile):
    """Every hostile file, loaded in a process limited to 1.5 GB of address space (the bombs claim far more)."""
    files, canary = hostile
    paths = [str(path) for path, _ in files.values()]
    code = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
from minicnn.checkpoint import CheckpointError, load_checkpoint
for path in sys.argv[1:]:
    try:
        load_checkpoint(path)
        print("LOADED", path)
    except CheckpointError:
        pass
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, cwd=ROOT,
                            timeout=300)  # fmt: skip
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr
    assert not canary.exists()


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    return fuzz_checkpoints.base_checkpoints(tmp_path_factory.mktemp("bases"))


operations = st.lists(
    st.one_of(
        st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 255)),
        st.tuples(st.just("cut"), st.integers(0, 10**6)),
        st.tuples(st.just("insert"), st.integers(0, 10**6), st.binary(min_size=1, max_size=16)),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=300)
@given(fmt=st.sampled_from(["zip", "legacy"]), ops=operations)
def test_mutated_checkpoints_load_or_raise_checkpoint_error(bases, fmt, ops, tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / f"mutant_{fmt}.pth"
    path.write_bytes(fuzz_checkpoints.mutate(bases[fmt], ops))
    assert fuzz_checkpoints.check_one(path) in ("loaded", "refused")


def test_the_unmutated_bases_load(bases, tmp_path):
    for fmt, data in bases.items():
        (tmp_path / fmt).write_bytes(data)
        assert fuzz_checkpoints.check_one(tmp_path / fmt) == "loaded"


def test_the_long_fuzzing_command_runs():
    result = subprocess.run([sys.executable, "-m", "tests.fuzz_checkpoints", "--iterations", "300"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0 and "no other outcome" in result.stdout, result.stderr
