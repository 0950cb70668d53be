"""The per-voxel categorical policy: seeded sampling, log-probabilities and entropy."""

from __future__ import annotations

import torch
from torch.nn import functional as F


def sample_actions(
    logits: torch.Tensor, generator: torch.Generator | None = None, *, greedy: bool = False
) -> torch.Tensor:
    """One action per voxel from logits ``(B, K, *spatial)`` → int64 ``(B, *spatial)``.

    Sampling uses the Gumbel-max trick with ``generator`` (so it is seeded and vectorised);
    ``greedy=True`` takes the most likely action.
    """
    logits = logits.detach()
    if greedy:
        return logits.argmax(dim=1)
    uniform = torch.rand(logits.shape, generator=generator, dtype=logits.dtype).to(logits.device)
    exponential = -torch.log(uniform.clamp_(min=1e-20))  # Exp(1) samples, > 0
    gumbel = -torch.log(exponential.clamp_(min=1e-20))
    return (logits + gumbel).argmax(dim=1)


def log_prob_and_entropy(
    logits: torch.Tensor, actions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-voxel ``log π(a|s)`` and entropy ``H(π(·|s))``, both ``(B, *spatial)``."""
    log_probs = F.log_softmax(logits, dim=1)
    chosen = log_probs.gather(1, actions.unsqueeze(1)).squeeze(1)
    entropy = -(log_probs.exp() * log_probs).sum(dim=1)
    return chosen, entropy
