"""Roll out policies on held-out cases and summarise the interactive metrics.

Dice and NSD per interaction step, DSC_AUC and NSD_AUC (the CVPR 2025 interactive 3D
protocol), the final ASSD, NoC, the autoPET lesion volumes and the time per interaction step
(see :mod:`segenv.metrics`). A :data:`Policy` is ``policy(observation, env) -> action`` with the
observation and action layouts of :class:`segenv.envs.InteractiveSegEnv`: the scripted
baselines, min-cut and every trained learner's ``load_policy`` give one.

The time per interaction step is measured here, in the evaluation loop: the wall time of the
policy's call on one step (its inference), not the env's step with its click simulation, as
the CVPR 2025 evaluator times a model's inference without the click generation.

:class:`VoxelFlips` also counts, per step, the voxels an action turned correct and those it
turned wrong; the wrong voxels grow in number exactly where the second count is the larger.
:func:`flips_table` shows where and why Dice falls (``segenv evaluate RUN --flips``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import gymnasium as gym
import numpy as np

from segenv.data.case import Case
from segenv.errors import ConfigError
from segenv.metrics import (
    NSD_TOLERANCE_MM,
    InteractiveMetrics,
    assd,
    false_negative_volume,
    false_positive_volume,
    interactive_nsd,
    markdown_table,
)

Policy = Callable[[np.ndarray, gym.Env], np.ndarray]
"""``policy(observation, env) -> action`` for one env (the env gives clicks, deltas, ...)."""


def state_channels(
    observation: np.ndarray, env: gym.Env
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The image ``(M, ...)``, ``p``, ``h+`` and ``h-`` of one observation of ``env``.

    Indexed after the env's M image channels, so an optional last channel (``step_channel``)
    does not shift them.
    """
    m = int(env.unwrapped.num_modalities)  # type: ignore[attr-defined]
    return observation[:m], observation[m], observation[m + 1], observation[m + 2]


def flip_counts(before: np.ndarray, after: np.ndarray, label: np.ndarray) -> tuple[int, int]:
    """Voxels one step turned correct (``fixed``) and turned wrong (``broken``).

    ``before`` and ``after`` are the binary predictions around the step, ``label`` the truth.
    """
    was_right, is_right = before == label, after == label
    fixed, broken = is_right & ~was_right, was_right & ~is_right
    return int(np.count_nonzero(fixed)), int(np.count_nonzero(broken))


@dataclass
class VoxelFlips:
    """Per episode and step, the voxels each action fixed and broke (see :func:`flip_counts`)."""

    fixed: list[list[int]] = field(default_factory=list)
    broken: list[list[int]] = field(default_factory=list)

    def add_episode(self, predictions: Sequence[np.ndarray], label: np.ndarray) -> None:
        """Count one episode from its binary predictions: before any step, then after each."""
        counts = [flip_counts(a, b, label) for a, b in pairwise(predictions)]
        self.fixed.append([fixed for fixed, _ in counts])
        self.broken.append([broken for _, broken in counts])

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean fixed and broken voxels per episode at each step, ``(T,)`` each."""
        if not self.fixed:
            raise ConfigError("VoxelFlips has no episode yet; pass it to evaluate_policy first")
        return np.mean(self.fixed, axis=0), np.mean(self.broken, axis=0)

    def record(self) -> dict[str, list[float]]:
        """The means as JSON-ready lists: ``{"fixed": [...], "broken": [...]}``."""
        fixed, broken = self.means()
        return {"fixed": fixed.tolist(), "broken": broken.tolist()}


def _prediction(env: gym.Env) -> np.ndarray:
    unwrapped = env.unwrapped
    return np.reshape(unwrapped.probability >= 0.5, unwrapped.case.shape)  # type: ignore[attr-defined]


@dataclass
class Episode:
    """One evaluation episode, as :func:`play_episodes` records it."""

    dice: list[float]
    """Dice of ``p >= 0.5`` before any step, then after every step (T + 1)"""
    clicks: list[int]
    """clicks given so far at each of those points (``info["num_clicks"]``)"""
    final: np.ndarray
    """the binary prediction after the last step, ``(D, H, W)``"""
    case: Case
    """the episode's case (its label and spacing)"""
    predictions: list[np.ndarray] | None = None
    """every binary prediction (T + 1), when asked for"""
    seconds: list[float] = field(default_factory=list)
    """wall time of the policy's call at each step (T), seconds"""

    @property
    def clicks_per_step(self) -> np.ndarray:
        """The clicks each step's action could use: those given before it, ``(T,)``."""
        return np.diff(self.clicks[:-1], prepend=0)

    @property
    def clicks_used(self) -> list[int]:
        """Clicks used to reach each Dice value: 0 at step 0, then those before each step."""
        return [0, *self.clicks[:-1]]


