#!/usr/bin/env bash
# On a machine with a CUDA GPU: the CUDA tests against torch on the GPU, then the GPU benchmark, which writes
# docs/benchmarks_gpu.md and benchmarks/results/gpu.json. Prepared for the few minutes a GPU is at hand:
# it installs what it needs into .venv (like scripts/test.sh) and stops at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
pip_install -e '.[reference,test,efficientnet]'
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA GPU visible to torch')"
python -m pytest -q -m cuda tests/ "$@"
python benchmarks/gpu.py
