"""A trained network as an evaluation policy (see :mod:`.evaluation`)."""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

from .distributions import sample_actions
from .networks import VoxelActorCritic


class NetworkPolicy:
    """A trained actor as a single-env :data:`~.evaluation.Policy` for evaluation.

    ``policy(observation, env)`` returns the greedy (or, with ``greedy=False``, a sampled)
    action per voxel. ``logits_fn`` maps a batch of observations to logits
    ``(B, K, *spatial)``.
    """

    def __init__(
        self,
        logits_fn: Callable[[torch.Tensor], torch.Tensor],
        *,
        device: torch.device | None = None,
        greedy: bool = True,
        seed: int = 0,
    ) -> None:
        self.logits_fn = logits_fn
        self.device = device or torch.device("cpu")
        self.greedy = greedy
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, observation: np.ndarray, env: gym.Env | None = None) -> np.ndarray:
        """Action for one observation ``(C, *spatial)``."""
        return self.batch(observation[None])[0]

    @torch.no_grad()
    def batch(self, observations: np.ndarray) -> np.ndarray:
        """Actions for a batch of observations ``(B, C, *spatial)``."""
        tensor = torch.as_tensor(observations, dtype=torch.float32, device=self.device)
        logits = self.logits_fn(tensor)
        return sample_actions(logits, self.generator, greedy=self.greedy).cpu().numpy()


def actor_logits(network: VoxelActorCritic) -> Callable[[torch.Tensor], torch.Tensor]:
    """The policy logits of an actor-critic (for :class:`NetworkPolicy`)."""

    def logits(observation: torch.Tensor) -> torch.Tensor:
        return network(observation).logits

    return logits