def play_episodes(
    env: gym.Env, policy: Policy, episodes: int, *, seed: int = 0, predictions: bool = False
) -> Iterator[Episode]:
    """Play ``episodes`` episodes on cases ``0..episodes-1`` of ``env``'s data set.

    Episode ``i`` is reset with ``seed + i`` and ``case_index = i % len(dataset)``, so two
    policies played with the same seed see the same cases and the same initial states.
    Dice after step t is reached with the clicks given before that step's action.
    ``predictions=True`` also keeps every step's binary prediction.
    """
    unwrapped = env.unwrapped
    num_cases = len(unwrapped.dataset)  # type: ignore[attr-defined]
    env.action_space.seed(seed)
    for episode in range(episodes):
        observation, info = env.reset(
            seed=seed + episode, options={"case_index": episode % num_cases}
        )
        kept = [_prediction(env)] if predictions else None
        dice_values, clicks = [float(info["dice"])], [int(info["num_clicks"])]
        done = False
        seconds: list[float] = []
        while not done:
            start = time.perf_counter()
            action = policy(observation, env)
            seconds.append(time.perf_counter() - start)
            observation, _, terminated, truncated, info = env.step(action)
            if kept is not None:
                kept.append(_prediction(env))
            dice_values.append(float(info["dice"]))
            clicks.append(int(info["num_clicks"]))
            done = bool(terminated or truncated)
        final = kept[-1] if kept is not None else _prediction(env)
        case = unwrapped.case  # type: ignore[attr-defined]
        yield Episode(dice_values, clicks, final, case, kept, seconds)


@dataclass
class EpisodeScores:
    """The per-episode metrics of :func:`score_episode` (fractions, mm³, seconds)."""

    dice: list[float]
    """Dice before any step, then after every step (T + 1)"""
    nsd: list[float] | None
    """NSD as the CVPR 2025 evaluator scores it at the same points, None if not measured"""
    false_positive_volume: float
    """the final prediction's false-positive component volume, mm³"""
    false_negative_volume: float
    """the final false-negative component volume, mm³"""
    seconds_per_step: float
    """mean wall time of the policy's call per step, seconds"""


def score_episode(episode: Episode, tolerance_mm: float = NSD_TOLERANCE_MM) -> EpisodeScores:
    """NSD per step (if the episode kept its predictions), lesion volumes and time per step.

    The NSD follows the CVPR 2025 evaluator (:func:`segenv.metrics.interactive_nsd`: 0 where the
    Dice is ≤ 0.2); the volumes are autoPET's, of the final prediction, with the case's spacing.
    """
    label, spacing = episode.case.label, episode.case.spacing
    nsd = None
    if episode.predictions is not None:
        nsd = [
            interactive_nsd(prediction, label, spacing, tolerance_mm=tolerance_mm)
            for prediction in episode.predictions
        ]
    return EpisodeScores(
        dice=list(episode.dice),
        nsd=nsd,
        false_positive_volume=false_positive_volume(episode.final, label, spacing),
        false_negative_volume=false_negative_volume(episode.final, label, spacing),
        seconds_per_step=float(np.mean(episode.seconds)) if episode.seconds else 0.0,
    )


def evaluate_policy(
    env: gym.Env,
    policy: Policy,
    episodes: int,
    *,
    seed: int = 0,
    measure_assd: bool = True,
    measure_nsd: bool = True,
    tolerance_mm: float = NSD_TOLERANCE_MM,
    flips: VoxelFlips | None = None,
) -> InteractiveMetrics:
    """The metrics of :func:`play_episodes`.

    Dice per step and NoC; the final ASSD (``measure_assd``); the NSD per step at
    ``tolerance_mm`` and so NSD_AUC and the final NSD (``measure_nsd``); the lesion volumes of
    the final prediction and the policy's time per step. ``flips``, if given, also receives
    every step's fixed and broken voxel counts.
    """
    metrics = InteractiveMetrics()
    keep = measure_nsd or flips is not None
    played = play_episodes(env, policy, episodes, seed=seed, predictions=keep)
    for episode in played:
        if flips is not None and episode.predictions is not None:
            flips.add_episode(episode.predictions, episode.case.label)
        final_assd = None
        if measure_assd:
            final_assd = assd(episode.final, episode.case.label, episode.case.spacing)
        scores = score_episode(episode, tolerance_mm)
        metrics.update(
            episode.dice,
            episode.clicks_per_step,
            assd=final_assd,
            nsd_per_step=scores.nsd if measure_nsd else None,
            false_positive_volume=scores.false_positive_volume,
            false_negative_volume=scores.false_negative_volume,
            seconds_per_step=scores.seconds_per_step,
        )
    return metrics


