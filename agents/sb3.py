"""A stable-baselines3 plug-in: ``PPO(VoxelPolicy, env)`` and ``A2C(VoxelPolicy, env)`` on segenv.

Three pieces make SB3's single-agent algorithms train the shared voxel policy:

* :class:`FlatVoxelActions` — the action-space adapter. SB3 stores a ``MultiDiscrete`` action
  as a flat vector of ``len(nvec)`` entries, so the env's ``MultiDiscrete((D, H, W))`` becomes
  ``MultiDiscrete([K] * D·H·W)`` and the wrapper reshapes the flat action back.
* :class:`VoxelCategoricalDistribution` — one categorical per voxel, vectorised over the whole
  volume (SB3's ``MultiCategoricalDistribution`` would build one ``Categorical`` object per
  voxel). Its ``log_prob`` and ``entropy`` are the **means** over voxels.
* :class:`VoxelPolicy` — an ``ActorCriticPolicy`` whose networks are
  :class:`~.common.networks.VoxelActorCritic`: no dense layer over the voxels, per-voxel logits
  from convolutions, and the state value ``V(s)`` = the spatial mean of the value map.

What this formulation shares with IteR-MRL's eq 7 and where it differs:

* Shared: the reward SB3 sees is the env's scalar reward, the **mean voxel reward** r̄ of eq 7;
  ``V(s)`` is one number per state; with ``gae_lambda=1`` and ``n_steps = T`` every rollout is
  exactly one episode per env and SB3's advantage is eq 7's ``Σ_k γ^(k-t) r̄(k) - V(s(t))``;
  SB3's value loss is eq 6 (``A²``, as the squared error of the return), and A2C's policy loss
  is eq 8 with ``log π`` averaged over voxels (eq 8's sum over voxels divided by N, a rescaled
  learning rate).
* Different: PPO's ratio ``exp(log π_new - log π_old)`` is then the *geometric mean* of the
  per-voxel ratios (the joint ratio, a product over thousands of voxels, would be clipped
  almost always), and it is clipped jointly for the whole volume; PPO and A2C normalise or
  bootstrap advantages their own way (``normalize_advantage``; bootstrapping only matters
  when ``n_steps`` is not a multiple of T); SB3 auto-resets the envs and seeds them once per
  run, so episodes are not the same as A3C's; and every voxel shares one scalar advantage,
  never PixelRL's per-voxel advantage (:mod:`segenv_agents.a3c` with ``advantage="voxel"``).

Run it with ``segenv train ppo --config quick --out runs/ppo`` (or ``a2c``).
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
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.distributions import Distribution
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import DummyVecEnv
from torch import nn

from segenv.devices import resolve_device
from segenv.errors import ConfigError, InputTypeError, describe
from segenv.files import atomic_writer

from .common import interrupts
from .common.config import RunArgs, env_id_of, env_kwargs
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

ALGORITHMS: dict[str, type[BaseAlgorithm]] = {"ppo": PPO, "a2c": A2C}
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
    return the mean over voxels, ``(B,)``.
    """

    def __init__(self, spatial_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.spatial_shape = spatial_shape
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

    def log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        """Mean over voxels of ``log π(a_i|s)``."""
        logits = self._logits()
        voxel_actions = actions.long().reshape(logits.shape[0], *logits.shape[2:])
        log_prob, _ = log_prob_and_entropy(logits, voxel_actions)
        return log_prob.flatten(1).mean(dim=1)

    def entropy(self) -> torch.Tensor:
        """Mean over voxels of the per-voxel entropy."""
        logits = self._logits()
        log_probs = torch.log_softmax(logits, dim=1)
        return -(log_probs.exp() * log_probs).sum(dim=1).flatten(1).mean(dim=1)

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
    :class:`~.common.networks.NetworkConfig`; one left out keeps its default). The env must be
    wrapped in
    :class:`FlatVoxelActions` (see :func:`make_sb3_env`).
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
        **kwargs: Any,
    ) -> None:
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
        self.action_dist = VoxelCategoricalDistribution(shape[1:])
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
        )
        return data

    def _outputs(self, obs: Any) -> tuple[VoxelCategoricalDistribution, torch.Tensor]:
        features = self.extract_features(obs, self.features_extractor)
        output = self.voxel_net(features)
        values = output.value_map.flatten(1).mean(dim=1, keepdim=True)
        distribution = cast(VoxelCategoricalDistribution, self.action_dist)
        return distribution.proba_distribution(output.logits), values

    def forward(
        self, obs: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Flat actions, values ``(B, 1)`` and mean per-voxel log-probabilities."""
        distribution, values = self._outputs(obs)
        actions = distribution.get_actions(deterministic=deterministic)
        return actions, values, distribution.log_prob(actions)

    def evaluate_actions(
        self, obs: Any, actions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Values, mean per-voxel log-probabilities and entropies of given flat actions."""
        distribution, values = self._outputs(obs)
        return values, distribution.log_prob(actions), distribution.entropy()

    def get_distribution(self, obs: Any) -> Distribution:
        """The per-voxel action distribution at ``obs``."""
        return self._outputs(obs)[0]

    def predict_values(self, obs: Any) -> torch.Tensor:
        """``V(s)``, the spatial mean of the value map, ``(B, 1)``."""
        return self._outputs(obs)[1]

    def _predict(self, observation: Any, deterministic: bool = False) -> torch.Tensor:
        return self.get_distribution(observation).get_actions(deterministic=deterministic)

    def voxel_logits(self, observation: torch.Tensor) -> torch.Tensor:
        """Per-voxel logits ``(B, K, *spatial)`` (for :class:`~.common.policies.NetworkPolicy`)."""
        return self.voxel_net(observation).logits


# ------------------------------------------------------------------------------------ Args


@dataclass
class Args(NetworkArgs, RunArgs):
    """SB3 settings after the env, run and network fields (``RunArgs``, ``NetworkArgs``)."""

    algo: str = "ppo"
    """'ppo' or 'a2c'"""
    seed: int = 0
    """seed of the run (SB3 seeds torch, numpy and the envs)"""
    total_timesteps: int = 200_000
    """env steps in all (one env step = one action for every voxel)"""
    num_envs: int = 4
    """envs in SB3's DummyVecEnv"""
    n_steps: int = 5
    """rollout length per env and update (T: one whole episode, so the advantage is eq 7's)"""
    batch_size: int = 20
    """PPO minibatch size (≤ n_steps · num_envs)"""
    n_epochs: int = 4
    """PPO epochs per rollout"""
    lr: float = 1e-4
    """Adam learning rate"""
    ent_coef: float = 0.01
    """weight of the entropy bonus (mean per-voxel entropy)"""
    vf_coef: float = 0.5
    """weight of the value loss"""
    gae_lambda: float = 1.0
    """GAE λ; 1 = the Monte-Carlo advantage of eq 7"""
    clip_range: float = 0.2
    """PPO clip range (on the geometric-mean per-voxel ratio)"""
    max_grad_norm: float = 0.5
    """gradient-norm clipping"""

    @property
    def total_env_steps(self) -> int:
        """``total_timesteps`` (SB3 counts the steps of every env)."""
        return self.total_timesteps

    def __post_init__(self) -> None:
        if self.algo not in ALGORITHMS:
            raise ConfigError(f"algo={self.algo!r} is unknown; use one of {sorted(ALGORITHMS)}")
        for name in ("total_timesteps", "num_envs", "n_steps", "batch_size", "n_epochs"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.algo == "ppo" and self.batch_size > self.n_steps * self.num_envs:
            raise ConfigError(
                f"batch_size={self.batch_size} exceeds n_steps · num_envs = "
                f"{self.n_steps * self.num_envs}; lower it or raise n_steps / num_envs"
            )


CONFIGS: dict[str, Args] = {
    # Minutes on a 2-core CPU with A3C's quick sample budget (20 000 env steps): the 2D env,
    # a 16-channel net.
    "quick": Args(
        shape=(64, 64),
        num_train_cases=1000,
        num_test_cases=50,
        total_timesteps=20_000,
        num_envs=4,
        n_steps=5,
        batch_size=20,
        n_epochs=2,
        lr=3e-4,
        ent_coef=0.05,
        channels=16,
        head_dilations=(2, 1),
        threads=1,  # robust on a shared CPU: see segenv_agents.common.runtime.configure_torch
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
    """``PPO`` or ``A2C`` with :class:`VoxelPolicy` on a vectorised env."""
    policy_kwargs = dataclasses.asdict(args.network_config())
    common: dict[str, Any] = {
        "learning_rate": args.lr,
        "n_steps": args.n_steps,
        "gamma": args.gamma,
        "gae_lambda": args.gae_lambda,
        "ent_coef": args.ent_coef,
        "vf_coef": args.vf_coef,
        "max_grad_norm": args.max_grad_norm,
        "policy_kwargs": policy_kwargs,
        "seed": args.seed,
        "device": resolve_device(args.device),
        "tensorboard_log": tensorboard_log,
        "verbose": 0,
    }
    if args.algo == "ppo":
        common.update(
            batch_size=args.batch_size, n_epochs=args.n_epochs, clip_range=args.clip_range
        )
    return ALGORITHMS[args.algo](VoxelPolicy, env, **common)


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
    """Train ``args.algo`` with :class:`VoxelPolicy`; write ``out_dir/checkpoint.zip``.

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
        check_resume(out_dir, args.algo, args)
        if not checkpoint.exists():
            announce_fresh_start(out_dir)
    write_config(out_dir, args.algo, args)
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
    if remaining > 0:
        with interrupts.handle_signals(), interrupts.deferred():
            model.learn(
                remaining, callback=progress, reset_num_timesteps=False, tb_log_name=args.algo
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
        raise ConfigError(f"{out_dir} has no {CHECKPOINT_NAME}; train first (segenv train ppo)")
    return ALGORITHMS[args.algo].load(checkpoint, device=resolve_device(device))


def load_policy(out_dir: Path, *, greedy: bool = True, device: str = "cpu") -> NetworkPolicy:
    """The trained policy of a run directory, for :func:`~.common.evaluation.evaluate_policy`."""
    model = load_model(out_dir, device=device)
    policy = model.policy
    if not isinstance(policy, VoxelPolicy):
        raise ConfigError(f"{out_dir} holds a {type(policy).__name__}, not a VoxelPolicy")
    policy.set_training_mode(False)
    return NetworkPolicy(policy.voxel_logits, device=policy.device, greedy=greedy)
