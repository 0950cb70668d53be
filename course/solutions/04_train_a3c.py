"""Reference solution of step 4 (train A3C). Try the exercise before reading it."""

from __future__ import annotations

import dataclasses

import numpy as np

from segenv.metrics import InteractiveMetrics
from segenv_agents import a3c


def small_config(updates: int) -> a3c.Args:
    """The ``quick`` preset on 32×32 slices, for ``updates`` updates.

    Everything else as in ``a3c.CONFIGS["quick"]``, except 200 training cases, 20 test cases
    and a constant learning rate (``lr_decay_every=0``).
    """
    return dataclasses.replace(
        a3c.CONFIGS["quick"],
        shape=(32, 32),
        total_updates=updates,
        num_train_cases=200,
        num_test_cases=20,
        lr_decay_every=0,
    )


def reward_to_go(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """``G(t) = Σ_{k≥t} γ^(k-t) r(k)`` along axis 0 (time); nothing after the last step.

    Args:
        rewards: ``(T, ...)``: mean rewards ``(T,)`` or reward maps ``(T, H, W)``.
        gamma: The discount in [0, 1].

    Returns:
        float64, the shape of ``rewards``.
    """
    rewards = np.asarray(rewards, dtype=np.float64)
    returns = np.empty_like(rewards)
    running = np.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):  # a loop over steps (T = 5), not voxels
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def mean_advantage(reward_maps: np.ndarray, value_maps: np.ndarray, gamma: float) -> np.ndarray:
    """IteR-MRL eq 7: ``A(t) = Σ_{k≥t} γ^(k-t) r̄(k) − V(s(t))``, one number per step.

    ``r̄(k)`` is the mean of the reward map of step ``k`` and ``V(s(t))`` the mean of the
    value map at step ``t``.

    Args:
        reward_maps: ``(T, *spatial)`` the env's per-voxel rewards.
        value_maps: ``(T, *spatial)`` the critic's value maps.
        gamma: The discount.

    Returns:
        ``(T,)`` float64.
    """
    reward_maps = np.asarray(reward_maps, dtype=np.float64)
    value_maps = np.asarray(value_maps, dtype=np.float64)
    steps = reward_maps.shape[0]
    mean_rewards = reward_maps.reshape(steps, -1).mean(axis=1)
    mean_values = value_maps.reshape(steps, -1).mean(axis=1)
    return reward_to_go(mean_rewards, gamma) - mean_values


def dice_per_step(metrics: InteractiveMetrics) -> np.ndarray:
    """Mean Dice in percent before any step, then after each: ``(T + 1,)``."""
    return 100.0 * np.asarray(metrics.aggregate()["dice_mean"], dtype=np.float64)


def first_step_reaching(dice_percent: np.ndarray, target: float) -> int | None:
    """The first step whose Dice (%) is at least ``target``; None if no step reaches it."""
    reached = np.flatnonzero(np.asarray(dice_percent) >= target)
    return int(reached[0]) if reached.size else None


def voxel_advantage(reward_maps: np.ndarray, value_maps: np.ndarray, gamma: float) -> np.ndarray:
    """PixelRL's per-voxel advantage: ``A_i(t) = Σ_{k≥t} γ^(k-t) r_i(k) − V_i(s(t))``.

    Every voxel gets credit for its own rewards only (the ``quick`` preset's
    ``advantage="voxel"``), where eq 7 gives all voxels the same number.

    Args:
        reward_maps: ``(T, *spatial)`` the env's per-voxel rewards.
        value_maps: ``(T, *spatial)`` the critic's value maps.
        gamma: The discount.

    Returns:
        ``(T, *spatial)`` float64.
    """
    return reward_to_go(reward_maps, gamma) - np.asarray(value_maps, dtype=np.float64)


def click_value(with_clicks: InteractiveMetrics, without: InteractiveMetrics) -> np.ndarray:
    """The click value per step: Dice (%) with the user minus without (``user="none"``).

    Both are the same agent evaluated on the same cases (``compare_policies`` rows).

    Returns:
        ``(T + 1,)`` float64 (0 at step 0: the same start).
    """
    return dice_per_step(with_clicks) - dice_per_step(without)
