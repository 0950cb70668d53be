"""Supervised interactive baselines: InterCNN (Bredell et al. 2018) and DeepIGeoS R-Net.

Both are refinement networks trained with the ground truth, not with rewards. They run in the
same env as the RL learners with the action set ``"1.0"`` (``p ← 0`` or ``1`` per voxel), so
each step *replaces* the segmentation by the network's prediction — what these methods do.

* **InterCNN** — input: image, the *binary* previous segmentation (``state="binary"``) and the
  hint maps; trained iteratively on the states its own predictions lead to (every step of its
  own episodes, the user clicking on its mistakes), with per-voxel cross-entropy.
* **R-Net** — input: image, the previous probability and the geodesic hint maps; trained for
  one refinement step only (the initial segmentation with its first clicks), applied step after
  step at test time, as in IteR-MRL Table 2's comparison.

The network is :class:`~.common.networks.VoxelActorCritic` with K = 2 "actions"
(background, foreground); its value head is unused. Top to bottom: :class:`Args` and presets
→ env → loss → training loop → evaluation. Run ``segenv train intercnn --config quick --out DIR``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from segenv.devices import resolve_device
from segenv.errors import ConfigError

from .common.checkpoints import load_checkpoint
from .common.config import QUICK3D_DATA, RunArgs, env_id_of, env_kwargs
from .common.distributions import sample_actions
from .common.networks import NetworkArgs, VoxelActorCritic
from .common.policies import NetworkPolicy, actor_logits
from .common.rollout import collect_rollout, episode_seeds, make_vector_env, sub_envs
from .common.runs import args_from_dict
from .common.runtime import configure_torch, seed_everything
from .common.training import TrainingLoop, UpdateResult

VARIANTS = ("intercnn", "rnet")


@dataclass
class Args(NetworkArgs, RunArgs):
    """Supervised baseline settings; environment and run fields come from ``RunArgs``."""

    variant: str = "intercnn"
    """'intercnn' (iterative, binary previous segmentation) or 'rnet' (one-step refinement)"""
    actions: str = "1.0"
    """±1: each step replaces the segmentation by the network's prediction"""
    state: str = "binary"
    """InterCNN sees the binary previous segmentation; R-Net the probability"""
    seed: int = 0
    """seed of the run"""
    total_updates: int = 2_000
    """updates; one update = one episode per env, then one gradient step"""
    num_envs: int = 4
    """episodes per update"""
    lr: float = 1e-4
    """Adam learning rate"""
    log_every: int = 10
    """updates between two TensorBoard writes"""

    @property
    def total_env_steps(self) -> int:
        """``total_updates`` episodes of ``max_steps`` steps in each of ``num_envs`` envs."""
        return self.total_updates * self.num_envs * self.max_steps

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"variant={self.variant!r} is unknown; use one of {VARIANTS}")
        for name in ("total_updates", "num_envs", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")


def _presets(variant: str) -> dict[str, Args]:
    state = "binary" if variant == "intercnn" else "probability"
    return {
        "quick": Args(
            variant=variant,
            state=state,
            shape=(64, 64),
            num_train_cases=1000,
            num_test_cases=50,
            total_updates=300,
            num_envs=4,
            channels=16,
            head_dilations=(2, 1),
            lr=1e-3,
            threads=1,  # robust on a shared CPU: see segenv_agents.common.runtime.configure_torch
            checkpoint_every_s=60.0,
        ),
        # The 3D main-job data of A3C's quick3d (16×32×32, image-aware start at difficulty 1,
        # mixed families, domain randomisation).
        "quick3d": Args(
            variant=variant,
            state=state,
            **QUICK3D_DATA,
            total_updates=300,
            num_envs=4,
            channels=16,
            head_dilations=(2, 1),
            lr=1e-3,
            threads=1,
            checkpoint_every_s=60.0,
        ),
        "paper": Args(
            variant=variant,
            state=state,
            shape=(30, 55, 55),
            total_updates=20_000,
            num_envs=1,
            channels=32,
            lr=1e-4,
            device="auto",
            checkpoint_every_s=300.0,
        ),
    }


CONFIGS: dict[str, Args] = _presets("intercnn")
"""The presets (``segenv train rnet`` uses them with ``variant="rnet"``, probability state)."""


def segmentation_loss(
    logits: torch.Tensor, label: torch.Tensor, deltas: torch.Tensor
) -> torch.Tensor:
    """Per-voxel cross-entropy towards the action that sets each voxel to its label.

    Args:
        logits: ``(N, K, *spatial)``.
        label: bool ``(N, *spatial)``.
        deltas: ``(K,)`` the action set; the target is its largest step towards the label.
    """
    target = torch.where(label, deltas.argmax(), deltas.argmin())
    return F.cross_entropy(logits, target)


def build_network(
    args: Args, observation_shape: tuple[int, ...], num_actions: int
) -> VoxelActorCritic:
    """The segmentation network (the actor-critic's policy head; the value head is unused)."""
    return VoxelActorCritic.for_observation(observation_shape, num_actions, args.network_config())


class Trainer:
    """The network, its optimiser and one supervised update, on any vector env of the env."""

    def __init__(
        self, args: Args, envs: gym.vector.VectorEnv, *, device: torch.device | None = None
    ) -> None:
        self.args = args
        self.envs = envs
        self.device = device or torch.device("cpu")
        deltas = np.asarray(sub_envs(envs)[0].deltas)  # type: ignore[attr-defined]
        self.deltas = torch.as_tensor(deltas, dtype=torch.float32, device=self.device)
        observation_shape = tuple(envs.single_observation_space.shape or ())
        self.action_shape = observation_shape[1:]
        self.generator = seed_everything(args.seed)
        self.network = build_network(args, observation_shape, len(deltas)).to(self.device)
        self.optimizer = torch.optim.Adam(self.network.parameters(), lr=args.lr)

    def state(self, updates: int) -> dict[str, Any]:
        """The checkpoint payload after ``updates`` updates."""
        return {
            "learner": self.args.variant,
            "args": dataclasses.asdict(self.args),
            "updates": updates,
            "model": {k: v.detach().cpu() for k, v in self.network.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
        }

    def load(self, state: dict[str, Any]) -> int:
        """Restore a checkpoint payload; return its update count."""
        self.network.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        return int(state["updates"])

    def _act(self, observation: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            logits = self.network(torch.as_tensor(observation, device=self.device)).logits
        return sample_actions(logits, self.generator, greedy=True).cpu().numpy()

    def update(self, index: int) -> UpdateResult:
        """Play one episode per env with the current network, then one supervised step."""
        args, device = self.args, self.device
        rollout = collect_rollout(
            self.envs, self._act, episode_seeds(args.seed, index, args.num_envs)
        )
        labels = torch.as_tensor(
            np.stack([env.case.label.reshape(self.action_shape) for env in sub_envs(self.envs)])  # type: ignore[attr-defined]
        ).to(device)
        steps = 1 if args.variant == "rnet" else rollout.num_steps
        observations = torch.as_tensor(rollout.observations[:steps], device=device).flatten(0, 1)
        targets = labels.unsqueeze(0).expand(steps, *labels.shape).flatten(0, 1)
        loss = segmentation_loss(self.network(observations).logits, targets, self.deltas)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.network.parameters(), 1.0)
        self.optimizer.step()
        scalars = {
            "losses/segmentation": float(loss.detach()),
            "charts/initial_dice": float(rollout.dice[0].mean()),
            "charts/final_dice": float(rollout.dice[-1].mean()),
            "charts/dice_gain": float((rollout.dice[-1] - rollout.dice[0]).mean()),
        }
        env_steps = rollout.num_steps * rollout.num_envs
        return UpdateResult(index, scalars, env_steps, rollout.voxel_transitions)

    def policy(self, *, greedy: bool = True) -> NetworkPolicy:
        """The current network as an evaluation policy."""
        return NetworkPolicy(actor_logits(self.network), device=self.device, greedy=greedy)


def train(args: Args, out_dir: Path, *, resume: bool = False, show_progress: bool = True) -> Path:
    """Train the baseline; write ``out_dir/checkpoint.pt`` and logs.

    Args:
        args: The settings (e.g. ``CONFIGS["quick"]``).
        out_dir: The run directory.
        resume: Continue the run in ``out_dir`` from its checkpoint.
        show_progress: Show the progress bar.

    Returns:
        The checkpoint path.
    """
    loop = TrainingLoop(
        out_dir, args.total_updates, args.checkpoint_every_s, args.log_every, show_progress
    )
    state = loop.open(args.variant, args, resume=resume)
    configure_torch(args.threads)
    envs = make_vector_env(env_id_of(args), env_kwargs(args, "train"), args.num_envs)
    trainer = Trainer(args, envs, device=resolve_device(args.device))
    start = 0 if state is None else trainer.load(state)
    try:
        loop.run_updates(start, trainer.update, trainer.state)
    finally:
        envs.close()
    return loop.checkpoint_path


def load_policy(out_dir: Path, *, greedy: bool = True, device: str = "cpu") -> NetworkPolicy:
    """The trained baseline of a run directory as a policy (its prediction as ±1 actions)."""
    state = load_checkpoint(Path(out_dir) / "checkpoint.pt")
    if state is None:
        raise ConfigError(f"{out_dir} has no checkpoint.pt; train first")
    args = args_from_dict(Args, state["args"])
    env = gym.make(env_id_of(args), **env_kwargs(args, "test"))
    observation_shape = tuple(env.observation_space.shape or ())
    num_actions = len(env.unwrapped.deltas)  # type: ignore[attr-defined]
    env.close()
    network = build_network(args, observation_shape, num_actions)
    network.load_state_dict(state["model"])
    torch_device = resolve_device(device)
    network.to(torch_device).eval()
    return NetworkPolicy(actor_logits(network), device=torch_device, greedy=greedy)
