"""The benchmark suite still runs (a tiny smoke run: this checks that it works, not how fast anything is)."""

import json
import subprocess
import sys
from pathlib import Path

from minicnn.kernels.registry import ALGORITHMS

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_suite_runs_and_writes_its_report(tmp_path):
    cmd = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--out", str(tmp_path / "results"),
           "--docs", str(tmp_path / "docs")]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    data = json.loads((tmp_path / "results" / "benchmarks.json").read_text())
    assert len(data["layers"]) >= 9 and all(
        row["torch"]["ms"] > 0 and row["im2col"]["ms"] > 0 for row in data["layers"]
    )
    for row in data["layers"]:  # fractions of the GEMM peak measured beside each layer
        assert row["gemm_peak_gflops"] > 0 and "gemm" not in row
        assert (
            abs(row["torch"]["of_peak"] * row["gemm_peak_gflops"] - row["torch"]["gflops"])
            < 1e-6 * row["torch"]["gflops"]
        )
    assert {n["model"] for n in data["networks"]} == {"vgg16", "resnet50", "efficientnet_lite0"}
    convs = {"vgg16": 13, "resnet50": 53, "efficientnet_lite0": 49}  # what optimize ran, every convolution counted
    assert all(sum(n["plan"].values()) == convs[n["model"]] for n in data["networks"])
    assert all(set(n["plan"]) <= set(ALGORITHMS) for n in data["networks"])
    assert data["memory"]["minicnn_mb"] > 0 and data["load_ms"]["torch"] > 0
    table = (tmp_path / "docs" / "benchmarks.md").read_text()
    assert "## Whole networks" in table and "| vgg16 | 1 |" in table and "What `optimize` ran" in table
    for plot in ("bench_layers.png", "bench_roofline.png"):
        assert (tmp_path / "docs" / "figures" / plot).stat().st_size > 10_000


def test_training_benchmark_runs(tmp_path):
    cmd = [sys.executable, str(ROOT / "benchmarks" / "training.py"), "--quick", "--out", str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    data = json.loads((tmp_path / "training-quick.json").read_text())
    assert data["meta"]["isa"] in ("AVX-512", "AVX2", "no AVX2")
    step = data["training_step"]
    assert all(step[f"{name} ms"] > 0 for name in ("minicnn", "minicnn compiled", "torch", "torch channels-last"))
    assert len(data["conv_backward"]) == 13 and all(r["error"] < 1e-4 for r in data["conv_backward"])
