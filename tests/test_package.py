"""The package around the ops: no torch needed, Numba's disk cache, the comparison helper, doctests."""

import doctest
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minicnn.testing
from minicnn.testing import assert_close, normalized_max_error

ROOT = Path(__file__).resolve().parents[1]


def run_python(code, env=None):
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})}
    )


def test_minicnn_runs_without_torch():
    """minicnn never imports torch: with torch made unimportable, every op still runs."""
    code = """
import sys
sys.modules["torch"] = None  # any 'import torch' now raises ImportError
import numpy as np, minicnn, minicnn.functional as F
x = np.ones((1, 3, 8, 8), np.float32)
for a in minicnn.CONV_ALGORITHMS:
    y = F.conv2d(x, np.ones((2, 3, 3, 3), np.float32), padding=1, algorithm=a)
y = F.softmax(F.linear(F.max_pool2d(F.relu(y), 2).reshape(1, -1), np.ones((5, 32), np.float32)), dim=1)
assert "torch" not in [m.split(".")[0] for m in sys.modules if sys.modules[m] is not None]
print(y.shape)
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 5)"


def imports_of(path: Path) -> set[str]:
    """The modules a source file imports (absolute names; relative imports are not used in minicnn)."""
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_layers_import_only_what_is_below_them():
    """kernels import nothing above them (NumPy, Numba, threadpoolctl, the specs, the settings); the CUDA backend
    never imports minicnn.functional; the model files hold no fusion or layout code."""
    for path in (ROOT / "minicnn" / "kernels").glob("*.py"):
        for name in imports_of(path):
            if name.startswith("minicnn"):
                assert name.startswith(("minicnn.kernels", "minicnn.specs", "minicnn.settings")) or name in (
                    "minicnn",), (path.name, name)  # fmt: skip
    for path in (ROOT / "minicnn" / "cuda").glob("*.py"):
        assert not any(n.startswith("minicnn.functional") for n in imports_of(path)), path.name
    for path in (ROOT / "minicnn" / "models").glob("*.py"):  # the names the code uses, docstrings aside
        import ast

        used = {n.id for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Name)}
        used |= {n.attr for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Attribute)}
        fusion = {"optimize", "to_channels_last", "to_memory_format", "conv_bn", "foldable", "watched", "Epilogue"}
        assert not used & fusion, (path.name, used & fusion)


def test_functional_imports_without_pillow_and_changes_no_process_setting():
    """``import minicnn.functional`` (and ``minicnn``, ``minicnn.nn``) needs NumPy alone, and importing minicnn
    sets no environment variable (NUMBA_THREADING_LAYER used to be) and loads no Numba."""
    code = """
import os, sys
sys.modules["PIL"] = None
before = dict(os.environ)
import numpy as np, minicnn, minicnn.functional as F, minicnn.nn as nn
y = nn.Conv2d(3, 4, 3)(np.ones((1, 3, 6, 6), np.float32))
assert dict(os.environ) == before, set(os.environ) ^ set(before)
assert "numba" not in sys.modules and "PIL" not in [m for m in sys.modules if sys.modules[m] is not None]
print(y.shape)
"""
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(1, 4, 4, 4)"


def test_the_notebooks_first_convolutions_compile_time_and_write_nothing(tmp_path):
    """The notebook's Gaussian (20x20) and Prewitt (on 1x3x256x256) cells in a fresh process with empty caches:
    the default path is NumPy, so nothing is compiled, measured or written (issue 10)."""
    code = """
import sys, time
import numpy as np, minicnn.functional as F
t0 = time.perf_counter()
x = np.random.rand(1, 3, 256, 256).astype(np.float32)
g = np.exp(-((np.arange(20) - 9.5) ** 2) / 20).astype(np.float32)
gauss = np.broadcast_to(np.outer(g, g), (1, 3, 20, 20)).copy()
blur = F.conv2d(x, gauss)
prewitt = np.tile(np.array([[-1, 0, 1]] * 3, np.float32), (2, 3, 1, 1))
edges = F.conv2d(x, prewitt, padding=1)
print(blur.shape, edges.shape, "numba" in sys.modules, round(time.perf_counter() - t0, 2))
"""
    result = run_python(code, {"MINICNN_CACHE_DIR": str(tmp_path / "cache"), "NUMBA_CACHE_DIR": str(tmp_path / "nb")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:9] == ["(1,", "1,", "237,", "237)", "(1,", "2,", "256,", "256)", "False"]
    assert not (tmp_path / "cache").exists() and not (tmp_path / "nb").exists()  # nothing written


def test_optimize_with_the_default_rule_compiles_nothing(tmp_path):
    """optimize(model, algorithm="default") (classify's default) folds, fuses and goes channels-last with NumPy alone:
    its epilogues and depthwise convolutions too, so a fresh process neither loads Numba nor writes a compiled file
    (classify with EfficientNet-Lite0: 0.7 s warm instead of 1.3)."""
    code = """
import sys
import numpy as np, minicnn
from minicnn import nn
from minicnn.models.efficientnet import MBConvBlock
from minicnn.models.resnet import Bottleneck, conv1x1
down = nn.Sequential(conv1x1(8, 16), nn.BatchNorm2d(16))
model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
                      Bottleneck(8, 4, downsample=down), MBConvBlock(16, 16, 3, 1, 2)).eval()
