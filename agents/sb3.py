"""stable-baselines3 on segenv: per-voxel ``VoxelPPO`` / ``VoxelA2C`` and the scalar controls.

``VoxelPPO(VoxelPolicy, env).learn(...)`` trains the shared voxel policy with SB3's own loop,
callbacks, logger and ``save`` / ``load``, and every voxel is an agent with its own advantage.
The pieces:

* :class:`FlatVoxelActions` — the action-space adapter. SB3 stores a ``MultiDiscrete`` action
  as a flat vector of ``len(nvec)`` entries, so the env's ``MultiDiscrete((D, H, W))`` becomes
  ``MultiDiscrete([K] * D·H·W)`` and the wrapper reshapes the flat action back.
* :class:`VoxelCategoricalDistribution` — one categorical per voxel, vectorised over the whole
  volume (SB3's ``MultiCategoricalDistribution`` would build one ``Categorical`` object per
  voxel). Its ``log_prob`` and ``entropy`` are per voxel ``(B, N)`` (``per_voxel=True``) or
  their means over the voxels ``(B,)``.
* :class:`VoxelPolicy` — an ``ActorCriticPolicy`` whose networks are
  :class:`~.common.networks.VoxelActorCritic`: no dense layer over the voxels, per-voxel logits
  from convolutions, and the value map: per voxel ``(B, N)`` (``per_voxel=True``) or its
  spatial mean ``V(s)`` ``(B, 1)``.
* :class:`VoxelRewards` — a ``VecEnvWrapper`` whose reward is every voxel's: the ``(n_envs, N)``
  reward maps of ``info["reward_map"]`` instead of their means.
* :class:`VoxelRolloutBuffer` — SB3's ``RolloutBuffer`` with ``(n_steps, n_envs, N)`` rewards,
  values, log-probabilities, advantages and returns: SB3's own GAE recursion per voxel, and
  samples flattened over the voxels, so that SB3's PPO / A2C losses (elementwise, then a mean)
  clip and weight each voxel's ratio by its own advantage, normalise advantages over the
  minibatch's voxels and regress each voxel's value on its own return.
* :class:`VoxelPPO`, :class:`VoxelA2C` — ``PPO`` / ``A2C`` with the buffer, the wrapper and
  ``VoxelPolicy(per_voxel=True)`` set up; nothing of SB3's ``train`` or ``collect_rollouts``
  is rewritten.

**The scalar controls.** ``PPO(VoxelPolicy, env)`` and ``A2C(VoxelPolicy, env)`` (registry:
``sb3_ppo_scalar``, ``sb3_a2c_scalar``) are SB3 as it comes: the reward is the env's scalar
reward, the **mean voxel reward** r̄ of IteR-MRL's eq 7; ``V(s)`` is one number per state; with
``gae_lambda=1`` and ``n_steps = T`` the advantage is eq 7's ``Σ_k γ^(k-t) r̄(k) - V(s(t))``,
shared by every voxel; PPO's ratio ``exp(log π_new - log π_old)`` is then the *geometric mean*
of the per-voxel ratios, clipped jointly for the whole volume. On the main-job protocol it
does not learn: Dice 75.11 → 71.25, 52.04, 0.62, 0.00, 0.00 (README), as A3C with eq 7's scalar
advantage ends at 0 too; the per-voxel classes learn.

Run them with ``segenv train sb3_ppo --config quick --out runs/sb3-ppo`` (or ``sb3_a2c``,
``sb3_ppo_scalar``, ``sb3_a2c_scalar``).
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import GymEnv, RolloutBufferSamples
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecEnvWrapper
from stable_baselines3.common.vec_env.base_vec_env import VecEnvStepReturn
from torch import nn

from segenv.devices import resolve_device
from segenv.errors import ConfigError, InputTypeError, describe
from segenv.files import atomic_writer

from .common import interrupts
from .common.config import QUICK3D_DATA, RunArgs, env_id_of, env_kwargs
from .common.distributions import log_prob_and_entropy, sample_actions
from .common.logger import RunLogger, purge_tensorboard
from .common.networks import NetworkArgs, NetworkConfig, VoxelActorCritic
from .common.policies import NetworkPolicy
from .common.runs import (
    announce_fresh_start,
    args_from_dict,
    check_resume,
    read_config,
    write_config,
)
from .common.runtime import configure_torch
from .common.schedules import check_final_fraction, geometric_decay, progress_of

CHECKPOINT_NAME = "checkpoint.zip"


# ---------------------------------------------------------------------------- env adapter


class FlatVoxelActions(gym.ActionWrapper[np.ndarray, np.ndarray, np.ndarray]):
    """``MultiDiscrete((D, H, W))`` → ``MultiDiscrete([K] * D·H·W)``, the layout SB3 stores."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.action_space
        if not isinstance(space, spaces.MultiDiscrete):
            raise InputTypeError(f"FlatVoxelActions needs a MultiDiscrete space, got {space}")
        self.voxel_shape = tuple(space.shape)
        self.action_space = spaces.MultiDiscrete(space.nvec.reshape(-1))

    def action(self, action: np.ndarray) -> np.ndarray:
        """Reshape a flat action to the env's voxel layout."""
        return np.asarray(action).reshape(self.voxel_shape)


