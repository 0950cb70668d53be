"""Shared pieces of the learners: networks, losses, rollouts, evaluation, logging, checkpoints.

Every learner in ``agents/`` (A3C, MECCA, the SB3 plug-in, the supervised baselines) builds on
this module, so nothing here is copied between learners:

* **Networks** — :class:`VoxelActorCritic`, the fully convolutional dilated actor-critic of
  IteR-MRL §3.3 / MECCA §3.2 (shared blocks, a policy head with a per-voxel distribution over
  the K actions, a value head), and :class:`ConfidenceNet` (MECCA §3.3). Both run on 3D
  observations ``(B, C, D, H, W)`` with ``Conv3d`` and on the 2D env's ``(B, C, H, W)`` with
  ``Conv2d`` (``spatial_dims``).
* **Losses** — the discounted return and the advantage of eq 7, the value loss of eq 6 and the
  policy loss of eq 8, for the paper's scalar advantage (mean voxel reward) and PixelRL's
  per-voxel advantage.
* **Rollouts** — :func:`collect_rollout` plays one synchronous episode in every sub-env of a
  Gymnasium ``VectorEnv`` (:func:`make_vector_env`). It only needs ``reset(seed=...)`` and
  ``step(actions)`` with batched arrays and ``info["reward_map"]`` / ``info["dice"]`` /
  ``info["num_clicks"]``, so a batched env with the same interface plugs in unchanged.
* **Evaluation** — :class:`NetworkPolicy` turns a network into a
  :data:`agents.scripted.Policy` for :func:`agents.evaluation.evaluate_policy`.
* **Logging** — :class:`RunLogger`: TensorBoard scalars (``charts/``, ``losses/``) and a
  progress bar with env steps/s and voxel-agent transitions/s.
* **Checkpoints** — :func:`save_checkpoint` writes atomically (temporary file, fsync, rename),
  :func:`load_checkpoint` reads one back, :class:`TrainingLoop` checkpoints every few minutes
  and resumes where a killed run stopped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from segenv.errors import ConfigError, DataError, InputTypeError, describe

CHECKPOINT_NAME = "checkpoint.pt"
CONFIG_NAME = "config.json"
TEST_SPLIT_SEED_OFFSET = 1_000_000  # synthetic test cases start here (segenv.data.synthetic)


# ---------------------------------------------------------------------------------- set-up


def configure_torch(threads: int | None = None) -> int:
    """Set torch's intra-op threads: ``threads``, or all cores of this machine (at least 1).

    The ``quick`` presets use one thread: torch's OpenMP threads spin-wait for each other, so
    while another process holds a core two threads crawl (measured on this project's 2-core
    machine under a load of ~6: 10 s per A3C quick update with two threads, 1.2 s with one).

    Returns:
        The number of threads now in use.
    """
    count = threads if threads is not None else max(1, os.cpu_count() or 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"threads must be a positive int or None, got {threads!r}")
    torch.set_num_threads(count)
    return count


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, numpy's and torch's global generators; return a torch generator.

    The learners draw actions from the returned generator (its state is checkpointed), so a
    run with the same seed is repeatable on the same machine.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  (libraries that use the legacy global RNG)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """``"auto"`` → CUDA when present, else CPU; otherwise the named device."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as error:
        raise ConfigError(
            f"device={name!r} is not a torch device; use 'auto', 'cpu' or 'cuda'"
        ) from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} asked for CUDA but none is available; use 'cpu'")
    return device


# ------------------------------------------------------------------------------ environments


@dataclass
class EnvArgs:
    """The environment settings every learner shares (its ``Args`` inherit these fields)."""

    shape: tuple[int, ...] = (30, 55, 55)
    """volume (D, H, W) of the synthetic cases, or (H, W) for the 2D env"""
    difficulty: float = 0.5
    """synthetic difficulty in [0, 1] (contrast, noise, bias field, blur)"""
    num_train_cases: int = 100
    """synthetic training cases (the `train2` split: the update method's training set)"""
    num_test_cases: int = 50
    """held-out synthetic test cases (the `test` split)"""
    data_seed: int = 0
    """chooses the family of disjoint synthetic splits (segenv.data.synthetic_splits)"""
    target_dice: float = 0.75
    """Dice of the degraded-truth initial segmentation p(0)"""
    initial_clicks: int = 5
    """clicks on p(0) before the first step (IteR-MRL Table 2 protocol: 5)"""
    clicks_per_step: int = 5
    """N_click: clicks after every step"""
    max_steps: int = 5
    """T: refinement steps per episode"""
    user: str = "largest_error"
    """simulated user during training (segenv.interaction.USERS)"""
    hints: str = "geodesic"
    """hint encoding (segenv.hints.HINT_ENCODERS)"""
    reward: str = "relative"
    """reward design (segenv.rewards.REWARDS)"""
    actions: str = "paper"
    """action set (segenv.actions.ACTION_SETS)"""
    state: str = "probability"
    """'probability' or 'binary' (p >= 0.5 in the observation, IteR-MRL Table 4)"""
    gamma: float = 0.95
    """discount γ of eq 5 and 7"""


