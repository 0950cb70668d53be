"""Data-parallel scaling: updates/s and voxel-agent transitions/s on 1 and 2 ranks (torchrun).

Each measurement is one ``torchrun --standalone --nproc_per_node=N`` run of ``segenv train``
with the same preset and the same per-rank batch (``num_envs`` episodes per rank and update),
one torch thread per rank, for a few updates. Rates are read from rank 0's
``scalars.jsonl`` between the first and the last update (start-up and the first update's lazy
imports excluded); transitions are summed over the ranks. Scaling efficiency is the N-rank
transition rate over N times the 1-rank rate (1.0 = perfect).

With 2 ranks an update plays twice the episodes (2 × num_envs), so updates/s should stay flat
and transitions/s double when the ranks have a core each. On a machine whose cores are shared
with other jobs the figure is a floor, not a property of the code.

Run: ``python benchmarks/ddp_scaling.py`` (``--learner ppo``, ``--updates 10``, ``--ranks 1 2
4``; ``--tiny`` for a 16×16 smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    *("--shape", "16", "16", "--num-train-cases", "4", "--num-test-cases", "2"),
    *("--channels", "4", "--shared-dilations", "1", "--head-dilations", "1"),
]


def measure(learner: str, ranks: int, updates: int, config: str, tiny: bool) -> dict[str, float]:
    """Train ``updates`` updates on ``ranks`` ranks; return rank 0's rates."""
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "run"
        command = [
            *(sys.executable, "-m", "torch.distributed.run", "--standalone"),
            f"--nproc_per_node={ranks}",
            *("-m", "segenv_agents.cli", "train", learner, "--config", config),
            *("--out", str(out), "--total-updates", str(updates), "--log-every", "1"),
            *("--threads", "1", "--checkpoint-every-s", "1e9", "--no-progress"),
            *(TINY if tiny else []),
        ]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{ranks} rank(s) failed:\n{done.stderr[-3000:]}")
        rows = [json.loads(line) for line in (out / "scalars.jsonl").open()]
    first, last = rows[0], rows[-1]
    seconds = max(last["wall_s"] - first["wall_s"], 1e-9)
    return {
        "ranks": ranks,
        "updates_per_s": (last["step"] - first["step"]) / seconds,
        "transitions_per_s": (last["transitions_total"] - first["transitions_total"]) / seconds,
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> None:
    """Print a Markdown table of throughput per world size and the scaling efficiency."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learner", default="a3c", choices=("a3c", "ppo", "mecca"))
    parser.add_argument("--config", default="quick", help="the preset (default quick)")
    parser.add_argument("--ranks", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--updates", type=int, default=6, help="updates per measurement (>= 2)")
    parser.add_argument("--tiny", action="store_true", help="a 16×16 env and net (smoke test)")
    options = parser.parse_args(argv)
    if options.updates < 2:
        parser.error("--updates must be >= 2 (the rate is taken after the first update)")
    cores = os.cpu_count() or 1
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"{platform.processor() or platform.machine()}, {cores} cores, torch {torch.__version__}, "
        f"gloo, 1 thread per rank; load average before the runs {load} (this machine's "
        f"{cores} cores are shared with other jobs, so the figures are a floor)"
    )
    size = "16×16 (--tiny)" if options.tiny else f"--config {options.config}"
    print(f"{options.learner}, {size}, {options.updates} updates per run (the first not timed)")
    print("\n| ranks | updates/s | voxel-agent transitions/s | timed s | efficiency |")
    print("|---|---|---|---|---|")
    base = None
    for ranks in options.ranks:
        row = measure(options.learner, ranks, options.updates, options.config, options.tiny)
        if base is None and ranks == 1:
            base = row["transitions_per_s"]
        efficiency = "" if base is None else f"{row['transitions_per_s'] / (ranks * base):.2f}"
        print(
            f"| {ranks} | {row['updates_per_s']:.2f} | {row['transitions_per_s']:.3g} | "
            f"{row['seconds']:.1f} | {efficiency} |",
            flush=True,
        )
    print(
        "\nefficiency = N-rank transitions/s / (N × 1-rank transitions/s); per-rank batch "
        "unchanged, so an N-rank update holds N times the episodes"
    )


if __name__ == "__main__":
    main()
