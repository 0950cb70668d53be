"""Roll out policies on held-out cases and summarise Dice per interaction step, ASSD and NoC."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from agents.scripted import Policy
from segenv.errors import ConfigError
from segenv.metrics import InteractiveMetrics, assd


def evaluate_policy(
    env: gym.Env, policy: Policy, episodes: int, *, seed: int = 0, measure_assd: bool = True
) -> InteractiveMetrics:
    """Run ``episodes`` episodes on cases ``0..episodes-1`` of ``env``'s data set.

    Episode ``i`` is reset with ``seed + i`` and ``case_index = i % len(dataset)``, so two
    policies evaluated with the same seed see the same cases and the same initial state.
    """
    unwrapped = env.unwrapped
    num_cases = len(unwrapped.dataset)  # type: ignore[attr-defined]
    env.action_space.seed(seed)
    metrics = InteractiveMetrics()
    for episode in range(episodes):
        observation, info = env.reset(
            seed=seed + episode, options={"case_index": episode % num_cases}
        )
        # Dice after step t is reached with the clicks given before that step's action.
        dice_values, clicks_available = [info["dice"]], [info["num_clicks"]]
        done = False
        while not done:
            observation, _, terminated, truncated, info = env.step(policy(observation, env))
            dice_values.append(info["dice"])
            clicks_available.append(info["num_clicks"])
            done = terminated or truncated
        clicks = np.diff(clicks_available[:-1], prepend=0)
        final_assd = None
        if measure_assd:
            case = unwrapped.case  # type: ignore[attr-defined]
            prediction = np.reshape(unwrapped.probability >= 0.5, case.shape)  # type: ignore[attr-defined]
            final_assd = assd(prediction, case.label, case.spacing)
        metrics.update(dice_values, clicks, assd=final_assd)
    return metrics


def compare_policies(
    make_env: Callable[..., gym.Env],
    policies: Mapping[str, tuple[Policy, Mapping[str, Any]]],
    episodes: int,
    *,
    seed: int = 0,
    measure_assd: bool = True,
) -> dict[str, InteractiveMetrics]:
    """Evaluate several policies on the same cases and initial states.

    Args:
        make_env: ``make_env(**overrides)`` builds the evaluation env with some keyword
            arguments overridden (e.g. ``user="none"`` for the "W/O interaction" row).
        policies: ``row name -> (policy, env overrides)``.
        episodes: Episodes per policy (cases ``0..episodes-1``).
        seed: Seed of the first episode (the same for every row).
        measure_assd: Also measure the final ASSD.

    Returns:
        ``row name -> metrics``, in the order given.
    """
    results: dict[str, InteractiveMetrics] = {}
    for name, (policy, overrides) in policies.items():
        env = make_env(**overrides)
        try:
            results[name] = evaluate_policy(
                env, policy, episodes, seed=seed, measure_assd=measure_assd
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
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("---" for _ in header) + "|")
    return "\n".join(lines)


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
