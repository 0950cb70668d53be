"""Do the agents use the clicks? The click value, the gain and the harm on unseen data, in one run.

For a preset (``quick3d``: the 3D main job; ``quick``: the 2D one) and several training seeds
this trains, or resumes, under ``--out``:

* each learner of ``--learners`` (default A3C, MECCA, InterCNN, R-Net) with its preset;
* the same A3C **trained and tested without interaction** (no clicks, all-zero hints: what the
  image and ``p(0)`` alone allow);

then evaluates every run on the preset's held-out test cases with IteR-MRL Table 2's protocol
(5 clicks on ``p(0)``, 5 after each step, the largest-error user) and prints Dice (%) after
each step, mean ± std over seeds, for:

* the learning-free rows (the initial segmentation, the hint follower, min-cut);
* each learner with the clicks and with ``user="none"`` (noise hints, IteR-MRL Table 6);
* A3C trained without interaction;
* each learner on a **held-out family** (``--held-out``, never in training) with the clicks,
  beside the initial segmentation on those cases.

Last it checks the bar of "Agents that learn to use the clicks" for A3C, seed by seed: the
click value (Dice@5 with clicks minus Dice@5 with ``user="none"``, and minus the
interaction-free agent's) ≥ 5 points, Dice@5 ≥ Dice@0 + 10 (3D presets), mean Dice never
falling from one step to the next, and on the held-out family Dice never below Dice@0 and
ending ≥ 5 points above it. Finished runs and evaluations are kept (``eval.json`` in each run),
so an interrupted benchmark continues where it stopped.

``--start`` sets every run's ``p(0)`` (``coarse``: the coarse network trained once on the
synthetic ``train1``, cached, as ``segenv train --start coarse``); its runs go to
``OUT/<preset>-<start>``.

``python benchmarks/click_value.py --preset quick3d --seeds 0 1 2 --out runs/click_value``
(``--quick`` for a smoke run on tiny sizes).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import multiprocessing
import os
import platform
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import segenv  # noqa: F401  (registers the env ids)
from segenv.data.synthetic import HELD_OUT_FAMILIES
from segenv.files import atomic_write_text
from segenv.metrics import markdown_table
from segenv_agents import registry
from segenv_agents.coarse import prepare_run
from segenv_agents.common.config import (
    COARSE_START,
    STARTS,
    SYNTHETIC_COARSE_EPOCHS,
    RunArgs,
    env_id_of,
    evaluation_env_kwargs,
    interaction_free,
)
from segenv_agents.common.evaluation import Policy, evaluate_policy
from segenv_agents.common.runtime import configure_torch
from segenv_agents.graphcut import GraphCutPolicy
from segenv_agents.scripted import hint_follower_policy, noop_policy

LEARNERS = ("a3c", "mecca", "intercnn", "rnet")
SCRIPTED_ENV = {"actions": "paper", "state": "probability"}
NO_INTERACTION = "a3c trained without interaction"
NO_INTERACTION_FOLDER = "a3c-no-interaction"
TINY = {
    "shape": (8, 16, 16),
    "coarse_epochs": 1,
    "num_train_cases": 4,
    "num_test_cases": 2,
    "total_updates": 2,
    "channels": 4,
    "shared_dilations": (1,),
    "head_dilations": (1,),
    "checkpoint_every_s": 1e9,
}


def with_fields(args: RunArgs, changes: Mapping[str, Any]) -> RunArgs:
    """``args`` with those ``changes`` that are fields of its class."""
    names = {field.name for field in dataclasses.fields(args)}
    return dataclasses.replace(args, **{k: v for k, v in changes.items() if k in names})


def dice_per_step(make_env: Callable[[], gym.Env], policy: Policy, episodes: int) -> list[float]:
    """Mean Dice (%) after each step over ``episodes`` held-out episodes (seed 0 onwards)."""
    env = make_env()
    try:
        metrics = evaluate_policy(env, policy, episodes, seed=0, measure_assd=False)
    finally:
        env.close()
    return [100.0 * value for value in metrics.aggregate()["dice_mean"]]


def planned_runs(
    preset: str,
    learners: Sequence[str],
    seeds: Sequence[int],
    reference: RunArgs,
    changes: Mapping[str, Any],
) -> dict[str, tuple[str, RunArgs]]:
    """Run folder → (learner, args): each learner per seed, then A3C without interaction.

    ``changes`` (the start, tiny sizes) apply to every run; ``reference`` already has them.
    """
    runs: dict[str, tuple[str, RunArgs]] = {}
    for name in learners:
        for seed in seeds:
            args = with_fields(registry.preset(name, preset), {"seed": seed, **changes})
            runs[f"{name}-s{seed}"] = (name, args)
    for seed in seeds:  # the same A3C without any interaction, in training and test
        args = with_fields(reference, {"seed": seed, "initial_clicks": 0, "clicks_per_step": 0})
        runs[f"{NO_INTERACTION_FOLDER}-s{seed}"] = ("a3c", args)
    return runs


def train_run(name: str, args: RunArgs, run_dir: Path) -> str:
    """Train ``name`` into ``run_dir`` (resuming, or skipping a finished run); one line."""
    configure_torch(1)
    start = time.perf_counter()
    resume = (run_dir / "config.json").exists()
    registry.load(name).train(args, run_dir, resume=resume, show_progress=False)
    return f"  trained {run_dir.name} ({time.perf_counter() - start:.0f} s)"


def train_all(runs: Sequence[tuple[str, RunArgs, Path]], jobs: int) -> None:
    """Train every run, ``jobs`` at a time (separate single-threaded processes)."""
    if jobs == 1:
        for run in runs:
            print(train_run(*run), flush=True)
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
        for line in pool.map(train_run, *zip(*runs, strict=True)):
            print(line, flush=True)


def evaluations(
    run_dir: Path, variants: Mapping[str, Callable[[], list[float]]]
) -> dict[str, list[float]]:
    """Each variant's Dice per step, cached in ``run_dir/eval.json``."""
    path = run_dir / "eval.json"
    cached: dict[str, list[float]] = json.loads(path.read_text()) if path.is_file() else {}
    for variant, evaluate in variants.items():
        if variant not in cached:
            cached[variant] = evaluate()
            atomic_write_text(path, json.dumps(cached, indent=1) + "\n")
    return cached


