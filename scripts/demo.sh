#!/usr/bin/env bash
# The main job: install minicnn (runtime dependencies only, no torch) into .venv and run the walkthrough
# demo on the shipped photo. Extra arguments go to `minicnn demo` (e.g. --out DIR, --image PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
pip_install -e '.[efficientnet]'
exec python -m minicnn demo "$@"
