"""The reward designs of :mod:`segenv.rewards` on batched torch tensors ``(N, D, H, W)``.

Each function here is the torch twin of a registered numpy design, with the same signature and
the same float32 arithmetic (they agree to float rounding; the batched env's tests check it).
A design names its twin in its declared :class:`~segenv.rewards.RewardTraits` (``torch_twin``);
:func:`torch_reward_for` looks it up there; a design without one (a user's own) is evaluated
per volume on numpy by the batched env instead. Only the batched env imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from segenv.errors import ConfigError
from segenv.rewards import DEFAULT_EPS, printed_confidence_weight, reward_traits

__all__ = [
    "TWINS",
    "TorchRewardInputs",
    "cross_entropy",
    "focal_cross_entropy",
    "torch_reward_for",
]


def cross_entropy(
    probability: torch.Tensor,
    label: torch.Tensor,
    eps: float = DEFAULT_EPS,
    *,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Eq 4 per voxel: ``-y log p - (1-y) log(1-p)`` on ``clip(p, eps, 1-eps)`` (float32).

    ``out``: a float32 tensor of the same shape to write into (no allocation; the batched env
    keeps its buffers, large CPU allocations cost page faults every step).
    """
    result = torch.empty_like(probability) if out is None else out
    torch.neg(probability, out=result).add_(1.0)  # 1 - p, rounded exactly as numpy's
    torch.where(label, probability, result, out=result)
    return result.clamp_(eps, 1.0 - eps).log_().neg_()


def focal_cross_entropy(
    probability: torch.Tensor, label: torch.Tensor, gamma: float = 2.0, eps: float = DEFAULT_EPS
) -> torch.Tensor:
    """MECCA eq 12: ``-(1-p)^γ log p`` where y = 1 and ``-p^γ log(1-p)`` where y = 0."""
    p_true = torch.where(label, probability, 1.0 - probability).clamp(eps, 1.0 - eps)
    return -torch.pow(1.0 - p_true, gamma) * torch.log(p_true)


@dataclass(frozen=True)
class TorchRewardInputs:
    """:class:`segenv.rewards.RewardInputs` for a batch: every tensor is ``(N, D, H, W)``.

    ``gain`` (``ce_previous - ce_current``, eq 3) is a field here, computed once per step.
    """

    previous: torch.Tensor
    current: torch.Tensor
    label: torch.Tensor
    ce_previous: torch.Tensor
    ce_current: torch.Tensor
    gain: torch.Tensor
    confidence: torch.Tensor | None = None
    eps: float = DEFAULT_EPS


def relative(inputs: TorchRewardInputs) -> torch.Tensor:
    """Torch twin of :func:`segenv.rewards.relative_reward`."""
    return inputs.gain


def absolute(inputs: TorchRewardInputs) -> torch.Tensor:
    """Torch twin of :func:`segenv.rewards.absolute_reward`."""
    return -inputs.ce_current


def focal(inputs: TorchRewardInputs, *, gamma: float = 2.0) -> torch.Tensor:
    """Torch twin of :func:`segenv.rewards.focal_reward`."""
    if gamma < 0:
        raise ConfigError(f"focal reward: gamma must be >= 0, got {gamma!r}")
    before = focal_cross_entropy(inputs.previous, inputs.label, gamma, inputs.eps)
    return before - focal_cross_entropy(inputs.current, inputs.label, gamma, inputs.eps)


def error_region(inputs: TorchRewardInputs, *, lam: float = 1.0) -> torch.Tensor:
    """Torch twin of :func:`segenv.rewards.error_region_reward`."""
    wrong = (inputs.previous >= 0.5) != inputs.label
    return inputs.gain * torch.where(wrong, 1.0 + lam, 1.0).to(inputs.gain.dtype)


def confidence(
    inputs: TorchRewardInputs,
    *,
    alpha: float = 0.8,
    beta: float = 1.0,
    weight: Callable[..., Any] = printed_confidence_weight,
) -> torch.Tensor:
    """Torch twin of :func:`segenv.rewards.confidence_reward` with the printed weight."""
    if inputs.confidence is None:
        raise ConfigError(
            "reward='confidence' needs the learner's action-confidence map: pass "
            "confidence=callable(observations, actions) -> (N, D, H, W) to the batched env, "
            "or call env.set_confidence(maps) before each step"
        )
    base = torch.as_tensor(alpha, dtype=inputs.confidence.dtype) - inputs.confidence
    weights = torch.pow(base, beta)
    if bool(torch.isnan(weights).any()):
        raise ConfigError(
            f"confidence reward: (alpha - c)^beta is undefined for c > alpha={alpha} with "
            f"non-integer beta={beta}; use an integer beta or a custom weight function"
        )
    return weights * inputs.gain


TWINS: dict[str, Callable[..., torch.Tensor]] = {
    "relative": relative,
    "absolute": absolute,
    "focal": focal,
    "error_region": error_region,
    "confidence": confidence,
}
"""The twins by the name a design declares as its ``torch_twin``."""


def torch_reward_for(
    design: Callable[..., Any], params: Mapping[str, Any]
) -> Callable[..., torch.Tensor] | None:
    """The torch twin a reward design declares, for these parameters; None if it has none.

    The confidence twin computes the printed weight only; with a custom ``weight=`` (a numpy
    function) the design has no twin and runs per volume on numpy.
    """
    name = reward_traits(design).torch_twin
    twin = None if name is None else TWINS.get(name)
    if twin is confidence and params.get("weight", printed_confidence_weight) is not (
        printed_confidence_weight
    ):
        return None
    return twin
