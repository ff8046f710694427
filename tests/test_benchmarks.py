"""The benchmark scripts still run (at a toy size: this checks that they work, not how fast anything is)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_conv_layers_benchmark_runs_and_writes_its_table(tmp_path):
    cmd = [sys.executable, str(ROOT / "benchmarks" / "conv_layers.py"), "--size", "16", "--repeats", "1"]
    cmd += ["--out", str(tmp_path), "--markdown", str(tmp_path / "table.md")]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "conv_layers.json").read_text())
    assert len(data["layers"]) == 13
    assert all(layer[name]["ms"] > 0 for layer in data["layers"] for name in ("naive", "im2col", "numba", "torch"))
    table = (tmp_path / "table.md").read_text()
    assert table.count("\n| ") >= 15 and "| all |" in table