@dataclass
class RunArgs(EnvArgs):
    """The run settings every learner shares, after :class:`EnvArgs`' environment fields."""

    device: str = "cpu"
    """'cpu', 'cuda' or 'auto'"""
    threads: int = 0
    """torch threads (0 = all cores)"""
    checkpoint_every_s: float = 120.0
    """seconds between two atomic checkpoints"""
    eval_episodes: int = 50
    """held-out test episodes of `segenv evaluate` by default"""


def env_id_of(args: EnvArgs) -> str:
    """The Gymnasium id for ``args.shape``: 2D for ``(H, W)``, 3D for ``(D, H, W)``."""
    if len(args.shape) not in (2, 3):
        raise ConfigError(f"shape must be (D, H, W) or (H, W), got {args.shape!r}")
    return "InteractiveSeg2D-v0" if len(args.shape) == 2 else "InteractiveSeg3D-v0"


def synthetic_split(args: EnvArgs, split: str) -> Any:
    """The ``train`` (``train2``) or ``test`` synthetic case source of ``args``."""
    from segenv.data.synthetic import synthetic_splits

    if split not in ("train", "test"):
        raise ConfigError(f"split={split!r} is unknown; use 'train' or 'test'")
    volume = (1, *args.shape) if len(args.shape) == 2 else tuple(args.shape)
    splits = synthetic_splits(
        volume,
        num_train1=args.num_train_cases,
        num_train2=args.num_train_cases,
        num_test=args.num_test_cases,
        seed=args.data_seed,
        difficulty=args.difficulty,
        cache_size=max(args.num_train_cases, args.num_test_cases),
    )
    return splits.train2 if split == "train" else splits.test