def learner_rows(
    name: str, args: RunArgs, run_dir: Path, held_out: str, episodes: int
) -> dict[str, list[float]]:
    """A trained learner's rows: with the clicks, ``user=none`` and on the held-out family."""
    env_id = env_id_of(args)
    unseen = dataclasses.replace(args, test_family=held_out)

    def make(env_args: RunArgs, **overrides: Any) -> Callable[[], gym.Env]:
        return lambda: gym.make(env_id, **evaluation_env_kwargs(env_args, "test", **overrides))

    policy = registry.load(name).load_policy(run_dir)
    return evaluations(
        run_dir,
        {
            name: lambda: dice_per_step(make(args), policy, episodes),
            f"{name}, user=none": lambda: dice_per_step(make(args, user="none"), policy, episodes),
            f"{name}, held-out family": lambda: dice_per_step(make(unseen), policy, episodes),
        },
    )


def interaction_free_rows(args: RunArgs, run_dir: Path, episodes: int) -> dict[str, list[float]]:
    """The interaction-free A3C's row: tested, as trained, without any click."""
    policy = registry.load("a3c").load_policy(run_dir)
    kwargs = interaction_free(evaluation_env_kwargs(args))

    def evaluate() -> list[float]:
        return dice_per_step(lambda: gym.make(env_id_of(args), **kwargs), policy, episodes)

    return evaluations(run_dir, {NO_INTERACTION: evaluate})


def baseline_rows(args: RunArgs, held_out: str, episodes: int, out: Path) -> dict[str, list[float]]:
    """The learning-free rows (no seed): no-op, hint follower, min-cut; no-op on the held-out."""
    env_id = env_id_of(args)
    unseen = dataclasses.replace(args, test_family=held_out)

    def make(env_args: RunArgs, split: str = "test") -> Callable[[], gym.Env]:
        return lambda: gym.make(env_id, **evaluation_env_kwargs(env_args, split, **SCRIPTED_ENV))

    def min_cut() -> list[float]:
        return dice_per_step(make(args), GraphCutPolicy.tuned(make(args, "train")()), episodes)

    out.mkdir(parents=True, exist_ok=True)
    return evaluations(
        out,
        {
            "initial segmentation (no-op)": lambda: dice_per_step(
                make(args), noop_policy, episodes
            ),
            "hint follower (no learning)": lambda: dice_per_step(
                make(args), hint_follower_policy, episodes
            ),
            "min-cut (no learning)": min_cut,
            "initial segmentation, held-out family": lambda: dice_per_step(
                make(unseen), noop_policy, episodes
            ),
        },
    )


