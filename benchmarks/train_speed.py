"""Training speed: env steps/s and voxel-agent transitions/s of every learner.

Each learner trains for a few updates at the ``quick`` and ``paper`` sizes (the paper size with
its batch shrunk to one episode per update, and one PPO epoch, so that a CPU measurement takes
seconds, not minutes), on CPU and, when present, on CUDA. Throughput is the learner's own
running figure (the same as the progress bar), measured after the first update so start-up is
excluded.
One env step is one joint action of every voxel; transitions = env steps × voxels.

Run: ``python benchmarks/train_speed.py`` (``--sizes quick`` / ``--learners a3c`` to narrow it,
``--updates N`` for longer, steadier figures).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from segenv_agents import a3c, mecca, ppo, sb3

LEARNERS = ("a3c", "mecca", "ppo", "sb3_ppo")
SIZES = ("quick", "paper")


def _args(learner: str, size: str, updates: int, device: str, tiny: bool) -> Any:
    if learner == "sb3_ppo":
        base: Any = sb3.CONFIGS[size]
        changes: dict[str, Any] = {"total_timesteps": base.n_steps * base.num_envs * updates}
        if size == "paper":
            changes.update(num_envs=1, batch_size=base.n_steps, n_epochs=1)
            changes["total_timesteps"] = base.n_steps * updates
    elif learner == "ppo":
        base = ppo.CONFIGS[size]
        changes = {"total_updates": updates, "log_every": 1}
        if size == "paper":
            changes.update(num_envs=1, num_minibatches=1, update_epochs=1)
    else:
        module = a3c if learner == "a3c" else mecca
        base = module.CONFIGS[size]
        changes = {"total_updates": updates, "pretrain_updates": 0, "log_every": 1}
        if size == "paper":
            changes.update(num_envs=1, workers=1)
    changes.update(device=device, checkpoint_every_s=1e9, threads=0)
    if tiny:  # for the test: a tiny volume and net
        changes.update(shape=(16, 16), num_train_cases=2, num_test_cases=1, channels=4)
    return dataclasses.replace(base, **changes)


def measure(learner: str, size: str, updates: int, device: str, tiny: bool = False) -> dict:
    """Train ``learner`` for ``updates`` updates; return its throughput figures."""
    args = _args(learner, size, updates, device, tiny)
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "run"
        start = time.perf_counter()
        modules = {"a3c": a3c, "mecca": mecca, "ppo": ppo, "sb3_ppo": sb3}
        modules[learner].train(args, out, show_progress=False)
        wall = time.perf_counter() - start
        rows = [json.loads(line) for line in (out / "scalars.jsonl").open()]
    first, last = rows[0], rows[-1]  # rates between the first and the last update
    seconds = max(last["wall_s"] - first["wall_s"], 1e-9)
    return {
        "learner": learner,
        "size": size,
        "shape": "×".join(str(s) for s in args.shape),
        "device": device,
        "env_steps_per_s": (last["env_steps_total"] - first["env_steps_total"]) / seconds,
        "transitions_per_s": (last["transitions_total"] - first["transitions_total"]) / seconds,
        "wall_s": wall,
    }


def main(argv: list[str] | None = None) -> None:
    """Print a Markdown table of training throughput."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", nargs="+", default=list(LEARNERS), choices=LEARNERS)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--updates", type=int, default=3, help="updates per measurement")
    parser.add_argument("--tiny", action="store_true", help="tiny volumes (smoke test)")
    options = parser.parse_args(argv)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__}, threads {torch.get_num_threads()}, devices {devices}"
    )
    print("\n| learner | config | volume | device | env steps/s | transitions/s | wall s |")
    print("|---|---|---|---|---|---|---|")
    for device in devices:
        for size in options.sizes:
            for learner in options.learners:
                row = measure(learner, size, options.updates, device, options.tiny)
                print(
                    f"| {row['learner']} | {row['size']} | {row['shape']} | {row['device']} | "
                    f"{row['env_steps_per_s']:.1f} | {row['transitions_per_s']:.3g} | "
                    f"{row['wall_s']:.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
