#!/usr/bin/env bash
# The checks that need a CUDA device, in a few minutes: the gpu-marked tests (the torch hint
# transform, the torch clicks and the batched env's torch backend against the reference env
# on CUDA) and the CUDA figures of benchmarks/device_speed.py and benchmarks/hints_speed.py.
#
# The lent GPU machines' image has torch, numba, scipy, scikit-image and pytest but not
# gymnasium, pettingzoo or nibabel, and reaches no package index. So, once, here:
#     bash benchmarks/gpu_check.sh --fetch-wheels     # -> runs/gpu-wheels (git-ignored)
# then on the device (carry runs/gpu-wheels), from the repository root:
#     bash benchmarks/gpu_check.sh                    # logs also in $OUT (or runs/gpu-check)
# Exit status: the tests' (the benchmarks only print).
set -uo pipefail
cd "$(dirname "$0")/.."
WHEELS=runs/gpu-wheels

if [ "${1:-}" = "--fetch-wheels" ]; then
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$WHEELS" \
        gymnasium==1.4.0 pettingzoo==1.27.0 farama-notifications==0.0.6 nibabel==5.4.2
    exit $?
fi

if ! python3 -c "import gymnasium, pettingzoo, nibabel" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$WHEELS"/*.whl || exit 1
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
LOGS=${OUT:-runs/gpu-check}
mkdir -p "$LOGS"
nvidia-smi -L
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" || exit 1

timeout 300 python3 -m pytest -m gpu -q -p no:cacheprovider \
    tests/envs/test_torch_hints.py tests/envs/test_torch_clicks.py \
    tests/views/test_batched_torch_backend.py tests/views/test_batched_env.py \
    2>&1 | tee "$LOGS/gpu-tests.log"
status=${PIPESTATUS[0]}

timeout 240 python3 benchmarks/device_speed.py --quick --device all --threads 16 \
    2>&1 | tee "$LOGS/device-speed.txt"
timeout 120 python3 benchmarks/hints_speed.py --quick 2>&1 | tee "$LOGS/hints-speed.txt"
exit "$status"