def mean_std(values: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (population) std over seeds, per step."""
    array = np.asarray(values, dtype=float)
    return array.mean(axis=0), array.std(axis=0)


def table(rows: Mapping[str, Sequence[Sequence[float]]]) -> str:
    """Markdown: Dice (%) per step, mean ± std over the seeds each row has."""
    steps = len(next(iter(rows.values()))[0])
    header = ["policy", "seeds", *(f"Dice@{t}" for t in range(steps)), "Δ"]
    lines = [header]
    for label, per_seed in rows.items():
        mean, std = mean_std(per_seed)
        cells = [
            f"{m:.2f}" if len(per_seed) == 1 else f"{m:.2f} ± {s:.2f}"
            for m, s in zip(mean, std, strict=True)
        ]
        lines.append([label, str(len(per_seed)), *cells, f"{mean[-1] - mean[0]:+.2f}"])
    return markdown_table(lines)


def bar_checks(
    seeds: Sequence[int],
    clicks: Sequence[Sequence[float]],
    without_user: Sequence[Sequence[float]],
    without_interaction: Sequence[Sequence[float]],
    held_out: Sequence[Sequence[float]],
    held_out_start: Sequence[float],
    *,
    gain_bar: float | None,
) -> list[list[str]]:
    """The issue's checks for A3C, one row per check and seed: value, bar, met."""
    rows = []

    def check(what: str, seed: int, value: float, bar: float) -> None:
        rows.append(
            [what, str(seed), f"{value:+.2f}", f"≥ {bar:+.2f}", "yes" if value >= bar else "NO"]
        )

    for index, seed in enumerate(seeds):
        dice, none = clicks[index], without_user[index]
        check("click value: Dice@5 minus user=none", seed, dice[-1] - none[-1], 5.0)
        check(
            "click value: Dice@5 minus the interaction-free agent",
            seed,
            dice[-1] - without_interaction[index][-1],
            5.0,
        )
        if gain_bar is not None:
            check("gain: Dice@5 minus Dice@0", seed, dice[-1] - dice[0], gain_bar)
        check("smallest step-to-step change", seed, float(np.min(np.diff(dice))), 0.0)
        unseen = np.asarray(held_out[index])
        check(
            "held-out family: lowest Dice minus Dice@0",
            seed,
            float(unseen.min() - held_out_start[0]),
            0.0,
        )
        check(
            "held-out family: Dice@5 minus Dice@0", seed, float(unseen[-1] - held_out_start[0]), 5.0
        )
    return rows


def git_revision() -> str:
    """The short git revision of the checkout (``unknown`` outside git)."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: Sequence[str] | None = None) -> None:
    """Train (or resume) every run, evaluate, print the tables and the bar's checks."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="quick3d", help="the learners' preset (quick3d, quick)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--learners", nargs="+", default=list(LEARNERS), choices=list(registry.LEARNERS)
    )
    parser.add_argument("--held-out", default=HELD_OUT_FAMILIES[0], help="family never trained on")
    parser.add_argument(
        "--start",
        default=None,
        choices=sorted([*STARTS, COARSE_START]),
        help="p(0) of every run (default: the preset's; 'coarse' trains the coarse network once)",
    )
    parser.add_argument("--out", type=Path, default=Path("runs/click_value"))
    parser.add_argument("--jobs", type=int, default=1, help="runs trained at the same time")
    parser.add_argument("--quick", action="store_true", help="a smoke run on tiny sizes")
    options = parser.parse_args(argv)
    if options.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {options.jobs}")
    configure_torch(1)
    wall = time.perf_counter()
    out = options.out / options.preset
    changes: dict[str, Any] = dict(TINY) if options.quick else {}
    if options.jobs > 1:  # two-thread presets side by side oversubscribe the cores (spin-waits)
        changes["threads"] = 1
    if options.start is not None:
        changes["start"] = options.start
        out = out.with_name(f"{options.preset}-{options.start}")
    reference = with_fields(registry.preset("a3c", options.preset), changes)
    if reference.start == COARSE_START:  # one coarse network for every run (cached)
        if "coarse_epochs" not in changes:
            changes["coarse_epochs"] = SYNTHETIC_COARSE_EPOCHS
        reference = prepare_run(with_fields(reference, changes), out)
        changes["coarse"] = reference.coarse
    episodes = reference.num_test_cases
    runs = planned_runs(options.preset, options.learners, options.seeds, reference, changes)
    train_all([(name, args, out / folder) for folder, (name, args) in runs.items()], options.jobs)
    rows: dict[str, list[list[float]]] = {}
    for name, values in baseline_rows(
        reference, options.held_out, episodes, out / "baselines"
    ).items():
        rows[name] = [values]
    for folder, (name, args) in runs.items():
        if folder.startswith(NO_INTERACTION_FOLDER):
            made = interaction_free_rows(args, out / folder, episodes)
        else:
            made = learner_rows(name, args, out / folder, options.held_out, episodes)
        for row, values in made.items():
            rows.setdefault(row, []).append(values)
    shape = "×".join(str(n) for n in reference.shape)
    print(
        f"\nClick value, preset {options.preset}: synthetic {reference.family} families "
        f"{shape}, difficulty {reference.difficulty}, {reference.start} start at Dice "
        f"{reference.target_dice}, {episodes} held-out test cases (held-out family: "
        f"{options.held_out}); seeds {' '.join(map(str, options.seeds))}; git {git_revision()}; "
        f"{platform.machine()}, {os.cpu_count()} cores; {time.perf_counter() - wall:.0f} s wall\n"
    )
    main_rows = {k: v for k, v in rows.items() if "held-out" not in k}
    print(table(main_rows))
    print("\nOn the held-out family (never in training):\n")
    print(table({k: v for k, v in rows.items() if "held-out" in k}))
    if "a3c" in options.learners:
        checks = bar_checks(
            options.seeds,
            rows["a3c"],
            rows["a3c, user=none"],
            rows[NO_INTERACTION],
            rows["a3c, held-out family"],
            rows["initial segmentation, held-out family"][0],
            gain_bar=10.0 if len(reference.shape) == 3 else None,
        )
        print("\nThe bar, for A3C (points of Dice):\n")
        print(markdown_table([["check", "seed", "value", "bar", "met"], *checks]))


if __name__ == "__main__":
    main()
