#!/usr/bin/env bash
# Set up (if needed), then the main job: evaluate policies on held-out synthetic cases and
# print Dice per interaction step.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
python -m agents.scripted "$@"
