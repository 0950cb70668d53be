#!/usr/bin/env bash
# Set up (if needed), then the main job: train IteR-MRL's A3C with the `quick3d` preset (the
# 3D env, 16×32×32 synthetic volumes, the image-aware start; about 15 minutes on a 2-core CPU)
# and evaluate it on held-out test cases: Dice per interaction step, the interactive metrics,
# ASSD and NoC@85/90 against the initial segmentation, no-learning baselines and the same agent
# without interaction. Extra arguments go to `segenv train` (e.g. `--total-updates 100`);
# RUN_DIR picks the run directory (default runs/a3c-quick3d). Re-running resumes (or, when
# finished, just re-evaluates) the run in RUN_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
RUN_DIR=${RUN_DIR:-runs/a3c-quick3d}
segenv train a3c --config quick3d --out "$RUN_DIR" --resume "$@"
segenv evaluate "$RUN_DIR" --split test
