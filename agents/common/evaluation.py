"""Roll out policies on held-out cases and summarise Dice per interaction step, ASSD and NoC.

A :data:`Policy` is ``policy(observation, env) -> action`` with the observation and action
layouts of :class:`segenv.envs.InteractiveSegEnv`: the scripted baselines, min-cut and every
trained learner's ``load_policy`` give one.

:class:`VoxelFlips` also counts, per step, the voxels an action turned correct and those it
turned wrong; the wrong voxels grow in number exactly where the second count is the larger.
:func:`flips_table` shows where and why Dice falls (``segenv evaluate RUN --flips``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import gymnasium as gym
import numpy as np

from segenv.data.case import Case
from segenv.errors import ConfigError
from segenv.metrics import InteractiveMetrics, assd, markdown_table

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
        while not done:
            observation, _, terminated, truncated, info = env.step(policy(observation, env))
            if kept is not None:
                kept.append(_prediction(env))
            dice_values.append(float(info["dice"]))
            clicks.append(int(info["num_clicks"]))
            done = bool(terminated or truncated)
        final = kept[-1] if kept is not None else _prediction(env)
        case = unwrapped.case  # type: ignore[attr-defined]
        yield Episode(dice_values, clicks, final, case, kept)


def evaluate_policy(
    env: gym.Env,
    policy: Policy,
    episodes: int,
    *,
    seed: int = 0,
    measure_assd: bool = True,
    flips: VoxelFlips | None = None,
) -> InteractiveMetrics:
    """The metrics of :func:`play_episodes`: Dice per step, NoC and (optionally) the final ASSD.

    ``flips``, if given, also receives every step's fixed and broken voxel counts.
    """
    metrics = InteractiveMetrics()
    played = play_episodes(env, policy, episodes, seed=seed, predictions=flips is not None)
    for episode in played:
        if flips is not None and episode.predictions is not None:
            flips.add_episode(episode.predictions, episode.case.label)
        final_assd = None
        if measure_assd:
            final_assd = assd(episode.final, episode.case.label, episode.case.spacing)
        metrics.update(episode.dice, episode.clicks_per_step, assd=final_assd)
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
    """One Markdown row per policy: Dice (%) per step (IteR-MRL Table 2), gain, ASSD and NoC.

    Columns: ``Dice@t`` for t = 0 (the initial segmentation, before any click) .. T, ``Δ`` (final
    minus initial, points), the final ASSD (mm), NoC@85 and NoC@90 (clicks to reach the Dice,
    the click budget if never reached; "–" for a row without any click).
    """
    if not results:
        raise ConfigError("comparison_table needs at least one evaluated policy")
    summaries = {name: metrics.aggregate() for name, metrics in results.items()}
    steps = next(iter(summaries.values()))["dice_mean"].size
    noc_keys = [key for key in next(iter(summaries.values())) if key.startswith("NoC@")]
    header = ["policy", *(f"Dice@{t}" for t in range(steps)), "Δ", "ASSD", *noc_keys]
    rows = [header]
    for name, summary in summaries.items():
        dice_values = 100 * summary["dice_mean"]
        rows.append(
            [
                name,
                *(f"{value:.{digits}f}" for value in dice_values),
                f"{dice_values[-1] - dice_values[0]:+.{digits}f}",
                f"{summary['assd_mean']:.{digits}f}",
                *(
                    f"{summary[key]:.1f}" if summary["clicks_mean"][-1] > 0 else "–"
                    for key in noc_keys
                ),
            ]
        )
    return markdown_table(rows)


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
