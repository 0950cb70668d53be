"""Roll out a policy on held-out cases and summarise Dice per interaction step."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from agents.scripted import Policy
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
