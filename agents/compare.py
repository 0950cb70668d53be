"""Evaluate a trained run against the initial segmentation and no-learning baselines.

:func:`evaluate_run` is ``segenv evaluate``: the agent of a run directory on held-out cases
with IteR-MRL Table 2's protocol (the largest-error user, clicks on ``p(0)`` then after every
step), next to the same agent without interaction (``user="none"``) and with the perturbed user
(``user="perturbed"``: jittered and skipped clicks, after Marinov et al. 2024), the initial
segmentation (the no-op policy: Dice stays), a hint-following heuristic and min-cut with the
clicks as seeds. Every row sees the same cases and initial states. Besides the table it reports
each learner's Dice drop under the perturbed user.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym

from segenv.errors import ConfigError
from segenv.metrics import InteractiveMetrics

from . import registry
from .common.checkpoints import CHECKPOINT_NAME, load_checkpoint
from .common.config import RunArgs, env_id_of, evaluation_env_kwargs
from .common.evaluation import (
    Policy,
    VoxelFlips,
    compare_policies,
    comparison_table,
    flips_table,
    summary_record,
)
from .common.runs import args_from_dict, read_config
from .graphcut import GraphCutPolicy
from .scripted import hint_follower_policy, noop_policy

Rows = dict[str, tuple[Policy, dict[str, Any]]]
"""``row name -> (policy, env overrides)``, as :func:`compare_policies` takes them."""


SCRIPTED_ENV = {"actions": "paper", "state": "probability"}
"""The env overrides of the learning-free rows (their own action set and state)."""


def comparison_rows(
    learner: str, policy: Policy, trained_user: str, *, min_cut: Policy | None
) -> Rows:
    """The rows of ``segenv evaluate``: baselines, the agent, as trained, without clicks, perturbed.

    The learning-free baselines are rows only when ``min_cut`` (the min-cut row's policy) is given.
    """
    rows: Rows = {}
    if min_cut is not None:
        rows["initial segmentation (no-op)"] = (noop_policy, SCRIPTED_ENV)
        rows["hint follower (no learning)"] = (hint_follower_policy, SCRIPTED_ENV)
        rows["min-cut (no learning)"] = (min_cut, SCRIPTED_ENV)
    rows[learner] = (policy, {})
    if trained_user not in ("largest_error", "none"):
        rows[f"{learner}, user={trained_user} (as trained)"] = (policy, {"user": trained_user})
    rows[f"{learner}, user=none"] = (policy, {"user": "none"})
    rows[perturbed_row(learner)] = (policy, {"user": "perturbed"})
    return rows


def perturbed_row(learner: str) -> str:
    """The name of a learner's row under the perturbed user."""
    return f"{learner}, user=perturbed"


def perturbed_drop(results: Mapping[str, InteractiveMetrics], learner: str) -> float:
    """Final Dice (points) the learner loses under the perturbed user, NaN without both rows."""
    if learner not in results or perturbed_row(learner) not in results:
        return math.nan
    clean = results[learner].aggregate()["dice_mean"][-1]
    perturbed = results[perturbed_row(learner)].aggregate()["dice_mean"][-1]
    return float(100.0 * (clean - perturbed))


def run_env_kwargs(args: RunArgs, split: str, dataset: str | None) -> dict[str, Any]:
    """The env of every row: the run's env on ``split`` (or a data set folder), evaluated.

    The protocol is :func:`~.common.config.evaluation_env_kwargs`'s.
    """
    if dataset is None:
        return evaluation_env_kwargs(args, split)
    if len(args.shape) != 3:
        raise ConfigError(
            f"--dataset needs a run trained on 3D volumes; this one used shape={args.shape}"
        )
    # another folder: all its cases, from the run's synthetic start (`start`: no coarse network)
    plain = dataclasses.replace(args, dataset="", splits="", coarse="")
    kwargs = evaluation_env_kwargs(plain, split)
    kwargs["dataset"] = dataset
    return kwargs


def evaluate_run(
    run: Path,
    *,
    split: str = "test",
    episodes: int | None = None,
    dataset: str | None = None,
    seed: int = 0,
    greedy: bool = True,
    device: str = "cpu",
    baselines: bool = True,
    flips: bool = False,
) -> tuple[str, dict[str, Any]]:
    """Evaluate the agent of run directory ``run``; return the printed text and a JSON record.

    ``flips=True`` adds the voxels fixed and broken per step (see ``flips_table``).
    """
    name, recorded = read_config(run)
    learner = registry.load(name)
    args = args_from_dict(learner.Args, recorded)
    state = load_checkpoint(Path(run) / CHECKPOINT_NAME)
    if state is not None and int(state.get("updates", 1)) < 1:
        raise ConfigError(
            f"{run} holds an untrained network (0 updates); train it first: segenv train "
            f"{name} --out {run} --resume --total-updates N"
        )
    episodes = args.eval_episodes if episodes is None else episodes
    if episodes < 1:
        raise ConfigError(f"--episodes must be >= 1, got {episodes}")
    base = run_env_kwargs(args, split, dataset)
    env_id = env_id_of(args)
    probe = gym.make(env_id, **base)
    episodes = min(episodes, len(probe.unwrapped.dataset))  # type: ignore[attr-defined]
    probe.close()

    def make_env(**overrides: Any) -> gym.Env:
        return gym.make(env_id, **{**base, **overrides})

    policy = learner.load_policy(run, greedy=greedy, device=device)
    min_cut = None
    if baselines:  # min-cut's λ is chosen on the run's training cases, σ per image
        training = evaluation_env_kwargs(args, "train", **SCRIPTED_ENV)
        min_cut = GraphCutPolicy.tuned(gym.make(env_id, **training))
    rows = comparison_rows(name, policy, args.user, min_cut=min_cut)
    start = time.perf_counter()
    counts = {row: VoxelFlips() for row in rows} if flips else None
    results = compare_policies(make_env, rows, episodes, seed=seed, flips=counts)
    if dataset is not None:
        where = dataset
    elif args.dataset:
        where = f"{'test' if split == 'test' else 'train2'} split of {args.dataset}"
    else:
        where = f"synthetic {split} split"
    title = (
        f"{name} run {run}: {episodes} episodes on the {where}, shape {tuple(args.shape)}, "
        f"{args.initial_clicks} clicks on p(0) then {args.clicks_per_step} per step, "
        f"{'greedy' if greedy else 'sampled'} actions ({time.perf_counter() - start:.0f} s)"
    )
    record: dict[str, Any] = {"run": str(run), "split": split, "episodes": episodes}
    record["rows"] = summary_record(results)
    text = f"{title}\n\n{comparison_table(results)}\n\n"
    text += (
        "Dice in %, Δ = final - initial (points); DSC_AUC / NSD_AUC: area over the steps after "
        "clicks (CVPR 2025 protocol, at most T - 1), NSD at 2 mm (0 where Dice <= 0.2), in %; "
        "ASSD in mm; FPV / FNV: false-positive / false-negative component volumes (autoPET), "
        "mm³; ms/step: the policy's time per interaction step."
    )
    drop = perturbed_drop(results, name)
    record["perturbed_drop"] = None if math.isnan(drop) else round(drop, 4)
    if not math.isnan(drop):
        text += (
            f"\n\nRobustness: {name} loses {drop:+.2f} points of final Dice under the perturbed "
            "user (largest-error clicks jittered by 2 mm, 20 % skipped; Marinov et al. 2024)."
        )
    if counts is not None:
        record["flips"] = {row: row_flips.record() for row, row_flips in counts.items()}
        text += (
            f"\n\nVoxels fixed / broken per episode by each step's actions:\n\n"
            f"{flips_table(counts)}"
        )
    return text, record