def make_sb3_env(env_id: str, kwargs: dict[str, Any]) -> gym.Env:
    """One env for SB3: the segenv env, SB3's ``Monitor``, then :class:`FlatVoxelActions`."""
    import segenv  # noqa: F401  (registers the ids)

    return FlatVoxelActions(Monitor(gym.make(env_id, **kwargs)))


# --------------------------------------------------------------------------- distribution


class VoxelCategoricalDistribution(Distribution):
    """A categorical over K actions at every voxel, from logits ``(B, K, *spatial)``.

    Actions are flat ``(B, N)`` (SB3's buffer layout, N voxels). ``log_prob`` and ``entropy``
    return one value per voxel, ``(B, N)``, with ``per_voxel=True``, else their means over the
    voxels, ``(B,)``.
    """

    def __init__(self, spatial_shape: tuple[int, ...], *, per_voxel: bool = False) -> None:
        super().__init__()
        self.spatial_shape = spatial_shape
        self.per_voxel = per_voxel
        self.logits: torch.Tensor | None = None

    def proba_distribution_net(self, *args: Any, **kwargs: Any) -> nn.Module:
        """Not used: :class:`VoxelPolicy` produces the logits with its own convolutions."""
        return nn.Identity()

    def proba_distribution(self, action_logits: torch.Tensor) -> VoxelCategoricalDistribution:
        """Set the logits ``(B, K, *spatial)``."""
        self.logits = action_logits
        return self

    def _logits(self) -> torch.Tensor:
        if self.logits is None:
            raise ConfigError("call proba_distribution(logits) before using the distribution")
        return self.logits

    def _per_voxel_or_mean(self, values: torch.Tensor) -> torch.Tensor:
        flat = values.flatten(1)
        return flat if self.per_voxel else flat.mean(dim=1)

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """``log π(a_i|s)`` per voxel ``(B, N)``, or its mean over voxels ``(B,)``."""
        logits = self._logits()
        voxel_actions = actions.long().reshape(logits.shape[0], *logits.shape[2:])
        log_prob, _ = log_prob_and_entropy(logits, voxel_actions)
        return self._per_voxel_or_mean(log_prob)

    def entropy(self) -> torch.Tensor:
        """The entropy per voxel ``(B, N)``, or its mean over voxels ``(B,)``."""
        logits = self._logits()
        log_probs = torch.log_softmax(logits, dim=1)
        return self._per_voxel_or_mean(-(log_probs.exp() * log_probs).sum(dim=1))

    def sample(self) -> torch.Tensor:
        """Flat sampled actions ``(B, N)`` (torch's global generator, which SB3 seeds)."""
        return sample_actions(self._logits()).flatten(1)

    def mode(self) -> torch.Tensor:
        """Flat most likely actions ``(B, N)``."""
        return self._logits().argmax(dim=1).flatten(1)

    def actions_from_params(
        self, action_logits: torch.Tensor, deterministic: bool = False
    ) -> torch.Tensor:
        """Actions straight from logits."""
        self.proba_distribution(action_logits)
        return self.get_actions(deterministic=deterministic)

    def log_prob_from_params(
        self, action_logits: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sampled actions and their log-probabilities."""
        actions = self.actions_from_params(action_logits)
        return actions, self.log_prob(actions)


# --------------------------------------------------------------------------------- policy


class VoxelFeatures(BaseFeaturesExtractor):
    """The identity: the observation ``(B, C, *spatial)`` goes to the convolutions unflattened."""

    def __init__(self, observation_space: spaces.Box) -> None:
        super().__init__(observation_space, features_dim=1)

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Return the observations unchanged."""
        return observations


class VoxelPolicy(ActorCriticPolicy):
    """A fully convolutional ``ActorCriticPolicy`` for the voxel-agent env.

    ``policy_kwargs``: ``channels``, ``shared_dilations``, ``head_dilations`` (see
    :class:`~.common.networks.NetworkConfig`; one left out keeps its default) and
    ``per_voxel``: values, log-probabilities and entropies per voxel, ``(B, N)`` (what
    :class:`VoxelPPO` / :class:`VoxelA2C` train on; they set it), or ``V(s)`` = the spatial
    mean of the value map ``(B, 1)`` and voxel means ``(B,)`` (plain SB3 ``PPO`` / ``A2C``). The
    env must be wrapped in :class:`FlatVoxelActions` (see :func:`make_sb3_env`).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Callable[[float], float],
        *,
        channels: int | None = None,
        shared_dilations: Sequence[int] | None = None,
        head_dilations: Sequence[int] | None = None,
        per_voxel: bool = False,
        **kwargs: Any,
    ) -> None:
        self.per_voxel = bool(per_voxel)
        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) not in (
            3,
            4,
        ):
            raise InputTypeError(
                f"VoxelPolicy needs the env's Box observation (C, D, H, W) or (C, H, W), got "
                f"{describe(observation_space)}"
            )
        voxels = int(np.prod(observation_space.shape[1:]))
        if not isinstance(action_space, spaces.MultiDiscrete) or action_space.nvec.shape != (
            voxels,
        ):
            raise InputTypeError(
                f"VoxelPolicy needs a flat MultiDiscrete action space with one entry per voxel "
                f"({voxels}), got {action_space}; wrap the env in "
                "segenv_agents.sb3.FlatVoxelActions"
            )
        default = NetworkConfig()
        self.network_config = NetworkConfig(
            default.channels if channels is None else channels,
            default.shared_dilations if shared_dilations is None else tuple(shared_dilations),
            default.head_dilations if head_dilations is None else tuple(head_dilations),
        )
        kwargs["features_extractor_class"] = VoxelFeatures
        kwargs.setdefault("ortho_init", False)  # the network initialises itself (Xavier)
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build(self, lr_schedule: Callable[[float], float]) -> None:
        shape = tuple(self.observation_space.shape or ())
        num_actions = int(self.action_space.nvec.flat[0])  # type: ignore[attr-defined]
        self.voxel_net = VoxelActorCritic.for_observation(shape, num_actions, self.network_config)
        self.action_dist = VoxelCategoricalDistribution(shape[1:], per_voxel=self.per_voxel)
        self.optimizer = self.optimizer_class(
            self.parameters(),
            lr=lr_schedule(1),
            **self.optimizer_kwargs,  # type: ignore[call-arg]
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            channels=self.network_config.channels,
            shared_dilations=self.network_config.shared_dilations,
            head_dilations=self.network_config.head_dilations,
            per_voxel=self.per_voxel,
        )
        return data

    def _outputs(self, obs: Any) -> tuple[VoxelCategoricalDistribution, torch.Tensor]:
        features = self.extract_features(obs, self.features_extractor)
        output = self.voxel_net(features)
        values = output.value_map.flatten(1)
        if not self.per_voxel:
            values = values.mean(dim=1, keepdim=True)
        distribution = cast(VoxelCategoricalDistribution, self.action_dist)
        return distribution.proba_distribution(output.logits), values

    def forward(
        self, obs: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Flat actions, values and log-probabilities (per voxel, or ``V(s)`` and means)."""
        distribution, values = self._outputs(obs)
        actions = distribution.get_actions(deterministic=deterministic)
        return actions, values, distribution.log_prob(actions)

    def evaluate_actions(
        self, obs: Any, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Values, log-probabilities and entropies of given flat actions.

        Per voxel they are flat ``(B · N,)`` like :class:`VoxelRolloutBuffer`'s samples (SB3's
        losses flatten the values themselves); else ``(B, 1)``, ``(B,)``, ``(B,)``.
        """
        distribution, values = self._outputs(obs)
        log_prob, entropy = distribution.log_prob(actions), distribution.entropy()
        if self.per_voxel:
            return values, log_prob.reshape(-1), entropy.reshape(-1)
        return values, log_prob, entropy

    def get_distribution(self, obs: Any) -> Distribution:
        """The per-voxel action distribution at ``obs``."""
        return self._outputs(obs)[0]

    def predict_values(self, obs: Any) -> torch.Tensor:
        """The value map ``(B, N)``, or ``V(s)``, its spatial mean, ``(B, 1)``."""
        return self._outputs(obs)[1]

    def _predict(self, observation: Any, deterministic: bool = False) -> torch.Tensor:
        return self.get_distribution(observation).get_actions(deterministic=deterministic)

    def voxel_logits(self, observation: torch.Tensor) -> torch.Tensor:
        """Per-voxel logits ``(B, K, *spatial)`` (for :class:`~.common.policies.NetworkPolicy`)."""
        return self.voxel_net(observation).logits


# ---------------------------------------------------- per-voxel rewards, buffer, algorithms


class VoxelRewards(VecEnvWrapper):
    """Every voxel's reward: the ``(n_envs, N)`` reward maps of ``info["reward_map"]``.

    SB3's ``collect_rollouts`` hands the VecEnv's reward to the rollout buffer unchanged, so
    with this wrapper :class:`VoxelRolloutBuffer` receives one reward per voxel agent. The
    episode statistics (``Monitor``, inside each env) still see the scalar reward.
    """

    def reset(self) -> Any:
        """Reset the wrapped VecEnv."""
        return self.venv.reset()

    def step_wait(self) -> VecEnvStepReturn:
        """Step the wrapped VecEnv; the reward becomes the flat reward maps ``(n_envs, N)``."""
        observations, _, dones, infos = self.venv.step_wait()
        maps = np.stack([np.asarray(info["reward_map"], np.float32).reshape(-1) for info in infos])
        return observations, maps, dones, infos


class VoxelRolloutBuffer(RolloutBuffer):
    """SB3's ``RolloutBuffer`` with one reward, value, log-probability and advantage per voxel.

    Rewards, values, log-probabilities, advantages and returns are ``(n_steps, n_envs, N)``
    (N voxels). :meth:`compute_returns_and_advantage` is SB3's GAE recursion with the episode
    flags broadcast over the voxels; samples are flattened over the voxels (``(batch · N,)``),
    so SB3's losses, elementwise then averaged, treat every voxel as a sample of its own while
    the observations (``(batch, C, *spatial)``) keep whole volumes for the convolutions.
    """

    def reset(self) -> None:
        """Allocate the per-voxel arrays (and SB3's own)."""
        super().reset()
        voxels = int(np.prod(self.obs_shape[1:]))
        shape = (self.buffer_size, self.n_envs, voxels)
        self.rewards = np.zeros(shape, dtype=np.float32)
        self.returns = np.zeros(shape, dtype=np.float32)
        self.values = np.zeros(shape, dtype=np.float32)
        self.log_probs = np.zeros(shape, dtype=np.float32)
        self.advantages = np.zeros(shape, dtype=np.float32)

    def add(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        episode_start: np.ndarray,
        value: torch.Tensor,
        log_prob: torch.Tensor,
    ) -> None:
        """Store one step: reward maps, value maps and log-probabilities ``(n_envs, N)``."""
        voxels = self.rewards.shape[-1]
        if np.shape(reward) != (self.n_envs, voxels):
            raise InputTypeError(
                f"VoxelRolloutBuffer needs per-voxel rewards ({self.n_envs}, {voxels}), got "
                f"{describe(reward)}; wrap the VecEnv in segenv_agents.sb3.VoxelRewards"
            )
        self.observations[self.pos] = np.array(obs)
        self.actions[self.pos] = np.asarray(action).reshape(self.n_envs, self.action_dim)
        self.rewards[self.pos] = reward
        self.episode_starts[self.pos] = np.array(episode_start)
        self.values[self.pos] = value.detach().cpu().numpy().reshape(self.n_envs, voxels)
        self.log_probs[self.pos] = log_prob.detach().cpu().numpy().reshape(self.n_envs, voxels)
        self.pos += 1
        if self.pos == self.buffer_size:
            self.full = True

    def compute_returns_and_advantage(self, last_values: torch.Tensor, dones: np.ndarray) -> None:
        """Per-voxel GAE(γ, λ): SB3's recursion, ``δ_i = r_i + γ V_i(s') - V_i(s)`` per voxel."""
        next_values = last_values.detach().cpu().numpy().reshape(self.n_envs, -1)
        next_non_terminal = 1.0 - dones.astype(np.float32)
        last_gae = np.zeros_like(next_values)
        for step in reversed(range(self.buffer_size)):
            if step < self.buffer_size - 1:
                next_non_terminal = 1.0 - self.episode_starts[step + 1]
                next_values = self.values[step + 1]
            going_on = next_non_terminal[:, None]
            delta = self.rewards[step] + self.gamma * next_values * going_on - self.values[step]
            last_gae = delta + self.gamma * self.gae_lambda * going_on * last_gae
            self.advantages[step] = last_gae
        self.returns = self.advantages + self.values

    def _get_samples(self, batch_inds: np.ndarray, env: Any = None) -> RolloutBufferSamples:
        data = (
            self.observations[batch_inds],
            self.actions[batch_inds].astype(np.float32, copy=False),
            self.values[batch_inds].reshape(-1),
            self.log_probs[batch_inds].reshape(-1),
            self.advantages[batch_inds].reshape(-1),
            self.returns[batch_inds].reshape(-1),
        )
        return RolloutBufferSamples(*tuple(map(self.to_torch, data)))


class _PerVoxel:
    """What :class:`VoxelPPO` and :class:`VoxelA2C` add to SB3's ``PPO`` / ``A2C``."""

    @staticmethod
    def per_voxel_kwargs(policy: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The constructor keywords with the per-voxel buffer and policy set."""
        if not (isinstance(policy, type) and issubclass(policy, VoxelPolicy)):
            raise InputTypeError(
                f"the per-voxel algorithms need segenv_agents.sb3.VoxelPolicy (or a subclass), "
                f"got {policy!r}"
            )
        buffer = kwargs.get("rollout_buffer_class") or VoxelRolloutBuffer
        if not issubclass(buffer, VoxelRolloutBuffer):
            raise InputTypeError(
                f"the per-voxel algorithms need a VoxelRolloutBuffer, got {buffer.__name__}"
            )
        policy_kwargs = {**(kwargs.get("policy_kwargs") or {}), "per_voxel": True}
        return {**kwargs, "rollout_buffer_class": buffer, "policy_kwargs": policy_kwargs}

    @staticmethod
    def wrap(venv: VecEnv) -> VecEnv:
        """``venv`` with :class:`VoxelRewards` on top (once)."""
        wrapper: Any = venv
        while isinstance(wrapper, VecEnvWrapper):
            if isinstance(wrapper, VoxelRewards):
                return venv
            wrapper = wrapper.venv
        return VoxelRewards(venv)


class VoxelPPO(PPO):
    """SB3's ``PPO`` with per-voxel advantages: every voxel's ratio clipped against its own.

    ``VoxelPPO(VoxelPolicy, env, ...)`` takes PPO's arguments. It wraps the VecEnv in
    :class:`VoxelRewards`, stores rollouts in :class:`VoxelRolloutBuffer` and builds
    ``VoxelPolicy(per_voxel=True)``; SB3's ``train`` then computes, over the voxels of a
    minibatch, the normalised advantages, ``min(ρ_i A_i, clip(ρ_i) A_i)`` and
    ``(V_i - G_i)²``, the per-voxel PPO of RL4Seg (and :mod:`segenv_agents.ppo`).
    """

    def __init__(self, policy: Any, env: Any, **kwargs: Any) -> None:
        super().__init__(policy, env, **_PerVoxel.per_voxel_kwargs(policy, kwargs))

    @staticmethod
    def _wrap_env(env: GymEnv, verbose: int = 0, monitor_wrapper: bool = True) -> VecEnv:
        return _PerVoxel.wrap(PPO._wrap_env(env, verbose, monitor_wrapper))


class VoxelA2C(A2C):
    """SB3's ``A2C`` with per-voxel advantages: PixelRL's per-pixel A2C on voxels.

    ``VoxelA2C(VoxelPolicy, env, ...)`` takes A2C's arguments; see :class:`VoxelPPO`.
    """

    def __init__(self, policy: Any, env: Any, **kwargs: Any) -> None:
        super().__init__(policy, env, **_PerVoxel.per_voxel_kwargs(policy, kwargs))

    @staticmethod
    def _wrap_env(env: GymEnv, verbose: int = 0, monitor_wrapper: bool = True) -> VecEnv:
        return _PerVoxel.wrap(A2C._wrap_env(env, verbose, monitor_wrapper))


ALGORITHMS: dict[str, type[BaseAlgorithm]] = {
    "ppo": VoxelPPO,
    "a2c": VoxelA2C,
    "ppo_scalar": PPO,
    "a2c_scalar": A2C,
}
"""``Args.algo`` → the SB3 class: per-voxel, or the scalar-advantage controls."""

LEARNER_NAMES = {
    "ppo": "sb3_ppo",
    "a2c": "sb3_a2c",
    "ppo_scalar": "sb3_ppo_scalar",
    "a2c_scalar": "sb3_a2c_scalar",
}
"""``Args.algo`` → the learner's name in :data:`segenv_agents.registry.LEARNERS`."""


# ------------------------------------------------------------------------------------ Args


@dataclass
class Args(NetworkArgs, RunArgs):
    """SB3 settings after the env, run and network fields (``RunArgs``, ``NetworkArgs``)."""

    algo: str = "ppo"
    """'ppo' / 'a2c': VoxelPPO / VoxelA2C, per voxel; 'ppo_scalar' / 'a2c_scalar': SB3's own"""
    seed: int = 0
    """seed of the run (SB3 seeds torch, numpy and the envs)"""
    total_timesteps: int = 200_000
    """env steps in all (one env step = one action for every voxel)"""
    num_envs: int = 4
    """envs in SB3's DummyVecEnv"""
    n_steps: int = 5
    """rollout length per env and update (T: one whole episode per env and update)"""
    batch_size: int = 20
    """PPO minibatch size in volume-steps (≤ n_steps · num_envs), each with all its voxels"""
    n_epochs: int = 4
    """PPO epochs per rollout"""
    lr: float = 1e-4
    """Adam learning rate"""
    ent_coef: float = 0.01
    """weight of the entropy bonus (mean per-voxel entropy) at the start"""
    entropy_decay_to: float = 1.0
    """its weight at the last rollout, as a fraction of ``ent_coef`` (geometric; 1 = constant)"""
    vf_coef: float = 0.5
    """weight of the value loss"""
    gae_lambda: float = 1.0
    """GAE λ (per voxel, or of the mean voxel reward); 1 = Monte-Carlo returns (eq 7)"""
    clip_range: float = 0.2
    """PPO clip range (per voxel; the scalar control clips the geometric-mean ratio)"""
    normalize_advantage: bool = True
    """normalise the advantages over each minibatch (its voxels, per voxel)"""
    max_grad_norm: float = 0.5
    """gradient-norm clipping"""

    @property
    def total_env_steps(self) -> int:
        """``total_timesteps`` (SB3 counts the steps of every env)."""
        return self.total_timesteps

    @property
    def is_ppo(self) -> bool:
        """Whether ``algo`` is a PPO (which has minibatches, epochs and a clip range)."""
        return self.algo in ("ppo", "ppo_scalar")

    def __post_init__(self) -> None:
        if self.algo not in ALGORITHMS:
            raise ConfigError(f"algo={self.algo!r} is unknown; use one of {sorted(ALGORITHMS)}")
        for name in ("total_timesteps", "num_envs", "n_steps", "batch_size", "n_epochs"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        check_final_fraction("entropy_decay_to", self.entropy_decay_to)
        if self.is_ppo and self.batch_size > self.n_steps * self.num_envs:
            raise ConfigError(
                f"batch_size={self.batch_size} exceeds n_steps · num_envs = "
                f"{self.n_steps * self.num_envs}; lower it or raise n_steps / num_envs"
            )


CONFIGS: dict[str, Args] = {
    # A3C's quick env and network (2D 64×64, 16 channels, two-block heads, 4 envs), sized to
    # train in less time than A3C's quick preset on a 2-core CPU: 350 updates of one episode
    # per env, 2 epochs of 2 minibatches each (as segenv_agents.ppo's quick preset).
    "quick": Args(
        shape=(64, 64),
        num_train_cases=1000,
        num_test_cases=50,
        total_timesteps=7_000,
        num_envs=4,
        n_steps=5,
        batch_size=10,
        n_epochs=2,
        lr=3e-4,
        ent_coef=0.05,  # with 0.01 the early "push every voxel down" state persists
        gae_lambda=0.95,
        channels=16,
        head_dilations=(2, 1),
        threads=1,  # robust on a shared CPU: see segenv_agents.common.runtime.configure_torch
        checkpoint_every_s=60.0,
    ),
    # A3C's quick3d data and network (16×32×32, image-aware start at difficulty 1, mixed
    # families with domain randomisation, the t / T channel) within A3C's 15 minutes on a
    # 2-core CPU: 150 updates of one episode per env, as segenv_agents.ppo's quick3d preset.
    # A3C's entropy decay (entropy_decay_to=0.04) lifted steps 1-4 of seed 0 (78.44 .. 79.54
    # against 77.20 .. 77.42) but not step 5 (44.80, 48.16 without), so it is not on here.
    "quick3d": Args(
        **QUICK3D_DATA,
        step_channel=True,
        total_timesteps=3_000,
        num_envs=4,
        n_steps=5,
        batch_size=10,
        n_epochs=2,
        lr=3e-4,
        ent_coef=0.05,
        gae_lambda=0.95,
        channels=16,
        head_dilations=(2, 1),
        threads=2,
        checkpoint_every_s=60.0,
    ),
    # The papers' volume and settings (55×55×30, T = 5, lr 1e-4, γ = 0.95) for a GPU.
    "paper": Args(
        shape=(30, 55, 55),
        total_timesteps=500_000,
        num_envs=8,
        n_steps=5,
        batch_size=40,
        lr=1e-4,
        channels=32,
        device="auto",
    ),
}


# -------------------------------------------------------------------------- training


def make_model(args: Args, env: Any, tensorboard_log: str | None = None) -> BaseAlgorithm:
    """The ``args.algo`` algorithm (:data:`ALGORITHMS`) with :class:`VoxelPolicy` on a VecEnv."""
    policy_kwargs = dataclasses.asdict(args.network_config())
    common: dict[str, Any] = {
        "learning_rate": args.lr,
        "n_steps": args.n_steps,
        "gamma": args.gamma,
        "gae_lambda": args.gae_lambda,
        "ent_coef": args.ent_coef,
        "vf_coef": args.vf_coef,
        "max_grad_norm": args.max_grad_norm,
        "normalize_advantage": args.normalize_advantage,
        "policy_kwargs": policy_kwargs,
        "seed": args.seed,
        "device": resolve_device(args.device),
        "tensorboard_log": tensorboard_log,
        "verbose": 0,
    }
    if args.is_ppo:
        common.update(
            batch_size=args.batch_size, n_epochs=args.n_epochs, clip_range=args.clip_range
        )
    return ALGORITHMS[args.algo](VoxelPolicy, env, **common)


class EntropyDecay(BaseCallback):
    """Decay SB3's ``ent_coef`` geometrically over ``learn`` (SB3 itself takes only a constant).

    Before each update it sets ``model.ent_coef`` to ``start · final_fraction^progress``, where
    progress runs from 0 at the first rollout to 1 at the one that reaches ``total_timesteps``,
    so a resumed run continues the same schedule.
    """

    def __init__(self, start: float, final_fraction: float, total_timesteps: int) -> None:
        super().__init__()
        self.start = start
        self.final_fraction = final_fraction
        self.total_timesteps = total_timesteps

    def _on_rollout_end(self) -> None:
        per_rollout = self.model.n_steps * self.model.n_envs  # type: ignore[attr-defined]
        rollouts = -(-self.total_timesteps // per_rollout)
        done = self.model.num_timesteps // per_rollout - 1
        progress = progress_of(done, rollouts)
        self.model.ent_coef = geometric_decay(self.start, self.final_fraction, progress)  # type: ignore[attr-defined]

    def _on_step(self) -> bool:
        return True


class _Progress(BaseCallback):
    """Progress bar, charts/ scalars and timed atomic checkpoints for SB3's ``learn``."""

    def __init__(self, out_dir: Path, args: Args, show_progress: bool) -> None:
        super().__init__()
        self.out_dir = out_dir
        self.args = args
        self.show_progress = show_progress
        self.logger_: RunLogger | None = None
        self.last_save = time.monotonic()
        self.voxels = 0
        self.final_dice: list[float] = []
        self.rollout_start = 0
        self.stopped: int | None = None

    def _on_training_start(self) -> None:
        self.logger_ = RunLogger(
            self.out_dir,
            total=self.args.total_timesteps,
            initial=self.model.num_timesteps,
            show_progress=self.show_progress,
        )
        self.voxels = int(np.prod(self.model.observation_space.shape[1:]))  # type: ignore[index]

    def _on_rollout_start(self) -> None:
        self.rollout_start = self.model.num_timesteps

    def _on_step(self) -> bool:
        self.stopped = interrupts.stop_requested()
        if self.stopped is not None:  # a signal: abandon this rollout, train() saves
            return False
        steps = self.model.n_envs
        for info, done in zip(self.locals["infos"], self.locals["dones"], strict=True):
            if done:
                self.final_dice.append(float(info["dice"]))
        if self.logger_ is not None:
            self.logger_.progress(steps, steps, steps * self.voxels)
        if time.monotonic() - self.last_save >= self.args.checkpoint_every_s:
            save_model(self.model, self.out_dir)
            self.last_save = time.monotonic()
        return True

    def _on_rollout_end(self) -> None:
        if self.logger_ is None or not self.final_dice:
            return
        steps_per_s, transitions_per_s = self.logger_.throughput
        self.logger_.scalars(
            {
                "charts/final_dice": float(np.mean(self.final_dice)),
                "charts/env_steps_per_s": steps_per_s,
                "charts/transitions_per_s": transitions_per_s,
            },
            self.model.num_timesteps,
        )
        self.final_dice.clear()

    def _on_training_end(self) -> None:
        if self.logger_ is not None:
            self.logger_.close()


def save_model(model: BaseAlgorithm, out_dir: Path) -> Path:
    """Save an SB3 model to ``out_dir/checkpoint.zip`` atomically (SB3 writes to the stream)."""
    path = Path(out_dir) / CHECKPOINT_NAME
    with atomic_writer(path) as stream:  # a binary file: SB3 writes its zip archive into it
        model.save(cast(io.BufferedIOBase, stream))
    return path


def train(args: Args, out_dir: Path, *, resume: bool = False, show_progress: bool = True) -> Path:
    """Train ``args.algo`` (:data:`ALGORITHMS`) with :class:`VoxelPolicy`; write ``checkpoint.zip``.

    Args:
        args: The settings (e.g. ``CONFIGS["quick"]``).
        out_dir: The run directory.
        resume: Continue the run in ``out_dir`` (SB3's step count continues).
        show_progress: Show the progress bar.

    Returns:
        The checkpoint path.
    """
    out_dir = Path(out_dir)
    checkpoint = out_dir / CHECKPOINT_NAME
    if checkpoint.exists() and not resume:
        raise ConfigError(
            f"{out_dir} already holds a run; pass --resume to continue it or choose another --out"
        )
    if resume:
        check_resume(out_dir, LEARNER_NAMES[args.algo], args)
        if not checkpoint.exists():
            announce_fresh_start(out_dir)
    write_config(out_dir, LEARNER_NAMES[args.algo], args)
    configure_torch(args.threads)
    kwargs = env_kwargs(args, "train")
    env_id = env_id_of(args)
    env = DummyVecEnv([lambda: make_sb3_env(env_id, kwargs) for _ in range(args.num_envs)])
    tensorboard = str(out_dir / "tb")
    if checkpoint.exists():
        model = ALGORITHMS[args.algo].load(checkpoint, env=env, device=resolve_device(args.device))
        model.tensorboard_log = tensorboard
        for folder in Path(tensorboard).glob(f"{args.algo}_*"):  # SB3's own log continues
            purge_tensorboard(folder, model.num_timesteps + 1)
    else:
        model = make_model(args, env, tensorboard)
    remaining = args.total_timesteps - model.num_timesteps
    progress = _Progress(out_dir, args, show_progress)
    callbacks: list[BaseCallback] = [progress]
    if args.entropy_decay_to < 1:
        callbacks.append(EntropyDecay(args.ent_coef, args.entropy_decay_to, args.total_timesteps))
    if remaining > 0:
        with interrupts.handle_signals(), interrupts.deferred():
            model.learn(
                remaining,
                callback=CallbackList(callbacks),
                reset_num_timesteps=False,
                tb_log_name=args.algo,
            )
    if progress.stopped is not None:  # the abandoned rollout is played again on resume
        model.num_timesteps = progress.rollout_start
    path = save_model(model, out_dir)
    env.close()
    if progress.stopped is not None:
        raise interrupts.Interrupted(
            progress.stopped, model.num_timesteps, args.total_timesteps, unit="env step"
        )
    return path


# ------------------------------------------------------------------------------ evaluation


def load_model(out_dir: Path, *, device: str = "cpu") -> BaseAlgorithm:
    """The SB3 model of a run directory."""
    _, recorded = read_config(out_dir)
    args = args_from_dict(Args, recorded)
    checkpoint = Path(out_dir) / CHECKPOINT_NAME
    if not checkpoint.exists():
        raise ConfigError(
            f"{out_dir} has no {CHECKPOINT_NAME}; train first "
            f"(segenv train {LEARNER_NAMES[args.algo]})"
        )
    return ALGORITHMS[args.algo].load(checkpoint, device=resolve_device(device))


def load_policy(out_dir: Path, *, greedy: bool = True, device: str = "cpu") -> NetworkPolicy:
    """The trained policy of a run directory, for :func:`~.common.evaluation.evaluate_policy`."""
    model = load_model(out_dir, device=device)
    policy = model.policy
    if not isinstance(policy, VoxelPolicy):
        raise ConfigError(f"{out_dir} holds a {type(policy).__name__}, not a VoxelPolicy")
    policy.set_training_mode(False)
    return NetworkPolicy(policy.voxel_logits, device=policy.device, greedy=greedy)
