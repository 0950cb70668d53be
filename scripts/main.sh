#!/usr/bin/env bash
# Set up (if needed), then the main job: train IteR-MRL's A3C with the `quick` preset on the
# synthetic default (the 2D env, minutes on a CPU) and evaluate it on held-out test cases:
# Dice per interaction step, ASSD and NoC@85/90 against the initial segmentation, no-learning
# baselines and the same agent without interaction. Extra arguments go to `segenv train`
# (e.g. `--total-updates 200`); RUN_DIR picks the run directory (default runs/a3c-quick).
# Re-running resumes (or, when finished, just re-evaluates) the run in RUN_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
RUN_DIR=${RUN_DIR:-runs/a3c-quick}
segenv train a3c --config quick --out "$RUN_DIR" --resume "$@"
segenv evaluate "$RUN_DIR" --split test
