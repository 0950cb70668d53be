"""Per-voxel reward designs (SPEC §4): relative CE gain, absolute, focal, error-region, confidence.

Every design maps :class:`RewardInputs` to a float32 reward map ``(D, H, W)``; the env's scalar
reward is the map's mean. Worked example (relative, the default): a foreground voxel moved
from p = 0.5 to 0.9 earns ``-log 0.5 - (-log 0.9) = 0.6931 - 0.1054 = 0.5878``. A design
declares what the envs need to know about it (does it read a confidence map, is it the gain
itself, its batched torch twin) with :func:`declare_reward`; they read it with
:func:`reward_traits`, never by comparing functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

import numpy as np

from segenv.errors import ConfigError, InputTypeError, describe
from segenv.registry import Registry

DEFAULT_EPS = 1e-6


def cross_entropy(
    probability: np.ndarray, label: np.ndarray, eps: float = DEFAULT_EPS
) -> np.ndarray:
    """Eq 4: ``-y log p - (1-y) log(1-p)`` on ``clip(p, eps, 1-eps)``, per voxel (float32)."""
    p_true = _probability_of_truth(probability, label, eps)
    return np.negative(np.log(p_true, out=p_true), out=p_true)


def _probability_of_truth(probability: np.ndarray, label: np.ndarray, eps: float) -> np.ndarray:
    """``clip(p if y else 1 - p, eps, 1 - eps)`` as a new float32 array (two passes, no temps)."""
    p_true = np.subtract(np.float32(1.0), probability, dtype=np.float32)
    np.copyto(p_true, probability, where=label, casting="unsafe")
    return np.clip(p_true, eps, 1.0 - eps, out=p_true)


def focal_cross_entropy(
    probability: np.ndarray, label: np.ndarray, gamma: float = 2.0, eps: float = DEFAULT_EPS
) -> np.ndarray:
    """MECCA eq 12: ``-(1-p)^γ log p`` where y = 1 and ``-p^γ log(1-p)`` where y = 0."""
    p_true = _probability_of_truth(probability, label, eps)
    return -np.power(1.0 - p_true, gamma, dtype=np.float32) * np.log(p_true)


@dataclass(frozen=True)
class RewardInputs:
    """What a reward design sees at one step (all arrays ``(D, H, W)``).

    Attributes:
        previous: probability before the action, float32 in [0, 1].
        current: probability after the action.
        label: bool ground truth.
        ce_previous: cross-entropy of ``previous`` (eq 4).
        ce_current: cross-entropy of ``current``.
        confidence: the learner's action-confidence map in [0, 1], or None.
        eps: the clipping ε used for the logs.
    """

    previous: np.ndarray
    current: np.ndarray
    label: np.ndarray
    ce_previous: np.ndarray
    ce_current: np.ndarray
    confidence: np.ndarray | None = None
    eps: float = DEFAULT_EPS

    @cached_property
    def gain(self) -> np.ndarray:
        """The relative cross-entropy gain ``X(t-1) - X(t)`` (eq 3), computed once."""
        return self.ce_previous - self.ce_current


RewardFn = Callable[..., np.ndarray]
REWARDS: Registry[RewardFn] = Registry("reward design", "reward", "segenv.rewards.REWARDS")
F = TypeVar("F", bound=RewardFn)


@dataclass(frozen=True)
class RewardTraits:
    """What a reward design declares about itself, for the envs that run it.

    Attributes:
        needs_confidence: it reads the learner's action-confidence map, so an env must be given
            one (``confidence=`` or ``set_confidence``) before every step.
        is_gain: its map is the cross-entropy gain itself, so a batched env may reuse the
            gain it computes anyway instead of evaluating the design.
        torch_twin: the name of its batched torch twin (``segenv.envs._torch_rewards``), or
            None: a batched env evaluates it per volume on numpy.
    """

    needs_confidence: bool = False
    is_gain: bool = False
    torch_twin: str | None = None


def declare_reward(traits: RewardTraits) -> Callable[[F], F]:
    """Decorator: attach ``traits`` to a reward design (read back with :func:`reward_traits`)."""

    def decorator(fn: F) -> F:
        fn.reward_traits = traits  # type: ignore[attr-defined]
        return fn

    return decorator


def reward_traits(design: str | RewardFn) -> RewardTraits:
    """The declared traits of a design (name or callable); undeclared designs have none."""
    traits = getattr(REWARDS.get(design), "reward_traits", None)
    return traits if isinstance(traits, RewardTraits) else RewardTraits()


@REWARDS.register("relative")
@declare_reward(RewardTraits(is_gain=True, torch_twin="relative"))
def relative_reward(inputs: RewardInputs) -> np.ndarray:
    """IteR-MRL eq 3 / MECCA eq 9: the cross-entropy gain ``X(t-1) - X(t)``."""
    return inputs.gain


@REWARDS.register("absolute")
@declare_reward(RewardTraits(torch_twin="absolute"))
def absolute_reward(inputs: RewardInputs) -> np.ndarray:
    """IteR-MRL Table 5: the distance of the current prediction to the truth alone, ``-X(t)``."""
    return -inputs.ce_current


@REWARDS.register("focal")
@declare_reward(RewardTraits(torch_twin="focal"))
def focal_reward(inputs: RewardInputs, *, gamma: float = 2.0) -> np.ndarray:
    """MECCA eq 13: the gain of the focal cross-entropy, ``F(t-1) - F(t)``."""
    if gamma < 0:
        raise ConfigError(f"focal reward: gamma must be >= 0, got {gamma!r}")
    before = focal_cross_entropy(inputs.previous, inputs.label, gamma, inputs.eps)
    return before - focal_cross_entropy(inputs.current, inputs.label, gamma, inputs.eps)


@REWARDS.register("error_region")
@declare_reward(RewardTraits(torch_twin="error_region"))
def error_region_reward(inputs: RewardInputs, *, lam: float = 1.0) -> np.ndarray:
    """MECCA eq 14: ``(1+λ)·gain`` where the previous prediction was wrong, ``gain`` elsewhere."""
    wrong = (inputs.previous >= 0.5) != inputs.label
    return inputs.gain * np.where(wrong, np.float32(1.0 + lam), np.float32(1.0))


def printed_confidence_weight(
    confidence: np.ndarray, alpha: float = 0.8, beta: float = 1.0
) -> np.ndarray:
    """MECCA eq 8 as printed: ``(α - c)^β``.

    The extracted text of eq 8 is garbled; this is its printed form. With the printed defaults
    (α = 0.8, β = 1) the weight is *negative* where ``c > α``: a confident action's gain is then
    punished. Pass your own ``weight=`` to :func:`confidence_reward` to try another reading.
    """
    with np.errstate(invalid="ignore"):
        weight = np.power(np.float32(alpha) - confidence, beta, dtype=np.float32)
    if np.isnan(weight).any():
        raise ConfigError(
            f"confidence reward: (alpha - c)^beta is undefined for c > alpha={alpha} with "
            f"non-integer beta={beta}; use an integer beta or a custom weight function"
        )
    return weight


@REWARDS.register("confidence")
@declare_reward(RewardTraits(needs_confidence=True, torch_twin="confidence"))
def confidence_reward(
    inputs: RewardInputs,
    *,
    alpha: float = 0.8,
    beta: float = 1.0,
    weight: Callable[..., np.ndarray] = printed_confidence_weight,
) -> np.ndarray:
    """MECCA eq 8: the gain weighted by a function of the learner's action confidence ``c``.

    ``r = weight(c, alpha, beta) · gain``; the default weight is the printed ``(α - c)^β``
    (see :func:`printed_confidence_weight`). The env gets ``c`` from its ``confidence=``
    callable or from ``env.unwrapped.set_confidence(array)`` before ``step``.
    """
    if inputs.confidence is None:
        raise ConfigError(
            "reward='confidence' needs the learner's action-confidence map: pass "
            "confidence=callable(observation, action) to the env, or call "
            "env.unwrapped.set_confidence(array) before each step"
        )
    return weight(inputs.confidence, alpha, beta) * inputs.gain


def compute_reward(design: str | RewardFn, inputs: RewardInputs, **params: Any) -> np.ndarray:
    """Evaluate a reward design (name or callable) and check its output map."""
    reward_map = np.asarray(REWARDS.get(design)(inputs, **params))
    if reward_map.shape != inputs.label.shape:
        raise ConfigError(
            f"reward design {design!r} returned {describe(reward_map)}; it must return one "
            f"value per voxel, shape {inputs.label.shape}"
        )
    if reward_map.dtype.kind != "f":
        raise InputTypeError(f"reward design {design!r} returned non-float {describe(reward_map)}")
    return reward_map.astype(np.float32, copy=False)


def discounted_return(rewards: np.ndarray, gamma: float = 0.95) -> np.ndarray:
    """Eq 5: ``R = Σ_t γ^(t-1) r(t)`` over the leading (time) axis of ``rewards``."""
    rewards = np.asarray(rewards, dtype=np.float64)
    if rewards.ndim == 0 or rewards.shape[0] == 0:
        raise ConfigError("discounted_return needs at least one step of rewards on axis 0")
    if not 0.0 <= gamma <= 1.0:
        raise ConfigError(f"discount gamma must be in [0, 1], got {gamma!r}")
    weights = gamma ** np.arange(rewards.shape[0], dtype=np.float64)
    return np.tensordot(weights, rewards, axes=(0, 0))
