"""Moved to the batched env's internals (:mod:`segenv.envs._torch_rewards`); kept working."""

from __future__ import annotations

from segenv.envs._torch_rewards import (
    TWINS,
    TorchRewardInputs,
    absolute,
    confidence,
    cross_entropy,
    error_region,
    focal,
    focal_cross_entropy,
    relative,
    torch_reward_for,
)

__all__ = [
    "TWINS",
    "TorchRewardInputs",
    "absolute",
    "confidence",
    "cross_entropy",
    "error_region",
    "focal",
    "focal_cross_entropy",
    "relative",
    "torch_reward_for",
]