x = np.random.default_rng(0).random((1, 3, 24, 24), np.float32)
expected = model(x)
minicnn.optimize(model, x, algorithm="default")
error = float(np.abs(model(x) - expected).max())
assert error < 1e-4 and "numba" not in sys.modules, (error, "numba" in sys.modules)
print(vars(model[3]).get("_optimized"))  # the Bottleneck runs fused
"""
    result = run_python(code, {"NUMBA_CACHE_DIR": str(tmp_path / "nb")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True" and not (tmp_path / "nb").exists()


def test_im2col_on_both_threads_does_not_load_numba():
    """The NumPy path (classify's default) stays NumPy: Numba costs 65 MB of memory just to import."""
    code = """
import sys
import numpy as np, minicnn.functional as F
from minicnn.kernels import threads
x = F.to_channels_last(np.ones((1, 8, 40, 40), np.float32))
y = F.relu(F.conv2d(x, np.ones((4, 8, 3, 3), np.float32), np.ones(4, np.float32), padding=1, algorithm="im2col"))
assert threads.count() == 2 and "numba" not in sys.modules, (threads.count(), "numba" in sys.modules)
print(y.shape, float(y.max()))
"""
    result = run_python(code, {"NUMBA_NUM_THREADS": "2", "MINICNN_AUTOTUNE": "0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["(1,", "4,", "40,", "40)", "73.0"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork: POSIX only")
def test_kernels_on_threads_work_in_a_forked_child_and_at_interpreter_exit():
    """A forked child (multiprocessing's default on Linux) has copies of the worker pools but none of their
    threads, and at interpreter exit no thread may start: the work then runs on the calling thread."""
    code = """
import os, signal, threading, time
import numpy as np, minicnn.functional as F
signal.alarm(60)  # a hang fails the test instead of stalling it
x = F.to_channels_last(np.ones((1, 8, 40, 40), np.float32))
w = np.ones((4, 8, 3, 3), np.float32)
conv = lambda: float(F.conv2d(x, w, padding=1, algorithm="im2col").max())
print("parent", conv())
pid = os.fork()
if pid == 0:
    signal.alarm(30)
    print("child", conv(), flush=True)
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("child exit", os.waitstatus_to_exitcode(status))
threading.Thread(target=lambda: (time.sleep(0.5), print("after exit", conv(), flush=True))).start()
"""
    result = run_python(code, {"NUMBA_NUM_THREADS": "2", "MINICNN_AUTOTUNE": "0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:4] == ["parent 72.0", "child 72.0", "child exit 0", "after exit 72.0"]


def test_numba_kernels_are_compiled_once_and_cached_on_disk(tmp_path):
    """A second process loads the compiled conv2d kernel from the cache directory instead of compiling."""
    code = """
import json, numpy as np, minicnn.functional as F
from minicnn.kernels.conv_numba_blocked import _conv2d_blocked as kernel
F.conv2d(np.ones((1, 2, 5, 5), np.float32), np.ones((3, 2, 3, 3), np.float32), algorithm="numba_blocked")
print(json.dumps({"hits": sum(kernel.stats.cache_hits.values()),
                  "misses": sum(kernel.stats.cache_misses.values())}))
"""
    env = {"NUMBA_CACHE_DIR": str(tmp_path)}
    first, second = run_python(code, env), run_python(code, env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    first, second = json.loads(first.stdout), json.loads(second.stdout)
    assert first == {"hits": 0, "misses": 1}  # compiled, then written to tmp_path
    assert second == {"hits": 1, "misses": 0}  # loaded from tmp_path
    assert any(tmp_path.rglob("*.nbi")), "no cache index written"


def test_assert_close_fails_when_it_should():
    ref = np.array([1.0, -2.0, 4.0])
    assert assert_close(ref.astype(np.float32), ref, kind="exact", dtype=np.float32) == 0.0
    with pytest.raises(AssertionError, match="shape"):
        assert_close(ref[:2], ref, kind="exact")
    with pytest.raises(AssertionError, match="dtype float64 != expected float32"):
        assert_close(ref, ref, kind="exact", dtype=np.float32)
    with pytest.raises(AssertionError, match="normalized max error 0.25 > tolerance"):
        assert_close(ref + [0, 0, 1], ref, kind="reduction")
    with pytest.raises(AssertionError, match="NaN pattern differs"):
        assert_close(np.array([np.nan, -2, 4]), ref, kind="reduction")
    with pytest.raises(AssertionError, match=r"\+inf pattern differs"):
        assert_close(np.array([1, -2, np.inf]), np.array([1, -2, -np.inf]), kind="reduction")
    with pytest.raises(AssertionError, match="integer values differ"):
        assert_close(np.array([1, 2]), np.array([1, 3]), kind="exact")
    # the scale argument: an error of 1e-3 is large next to outputs of 1, small next to terms of 1e4
    assert normalized_max_error([1.001], [1.0]) == pytest.approx(1e-3)
    assert normalized_max_error([1.001], [1.0], scale=1e4) == pytest.approx(1e-7)


@pytest.mark.parametrize(
    "module",
    ["minicnn.functional.conv", "minicnn.functional.pooling", "minicnn.functional.activation", "minicnn._config"],
)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_every_tolerance_has_both_dtypes():
    tables = minicnn.testing.TOLERANCES
    assert set(tables["float32"]) == set(tables["float64"])
    assert all(tables["float64"][k] <= tables["float32"][k] for k in tables["float32"])
