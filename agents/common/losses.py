"""Returns and losses of IteR-MRL: eq 7's discounted return, eq 6's value loss, eq 8's policy loss.

Each works for the paper's scalar advantage (the mean voxel reward) and for PixelRL's
per-voxel advantage, optionally masked to some voxels (MECCA eq 11).
"""

from __future__ import annotations

import torch

from segenv.errors import ConfigError, describe


def discounted_returns(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    """Reward-to-go ``G(t) = Σ_{k=t}^{T} γ^(k-t) r(k)`` along axis 0 (the first sum of eq 7).

    Episodes end after the last step (the env's ``terminated``), so nothing is bootstrapped.
    ``rewards`` is ``(T, ...)``: mean voxel rewards ``(T, B)`` or reward maps ``(T, B, ...)``.
    """
    if rewards.ndim == 0 or rewards.shape[0] == 0:
        raise ConfigError(f"rewards must have a time axis of length >= 1, got {describe(rewards)}")
    if not 0.0 <= gamma <= 1.0:
        raise ConfigError(f"gamma must be in [0, 1], got {gamma!r}")
    returns = torch.empty_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + gamma * running
        returns[t] = running
    return returns


def masked_mean(values: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of ``values``, or its mean over the voxels where ``mask`` (0/1, broadcastable) is 1."""
    if mask is None:
        return values.mean()
    weights = mask.to(values.dtype).expand_as(values)
    return (values * weights).sum() / weights.sum().clamp(min=1.0)


def value_loss(advantage: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Eq 6: the critic minimises ``A(s, a)²`` (mean over steps, envs and, if any, voxels).

    ``mask`` (per-voxel advantages only) keeps the voxels where it is 1 (MECCA eq 11).
    """
    return masked_mean(advantage.pow(2), mask)


def policy_loss(
    log_prob: torch.Tensor, advantage: torch.Tensor, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Eq 8 (with ``log π``, as in A3C): ``-log π(a|s) · A``, the advantage held constant.

    Args:
        log_prob: Per-voxel ``log π(a_i|s_i)``, ``(T, B, *spatial)``.
        advantage: Eq 7's scalar advantage per step ``(T, B)`` — every voxel gets its step's
            advantage (IteR-MRL) — or a per-voxel advantage of the same shape as ``log_prob``
            (PixelRL).
        mask: Optional 0/1 ``(T, B, *spatial)``: only these voxels' gradients count (MECCA's
            masked gradients of eq 11).

    Returns:
        The mean over voxels, envs and steps (the sum of eq 8 scaled by ``1/N``, which only
        rescales the learning rate and keeps it independent of the volume size).
    """
    advantage = advantage.detach()
    while advantage.ndim < log_prob.ndim:
        advantage = advantage.unsqueeze(-1)
    if advantage.shape[:2] != log_prob.shape[:2]:
        raise ConfigError(
            f"advantage {describe(advantage)} does not match log_prob {describe(log_prob)} on "
            "the (T, B) axes"
        )
    return -masked_mean(log_prob * advantage, mask)


def spatial_mean(
    tensor: torch.Tensor, mask: torch.Tensor | None = None, leading: int = 2
) -> torch.Tensor:
    """Mean over every axis after the first ``leading`` (``(T, B, *S)`` → ``(T, B)``), masked."""
    if mask is None:
        return tensor.flatten(leading).mean(dim=-1)
    weights = mask.to(tensor.dtype).flatten(leading)
    return (tensor.flatten(leading) * weights).sum(-1) / weights.sum(-1).clamp(min=1.0)
