#!/usr/bin/env bash
# Idempotent set-up: a virtualenv in .venv with torch (CPU wheel first, so no CUDA build is
# pulled in) and segenv installed in editable mode with the learners' extra and the dev tools.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
if ! python -c "import torch" >/dev/null 2>&1; then
    pip install --quiet torch==2.13.0
fi
pip install --quiet -e ".[learners,dev]"
