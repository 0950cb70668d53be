"""Step 4 exercise: a small A3C configuration, returns and advantages, Dice per step.

Fill in the functions below (replace each ``raise NotImplementedError``) and the answers in
``answers.py``, then check your work from the project root::

    python -m course.check 4        # one line per check
    pytest course/04_train_a3c      # the same checks, with pytest's tracebacks

Everything you need is in this step's README.md.
"""

from __future__ import annotations

import dataclasses  # noqa: F401  (you will need it)

import numpy as np

from segenv.metrics import InteractiveMetrics
from segenv_agents import a3c


def small_config(updates: int) -> a3c.Args:
    """The ``quick`` preset on 32×32 slices, for ``updates`` updates.

    Everything else as in ``a3c.CONFIGS["quick"]``, except 200 training cases, 20 test cases
    and a constant learning rate (``lr_decay_every=0``).
    """
    # TODO: dataclasses.replace(a3c.CONFIGS["quick"], ...) copies a preset with changes.
    raise NotImplementedError("step 4: write small_config")


def reward_to_go(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """``G(t) = Σ_{k≥t} γ^(k-t) r(k)`` along axis 0 (time); nothing after the last step.

    Args:
        rewards: ``(T, ...)``: mean rewards ``(T,)`` or reward maps ``(T, H, W)``.
        gamma: The discount in [0, 1].

    Returns:
        float64, the shape of ``rewards``.
    """
    # TODO: walk the steps backwards, G(t) = r(t) + gamma * G(t + 1).
    raise NotImplementedError("step 4: write reward_to_go")


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
    # TODO: average each step's maps over the voxels, then use reward_to_go.
    raise NotImplementedError("step 4: write mean_advantage")


def dice_per_step(metrics: InteractiveMetrics) -> np.ndarray:
    """Mean Dice in percent before any step, then after each: ``(T + 1,)``."""
    # TODO: metrics.aggregate() returns a dict; look for the mean Dice per step.
    raise NotImplementedError("step 4: write dice_per_step")


def first_step_reaching(dice_percent: np.ndarray, target: float) -> int | None:
    """The first step whose Dice (%) is at least ``target``; None if no step reaches it."""
    # TODO: np.flatnonzero finds the steps where a condition holds.
    raise NotImplementedError("step 4: write first_step_reaching")


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
    # TODO: reward_to_go works on maps too.
    raise NotImplementedError("step 4: write voxel_advantage")


def click_value(with_clicks: InteractiveMetrics, without: InteractiveMetrics) -> np.ndarray:
    """The click value per step: Dice (%) with the user minus without (``user="none"``).

    Both are the same agent evaluated on the same cases (``compare_policies`` rows).

    Returns:
        ``(T + 1,)`` float64 (0 at step 0: the same start).
    """
    # TODO: dice_per_step of each.
    raise NotImplementedError("step 4: write click_value")
