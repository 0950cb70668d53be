"""Step 2 exercise: write a reward design, register it, and compute reward maps by hand.

Fill in the three functions below (replace each ``raise NotImplementedError``), then run the
checks from the project root::

    pytest course/02_reward_design

Everything you need is in this step's README.md. Step 6 uses your ``balanced_gain`` again.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from segenv.rewards import (  # noqa: F401  (what you will need)
    REWARDS,
    RewardFn,
    RewardInputs,
    compute_reward,
    cross_entropy,
)


def balanced_gain(inputs: RewardInputs, *, foreground_weight: float = 4.0) -> np.ndarray:
    """The cross-entropy gain, weighted ``foreground_weight`` on true-foreground voxels.

    The foreground is a few percent of the voxels, so the plain mean gain is dominated by the
    background; this design gives each object voxel ``foreground_weight`` times the say.

    Args:
        inputs: What the env hands every reward design (``inputs.gain``, ``inputs.label``, ..).
        foreground_weight: Weight of a voxel whose truth is foreground (background: 1).

    Returns:
        A float32 map of the shape of ``inputs.label``.
    """
    # TODO: inputs.gain is the relative gain X(t-1) - X(t); weight it with np.where.
    raise NotImplementedError("step 2: write balanced_gain")


def register_balanced_gain(name: str = "balanced_gain") -> str:
    """Register :func:`balanced_gain` in ``segenv.rewards.REWARDS`` under ``name``; return it.

    Registering again (re-running a notebook cell, a second test) must not fail.
    """
    # TODO: REWARDS.register(name, ...) is a decorator; look at its keyword arguments.
    raise NotImplementedError("step 2: write register_balanced_gain")


def reward_map_of(
    previous: np.ndarray,
    current: np.ndarray,
    label: np.ndarray,
    design: str | RewardFn = "relative",
    **params: Any,
) -> np.ndarray:
    """The reward map a design gives for moving ``previous`` to ``current`` (any shape).

    Builds the :class:`~segenv.rewards.RewardInputs` the env would build (cross-entropies
    from :func:`~segenv.rewards.cross_entropy`) and evaluates ``design`` with ``params``.
    """
    # TODO: build RewardInputs(previous=..., current=..., label=..., ce_previous=...,
    # ce_current=...) and hand it to compute_reward(design, inputs, **params).
    raise NotImplementedError("step 2: write reward_map_of")