def compare_policies(
    make_env: Callable[..., gym.Env],
    policies: Mapping[str, tuple[Policy, Mapping[str, Any]]],
    episodes: int,
    *,
    seed: int = 0,
    measure_assd: bool = True,
    flips: Mapping[str, VoxelFlips] | None = None,
) -> dict[str, InteractiveMetrics]:
    """Evaluate several policies on the same cases and initial states.

    Args:
        make_env: ``make_env(**overrides)`` builds the evaluation env with some keyword
            arguments overridden (e.g. ``user="none"`` for the "W/O interaction" row).
        policies: ``row name -> (policy, env overrides)``.
        episodes: Episodes per policy (cases ``0..episodes-1``).
        seed: Seed of the first episode (the same for every row).
        measure_assd: Also measure the final ASSD.
        flips: Optional ``row name -> VoxelFlips`` that receive those rows' flip counts.

    Returns:
        ``row name -> metrics``, in the order given.
    """
    results: dict[str, InteractiveMetrics] = {}
    for name, (policy, overrides) in policies.items():
        env = make_env(**overrides)
        try:
            results[name] = evaluate_policy(
                env,
                policy,
                episodes,
                seed=seed,
                measure_assd=measure_assd,
                flips=None if flips is None else flips.get(name),
            )
        finally:
            env.close()
    return results


def comparison_table(results: Mapping[str, InteractiveMetrics], digits: int = 2) -> str:
    """One Markdown row per policy: Dice (%) per step (IteR-MRL Table 2) and the 3D metrics.

    Columns: ``Dice@t`` for t = 0 (the initial segmentation, before any click) .. T, ``Δ`` (final
    minus initial, points), the CVPR 2025 protocol's DSC_AUC and NSD_AUC (area over the steps
    after clicks, at most T − 1) and final NSD (%, 2 mm), the final ASSD (mm), the autoPET
    lesion volumes FPV / FNV (mm³), the policy's time per interaction step (ms), NoC@85 and
    NoC@90 (clicks to reach the Dice, the click budget if never reached; "–" for a row without
    any click).
    """
    if not results:
        raise ConfigError("comparison_table needs at least one evaluated policy")
    summaries = {name: metrics.aggregate() for name, metrics in results.items()}
    steps = next(iter(summaries.values()))["dice_mean"].size
    noc_keys = [key for key in next(iter(summaries.values())) if key.startswith("NoC@")]
    header = [
        "policy",
        *(f"Dice@{t}" for t in range(steps)),
        "Δ",
        "DSC_AUC",
        "NSD_AUC",
        "NSD final",
        "ASSD",
        "FPV",
        "FNV",
        "ms/step",
        *noc_keys,
    ]
    rows = [header]
    for name, summary in summaries.items():
        dice_values = 100 * summary["dice_mean"]
        rows.append(
            [
                name,
                *(f"{value:.{digits}f}" for value in dice_values),
                f"{dice_values[-1] - dice_values[0]:+.{digits}f}",
                _number(summary["dsc_auc"], 3),
                _number(summary["nsd_auc"], 3),
                _number(100 * summary["final_nsd"], digits),
                f"{summary['assd_mean']:.{digits}f}",
                _number(summary["false_positive_volume"], 1),
                _number(summary["false_negative_volume"], 1),
                _number(1000 * summary["seconds_per_step"], 1),
                *(
                    f"{summary[key]:.1f}" if summary["clicks_mean"][-1] > 0 else "–"
                    for key in noc_keys
                ),
            ]
        )
    return markdown_table(rows)


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if np.isfinite(value) else "–"


def flips_table(flips: Mapping[str, VoxelFlips], digits: int = 1) -> str:
    """One Markdown row per policy: voxels fixed / broken per episode at every step.

    A cell ``+44.8 −4.5`` means the step's actions turned 44.8 wrong voxels right and 4.5 right
    voxels wrong on average; the errors grow at a step whose second number is the larger (Dice
    weighs an object voxel's error more than a background voxel's, so it can fall a little
    even where both numbers are equal).
    """
    if not flips:
        raise ConfigError("flips_table needs at least one row of VoxelFlips")
    means = {name: counts.means() for name, counts in flips.items()}
    steps = next(iter(means.values()))[0].size
    rows = [["policy", *(f"step {t}" for t in range(1, steps + 1))]]
    for name, (fixed, broken) in means.items():
        cells = [f"+{f:.{digits}f} −{b:.{digits}f}" for f, b in zip(fixed, broken, strict=True)]
        rows.append([name, *cells])
    return markdown_table(rows)


def summary_record(results: Mapping[str, InteractiveMetrics]) -> dict[str, Any]:
    """JSON-ready means of every row (Dice per step, clicks, NoC, ASSD)."""
    record: dict[str, Any] = {}
    for name, metrics in results.items():
        summary = metrics.aggregate()
        record[name] = {
            key: value.tolist() if isinstance(value, np.ndarray) else value
            for key, value in summary.items()
        }
    return record