def env_kwargs(args: EnvArgs, split: str = "train", **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of ``gym.make(env_id_of(args), ...)`` for a split, plus overrides."""
    kwargs: dict[str, Any] = {
        "shape": tuple(args.shape),
        "dataset": synthetic_split(args, split),
        "initial_clicks": args.initial_clicks,
        "clicks_per_step": args.clicks_per_step,
        "max_steps": args.max_steps,
        "user": args.user,
        "hints": args.hints,
        "reward": args.reward,
        "actions": args.actions,
        "state": args.state,
        "gamma": args.gamma,
        "initialiser": "degraded_truth",
        "initialiser_kwargs": {"target_dice": args.target_dice},
    }
    kwargs.update(overrides)
    return kwargs


def interaction_free(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The same env without any click (all-zero hints): IteR-MRL0's pre-training stage."""
    return {**kwargs, "initial_clicks": 0, "clicks_per_step": 0, "user": "largest_error"}


# -------------------------------------------------------------------------------- networks


def spatial_dims_of(observation_shape: Sequence[int]) -> int:
    """Spatial dimensions of an env observation ``(C, D, H, W)`` → 3 or ``(C, H, W)`` → 2."""
    dims = len(observation_shape) - 1
    if dims not in (2, 3):
        raise ConfigError(
            f"observation shape {tuple(observation_shape)} must be (C, D, H, W) or (C, H, W)"
        )
    return dims


def _conv(spatial_dims: int) -> type[nn.Conv2d] | type[nn.Conv3d]:
    return nn.Conv3d if spatial_dims == 3 else nn.Conv2d


class ConvBlock(nn.Sequential):
    """Two 3×3(×3) convolutions with the same dilation, each followed by a ReLU (P-Net block)."""

    def __init__(self, in_channels: int, channels: int, dilation: int, spatial_dims: int) -> None:
        conv = _conv(spatial_dims)
        super().__init__(
            conv(in_channels, channels, 3, padding=dilation, dilation=dilation),
            nn.ReLU(inplace=True),
            conv(channels, channels, 3, padding=dilation, dilation=dilation),
            nn.ReLU(inplace=True),
        )


def _trunk(in_channels: int, channels: int, dilations: Sequence[int], dims: int) -> nn.Sequential:
    blocks = []
    for dilation in dilations:
        blocks.append(ConvBlock(in_channels, channels, dilation, dims))
        in_channels = channels
    return nn.Sequential(*blocks)


@dataclass(frozen=True)
class NetworkConfig:
    """Shape of the fully convolutional networks (SPEC §9).

    Attributes:
        channels: Feature channels of every block.
        shared_dilations: Dilation of each shared block (IteR-MRL: three blocks).
        head_dilations: Dilation of each block of the policy / value / confidence heads
            (IteR-MRL: three blocks; MECCA's P-Net variant: two).
    """

    channels: int = 32
    shared_dilations: tuple[int, ...] = (1, 2, 3)
    head_dilations: tuple[int, ...] = (4, 2, 1)

    def __post_init__(self) -> None:
        if isinstance(self.channels, bool) or not isinstance(self.channels, int):
            raise InputTypeError(f"channels must be an int, got {self.channels!r}")
        if self.channels < 1:
            raise ConfigError(f"channels must be >= 1, got {self.channels}")
        for name in ("shared_dilations", "head_dilations"):
            value = getattr(self, name)
            if not value or any(not isinstance(d, int) or d < 1 for d in value):
                raise ConfigError(f"{name} must be a non-empty tuple of ints >= 1, got {value!r}")


class ActorCriticOutput(NamedTuple):
    """What :class:`VoxelActorCritic` returns."""

    logits: torch.Tensor  # (B, K, *spatial): per-voxel action logits
    value_map: torch.Tensor  # (B, *spatial): per-voxel value; its spatial mean is V(s) of eq 7


class VoxelActorCritic(nn.Module):
    """The fully convolutional actor-critic of IteR-MRL §3.3 (SPEC §9).

    Shared dilated blocks extract low-level features; a policy head and a value head (each its
    own dilated blocks and a 1×1 convolution) give per-voxel action logits and a per-voxel value
    map. No dense layer: the network runs on any volume size, and each voxel agent sees its
    neighbours through the receptive field. Input ``(B, C, D, H, W)`` (``spatial_dims=3``) or
    ``(B, C, H, W)`` (``spatial_dims=2``, the 2D env).
    """

    def __init__(
        self,
        in_channels: int,
        num_actions: int,
        *,
        spatial_dims: int = 3,
        config: NetworkConfig | None = None,
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ConfigError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
        if num_actions < 2 or in_channels < 1:
            raise ConfigError(
                f"need in_channels >= 1 and num_actions >= 2, got {in_channels}, {num_actions}"
            )
        self.config = config or NetworkConfig()
        self.spatial_dims = spatial_dims
        self.num_actions = num_actions
        channels, conv = self.config.channels, _conv(spatial_dims)
        self.shared = _trunk(in_channels, channels, self.config.shared_dilations, spatial_dims)
        self.policy_head = nn.Sequential(
            _trunk(channels, channels, self.config.head_dilations, spatial_dims),
            conv(channels, num_actions, 1),
        )
        self.value_head = nn.Sequential(
            _trunk(channels, channels, self.config.head_dilations, spatial_dims),
            conv(channels, 1, 1),
        )
        initialise_weights(self)
        self.memory_format = channels_last(spatial_dims)
        self.to(memory_format=self.memory_format)  # type: ignore[call-overload]

    def forward(self, observation: torch.Tensor) -> ActorCriticOutput:
        """Per-voxel logits ``(B, K, *spatial)`` and value map ``(B, *spatial)``."""
        features = self.shared(observation.contiguous(memory_format=self.memory_format))
        return ActorCriticOutput(self.policy_head(features), self.value_head(features)[:, 0])


class ConfidenceNet(nn.Module):
    """MECCA §3.3's action-confidence network: ``C(s, a) ∈ (0, 1)`` per voxel.

    The same shape as the value branch (shared blocks then head blocks, own parameters). The
    action enters as one extra channel holding each voxel's delta ``A[a]``, so ``C(s, -a)`` is
    the same network on the negated delta map (the symmetric sample of eq 6).
    """

    def __init__(
        self, in_channels: int, *, spatial_dims: int = 3, config: NetworkConfig | None = None
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ConfigError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
        self.config = config or NetworkConfig()
        channels = self.config.channels
        dilations = self.config.shared_dilations + self.config.head_dilations
        self.body = _trunk(in_channels + 1, channels, dilations, spatial_dims)
        self.out = _conv(spatial_dims)(channels, 1, 1)
        initialise_weights(self)
        self.memory_format = channels_last(spatial_dims)
        self.to(memory_format=self.memory_format)  # type: ignore[call-overload]

    def forward(self, observation: torch.Tensor, delta_map: torch.Tensor) -> torch.Tensor:
        """Confidence logits ``(B, *spatial)`` for taking per-voxel deltas ``delta_map``."""
        stacked = torch.cat((observation, delta_map.unsqueeze(1)), dim=1)
        stacked = stacked.contiguous(memory_format=self.memory_format)
        return self.out(self.body(stacked))[:, 0]


def channels_last(spatial_dims: int) -> torch.memory_format:
    """The channels-last layout for 2D or 3D convolutions.

    Measured on this project's 2-core CPU (oneDNN), forward + backward of the actor-critic:
    2D 64×64, 16 channels, batch 4: 0.35 s → 0.28 s per 5-step episode; 3D 30×55×55,
    16 channels, batch 4: 1.47 s → 0.73 s per sample. The networks use it on every device.
    """
    return torch.channels_last_3d if spatial_dims == 3 else torch.channels_last


def initialise_weights(module: nn.Module) -> None:
    """Xavier-uniform convolution weights and zero biases (MECCA §4.1)."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Conv3d)):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# ---------------------------------------------------------------------------- distributions


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


# ----------------------------------------------------------------------------------- losses


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


# ---------------------------------------------------------------------------------- rollouts


class LearnerInfo(gym.Wrapper[np.ndarray, np.ndarray, np.ndarray, np.ndarray]):
    """Keep only the fixed-size ``info`` entries learners use, so ``SyncVectorEnv`` can batch them.

    The env's ``info["clicks"]`` grows during an episode and cannot be stacked across envs;
    this wrapper keeps ``dice``, ``num_clicks``, ``step`` and (after a step) ``reward_map``.
    """

    KEYS = ("dice", "num_clicks", "step", "reward_map")

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset the wrapped env and filter its info."""
        observation, info = self.env.reset(seed=seed, options=options)
        return observation, self._keep(info)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Step the wrapped env and filter its info."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        return observation, float(reward), terminated, truncated, self._keep(info)

    def _keep(self, info: Mapping[str, Any]) -> dict[str, Any]:
        return {key: info[key] for key in self.KEYS if key in info}


def make_env(env_id: str, env_kwargs: Mapping[str, Any]) -> gym.Env:
    """``gym.make(env_id, **env_kwargs)`` wrapped in :class:`LearnerInfo`."""
    import segenv  # noqa: F401  (registers the ids)

    return LearnerInfo(gym.make(env_id, **env_kwargs))


def make_vector_env(
    env_id: str, env_kwargs: Mapping[str, Any], num_envs: int
) -> gym.vector.SyncVectorEnv:
    """``num_envs`` copies of the env in a Gymnasium ``SyncVectorEnv``."""
    if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
        raise ConfigError(f"num_envs must be an int >= 1, got {num_envs!r}")
    kwargs = dict(env_kwargs)
    return gym.vector.SyncVectorEnv([lambda: make_env(env_id, kwargs) for _ in range(num_envs)])


def sub_envs(envs: gym.vector.VectorEnv) -> list[gym.Env]:
    """The unwrapped sub-envs of a ``SyncVectorEnv`` (for per-env calls like set_confidence)."""
    inner = getattr(envs, "envs", None)
    if inner is None:
        raise InputTypeError(
            f"need a SyncVectorEnv (with .envs) for per-env calls, got {describe(envs)}"
        )
    return [env.unwrapped for env in inner]


@dataclass
class Rollout:
    """One synchronous episode of ``B`` envs, time-major (``T`` steps).

    Attributes:
        observations: float32 ``(T, B, C, *spatial)``, the state before each action.
        final_observation: float32 ``(B, C, *spatial)``, the state after the last step.
        actions: int64 ``(T, B, *spatial)``.
        reward_maps: float32 ``(T, B, *spatial)``, the env's per-voxel rewards.
        rewards: float32 ``(T, B)``, their means (the env's scalar reward, r̄ of eq 7).
        dice: float ``(T + 1, B)``: Dice of ``p(0)``, then after every step.
        num_clicks: int ``(T + 1, B)``: clicks given so far at each of those points.
    """

    observations: np.ndarray
    final_observation: np.ndarray
    actions: np.ndarray
    reward_maps: np.ndarray
    rewards: np.ndarray
    dice: np.ndarray
    num_clicks: np.ndarray

    @property
    def num_steps(self) -> int:
        """T."""
        return int(self.actions.shape[0])

    @property
    def num_envs(self) -> int:
        """B."""
        return int(self.actions.shape[1])

    @property
    def voxel_transitions(self) -> int:
        """Voxel-agent transitions in this rollout (``T · B · voxels``)."""
        return int(self.actions.size)


Actor = Callable[[np.ndarray], np.ndarray]
"""``act(observations (B, C, *spatial)) -> actions (B, *spatial)`` for a batch of envs."""


def collect_rollout(
    envs: gym.vector.VectorEnv,
    act: Actor,
    seeds: Sequence[int],
    *,
    before_step: Callable[[np.ndarray, np.ndarray], None] | None = None,
) -> Rollout:
    """Play one episode in every sub-env (all start together and end after the env's T steps).

    Args:
        envs: A vector env of the segenv env (see :func:`make_vector_env`), or anything with the
            same batched ``reset`` / ``step`` and info keys.
        act: The batched actor; a learner may keep the network outputs it computes here.
        seeds: One reset seed per sub-env (picks the case and the initial state).
        before_step: Called as ``before_step(observations, actions)`` before each step (MECCA
            gives the env its confidence map there).

    Returns:
        The episode as a :class:`Rollout`.
    """
    if len(seeds) != envs.num_envs:
        raise ConfigError(f"need one seed per env ({envs.num_envs}), got {len(seeds)}")
    observation, info = envs.reset(seed=[int(s) for s in seeds])  # type: ignore[arg-type]
    observations, actions, reward_maps, rewards = [], [], [], []
    dice, clicks = [np.asarray(info["dice"], float)], [np.asarray(info["num_clicks"], int)]
    done = np.zeros(envs.num_envs, bool)
    while not done.all():
        if done.any():
            raise DataError("the sub-envs ended at different steps; use one max_steps for all")
        action = np.asarray(act(observation))
        if before_step is not None:
            before_step(observation, action)
        observations.append(observation)
        actions.append(action.astype(np.int64, copy=False))
        observation, reward, terminated, truncated, info = envs.step(action)
        reward_maps.append(np.asarray(info["reward_map"], np.float32))
        rewards.append(np.asarray(reward, np.float32))
        dice.append(np.asarray(info["dice"], float))
        clicks.append(np.asarray(info["num_clicks"], int))
        done = np.asarray(terminated) | np.asarray(truncated)
    return Rollout(
        observations=np.stack(observations),
        final_observation=np.asarray(observation),
        actions=np.stack(actions),
        reward_maps=np.stack(reward_maps),
        rewards=np.stack(rewards),
        dice=np.stack(dice),
        num_clicks=np.stack(clicks),
    )


def episode_seeds(base_seed: int, update: int, num_envs: int) -> list[int]:
    """Reset seeds of update ``update``: a pure function of the run seed and the update index.

    Deriving them from the update index (not from a generator's state) makes a resumed run
    replay exactly the episodes the interrupted one would have played.
    """
    start = (base_seed * 1_000_003 + update * num_envs) % 2**31
    return [(start + i) % 2**31 for i in range(num_envs)]


# -------------------------------------------------------------------------------- evaluation


class NetworkPolicy:
    """A trained actor as a single-env :data:`agents.scripted.Policy` for evaluation.

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


# ----------------------------------------------------------------------------------- logging


def run_name(learner: str, env_id: str, seed: int) -> str:
    """CleanRL-style run name: env, algorithm, seed and the start time."""
    return f"{env_id}__{learner}__{seed}__{int(time.time())}"


class RunLogger:
    """TensorBoard scalars under ``out_dir/tb`` and a progress bar with throughput.

    ``scalars`` writes a dict of scalars at a global step (``scalars.jsonl`` also records the
    wall time and the env steps and transitions so far); ``progress`` advances the bar by
    updates and shows env steps/s and voxel-agent transitions/s. Both degrade gracefully:
    without ``tensorboard`` installed the scalars go to ``out_dir/scalars.jsonl`` only.
    """

    def __init__(
        self, out_dir: Path, *, total: int, initial: int = 0, show_progress: bool = True
    ) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._jsonl = (self.out_dir / "scalars.jsonl").open("a", encoding="utf-8")
        self._writer: Any = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.out_dir / "tb"))
        except ImportError:
            self._writer = None
        self._bar: Any = None
        if show_progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, unit="upd", dynamic_ncols=True)
        self._start = time.perf_counter()
        self._env_steps = 0
        self._transitions = 0

    def scalars(self, values: Mapping[str, float], step: int) -> None:
        """Write scalars (names like ``losses/value`` or ``charts/dice_gain``) at ``step``."""
        clean = {key: float(value) for key, value in values.items()}
        for key, value in clean.items():
            if self._writer is not None:
                self._writer.add_scalar(key, value, step)
        counters = {
            "wall_s": time.perf_counter() - self._start,
            "env_steps_total": self._env_steps,
            "transitions_total": self._transitions,
        }
        self._jsonl.write(json.dumps({"step": step, **clean, **counters}) + "\n")
        self._jsonl.flush()

    def progress(self, updates: int, env_steps: int, transitions: int, **postfix: float) -> None:
        """Advance the bar by ``updates``; account ``env_steps`` and voxel ``transitions``."""
        self._env_steps += env_steps
        self._transitions += transitions
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        if self._bar is not None:
            shown = {key: f"{value:.3g}" for key, value in postfix.items()}
            shown["steps/s"] = f"{self._env_steps / elapsed:.1f}"
            shown["trans/s"] = f"{self._transitions / elapsed:.3g}"
            self._bar.set_postfix(shown, refresh=False)
            self._bar.update(updates)

    @property
    def throughput(self) -> tuple[float, float]:
        """(env steps/s, voxel-agent transitions/s) since this logger started."""
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        return self._env_steps / elapsed, self._transitions / elapsed

    def close(self) -> None:
        """Flush and close the writers and the bar."""
        if self._writer is not None:
            self._writer.close()
        self._jsonl.close()
        if self._bar is not None:
            self._bar.close()


# ------------------------------------------------------------------------------- checkpoints


def save_checkpoint(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` with ``torch.save`` atomically: a temporary file, fsync, then rename.

    A run killed at any moment leaves either the previous checkpoint or the new one, never a
    half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as handle:
        torch.save(dict(payload), handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """Read a checkpoint written by :func:`save_checkpoint`; None if there is none."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a foreign or corrupt file: say which and why
        raise DataError(
            f"cannot read checkpoint {path}: {error}; delete it to start over"
        ) from error


def write_config(out_dir: Path, learner: str, args: Any) -> None:
    """Record the learner and its ``Args`` dataclass as ``out_dir/config.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {"learner": learner, "args": dataclasses.asdict(args)}
    temporary = out_dir / f".{CONFIG_NAME}.tmp"
    temporary.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, out_dir / CONFIG_NAME)


def read_config(out_dir: Path) -> tuple[str, dict[str, Any]]:
    """The learner name and ``Args`` fields recorded in a run directory."""
    path = Path(out_dir) / CONFIG_NAME
    if not path.exists():
        raise DataError(f"{out_dir} is not a run directory: {CONFIG_NAME} is missing")
    record = json.loads(path.read_text(encoding="utf-8"))
    return str(record["learner"]), dict(record["args"])


def args_from_dict(cls: type[Any], values: Mapping[str, Any]) -> Any:
    """Rebuild an ``Args`` dataclass from :func:`read_config` values (lists → tuples)."""
    names = {field.name for field in dataclasses.fields(cls)}
    kwargs = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in values.items()
        if key in names
    }
    return cls(**kwargs)


class TrainingLoop:
    """The outer loop every learner shares: resume, progress, logging, timed checkpoints.

    A learner yields one :class:`UpdateResult` per update and gives ``state(updates_done)``, the
    checkpoint payload; the loop logs them, writes a checkpoint every ``checkpoint_every_s``
    seconds and at the end, and :meth:`resume_state` reads the checkpoint back.
    """

    def __init__(
        self,
        out_dir: Path,
        *,
        total_updates: int,
        checkpoint_every_s: float = 120.0,
        log_every: int = 10,
        show_progress: bool = True,
    ) -> None:
        if total_updates < 0:
            raise ConfigError(f"total_updates must be >= 0, got {total_updates}")
        self.out_dir = Path(out_dir)
        self.total_updates = total_updates
        self.checkpoint_every_s = checkpoint_every_s
        self.log_every = max(1, log_every)
        self.show_progress = show_progress

    @classmethod
    def open(
        cls, out_dir: Path, learner: str, args: Any, *, resume: bool, show_progress: bool
    ) -> tuple[TrainingLoop, dict[str, Any] | None]:
        """Open a run directory for a learner's ``Args``: the loop and the checkpoint to resume.

        ``args`` needs ``total_updates``, ``checkpoint_every_s`` and ``log_every``; the learner
        and every setting are recorded in ``out_dir/config.json``.
        """
        loop = cls(
            out_dir,
            total_updates=args.total_updates,
            checkpoint_every_s=args.checkpoint_every_s,
            log_every=args.log_every,
            show_progress=show_progress,
        )
        state = loop.resume_state(resume)
        write_config(loop.out_dir, learner, args)
        return loop, state

    @property
    def checkpoint_path(self) -> Path:
        """Where the checkpoint lives."""
        return self.out_dir / CHECKPOINT_NAME

    def resume_state(self, resume: bool) -> dict[str, Any] | None:
        """The checkpoint to resume from (None to start fresh)."""
        state = load_checkpoint(self.checkpoint_path)
        if state is not None and not resume:
            raise ConfigError(
                f"{self.out_dir} already holds a run; pass --resume to continue it or choose "
                "another --out directory"
            )
        return state

    def run(
        self,
        start_update: int,
        results: Iterable[UpdateResult],
        state: Callable[[int], dict[str, Any]],
    ) -> int:
        """Consume update results until ``total_updates``; return the updates done in all.

        Args:
            start_update: The first update index (the checkpoint's count when resuming).
            results: The learner's updates, in any order (asynchronous workers interleave);
                the loop stops after ``total_updates - start_update`` of them.
            state: ``state(updates_done) -> checkpoint payload``.
        """
        logger = RunLogger(
            self.out_dir,
            total=self.total_updates,
            initial=start_update,
            show_progress=self.show_progress,
        )
        last_save = time.monotonic()
        done = start_update
        try:
            for result in results:
                done += 1
                logger.progress(
                    1, result.env_steps, result.transitions, **_headline(result.scalars)
                )
                if result.update % self.log_every == 0 or done >= self.total_updates:
                    steps_per_s, transitions_per_s = logger.throughput
                    scalars = {
                        **result.scalars,
                        "charts/env_steps_per_s": steps_per_s,
                        "charts/transitions_per_s": transitions_per_s,
                    }
                    logger.scalars(scalars, result.update + 1)
                if done >= self.total_updates:
                    break
                if time.monotonic() - last_save >= self.checkpoint_every_s:
                    save_checkpoint(self.checkpoint_path, state(done))
                    last_save = time.monotonic()
            save_checkpoint(self.checkpoint_path, state(done))
            return done
        finally:
            logger.close()

    def run_updates(
        self,
        start_update: int,
        update: Callable[[int], UpdateResult],
        state: Callable[[int], dict[str, Any]],
    ) -> int:
        """:meth:`run` for a synchronous learner: ``update(index)`` for each remaining index."""
        results = (update(index) for index in range(start_update, self.total_updates))
        return self.run(start_update, results, state)


class UpdateResult(NamedTuple):
    """What one learner update reports to :class:`TrainingLoop`."""

    update: int
    scalars: dict[str, float]
    env_steps: int
    transitions: int


def _headline(scalars: Mapping[str, float]) -> dict[str, float]:
    keys = ("charts/dice_gain", "charts/final_dice", "losses/policy")
    return {key.split("/")[-1]: scalars[key] for key in keys if key in scalars}
