"""A3C for voxel agents: IteR-MRL's learner (Liao et al., CVPR 2020, §3.3).

Read top to bottom: the :class:`Args` dataclass (one docstring per field) and its ``quick`` /
``paper`` presets → the env factory → the network → the losses (eq 6, 7, 8) → one update →
the training loop (one synchronous worker, or asynchronous workers with
``torch.multiprocessing`` on shared parameters, Hogwild style as in the A3C paper). What every
learner shares (the network, eq 6-8's losses, rollouts, the training loop) comes from
:mod:`segenv_agents.common`, one module per concept; what is A3C's own is here.

What is trained. One fully convolutional actor-critic
(:class:`~.common.networks.VoxelActorCritic`) is shared by all voxel agents. An update plays
one episode (T steps) in each of ``num_envs`` envs, then minimises
``policy_loss + value_coef · value_loss - entropy_coef · entropy``:

* ``advantage="mean"`` (IteR-MRL eq 7): ``A(t) = Σ_{k≥t} γ^(k-t) r̄(k) - V(s(t))`` with r̄ the mean
  voxel reward and ``V(s)`` the spatial mean of the value map; every voxel's ``log π`` is
  weighted by its step's ``A(t)`` (eq 8) and the critic minimises ``A²`` (eq 6).
* ``advantage="voxel"`` (PixelRL, Furuta et al. 2019): each voxel has its own return and value,
  ``A_i(t) = Σ_{k≥t} γ^(k-t) r_i(k) - V_i(s(t))``; with ``reward_conv=True`` the return is
  ``G(t) = r(t) + γ · w ∗ G(t+1)`` with a learned 3×3(×3) kernel ``w`` (PixelRL's reward map
  convolution), trained by the same two losses.

Training stages: ``pretrain_updates`` interaction-free updates (no clicks, all-zero hints:
"IteR-MRL0"), then fine-tuning with the simulated user. Adam, learning rate decayed by
``lr_decay`` every ``lr_decay_every`` updates, gradient-norm clipping.

Repeatability: with ``workers=1`` the episodes of update ``u`` are reset with seeds derived from
``(seed, u)`` and actions come from a seeded generator checkpointed with the model, so a run is
repeatable and a resumed run continues the interrupted one. Asynchronous workers interleave
their updates in whatever order the OS schedules them, so ``workers > 1`` is not bit-repeatable.

Data-parallel: with ``workers=1`` under ``torchrun`` every rank plays ``num_envs`` episodes of
its own (its slice of the update's ``world_size · num_envs`` episode seeds) and the ranks
average their gradients before each Adam step (:mod:`.common.distributed`). The loss is a mean
over steps, envs and voxels, so the average of equal-sized rank batches is the loss of their
union: one update on N ranks is one update on the N·num_envs episodes together.

Run it with ``segenv train a3c --config quick --out runs/a3c`` (see :mod:`segenv_agents.cli`).
"""

from __future__ import annotations

import dataclasses
import queue as queue_module
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import torch
from torch import multiprocessing as mp
from torch import nn
from torch.nn import functional as F

from segenv.devices import resolve_device
from segenv.errors import ConfigError

from .common import distributed
from .common.checkpoints import load_checkpoint
from .common.config import QUICK3D_DATA, RunArgs, env_id_of, env_kwargs, interaction_free
from .common.distributions import log_prob_and_entropy, sample_actions
from .common.losses import discounted_returns, masked_mean, policy_loss, spatial_mean, value_loss
from .common.networks import NetworkArgs, VoxelActorCritic, spatial_dims_of
from .common.policies import NetworkPolicy, actor_logits
from .common.rollout import Rollout, collect_rollout, episode_seeds, make_vector_env
from .common.runs import args_from_dict
from .common.runtime import configure_torch, seed_everything
from .common.schedules import check_final_fraction, geometric_decay, progress_of
from .common.training import TrainingLoop, UpdateResult

ADVANTAGES = ("mean", "voxel")

TORCHRUN = True
"""Trains data-parallel under torchrun (``segenv train`` refuses the learners without it)."""


# ------------------------------------------------------------------------------------- Args


@dataclass
class Args(NetworkArgs, RunArgs):
    """A3C settings after the env, run and network fields (``RunArgs``, ``NetworkArgs``)."""

    seed: int = 0
    """seed of the run: network initialisation, action sampling and episode seeds"""
    total_updates: int = 20_000
    """updates in all (pre-training included); one update = one episode per env"""
    pretrain_updates: int = 0
    """interaction-free updates first ("IteR-MRL0"), then fine-tuning with clicks"""
    num_envs: int = 1
    """episodes per update and worker (the batch; the paper uses 1)"""
    workers: int = 1
    """1 = one synchronous worker; > 1 = asynchronous workers on shared parameters (CPU)"""
    advantage: str = "mean"
    """'mean': eq 7's scalar advantage of the mean voxel reward; 'voxel': PixelRL's per voxel"""
    reward_conv: bool = False
    """PixelRL's learnable reward-map convolution in the per-voxel return (advantage='voxel')"""
    lr: float = 1e-4
    """Adam learning rate at the start"""
    lr_decay: float = 0.5
    """step decay factor of the learning rate"""
    lr_decay_every: int = 5_000
    """updates between two learning-rate decays (0 = constant)"""
    entropy_coef: float = 0.01
    """weight of the per-voxel entropy bonus at the first update"""
    entropy_decay_to: float = 1.0
    """the entropy weight at the last update, as a fraction of entropy_coef (geometric decay
    from update 0; 1 = constant): explore early, then let the greedy and the sampled policy
    agree"""
    value_coef: float = 0.5
    """weight of the value loss (eq 6) against the policy loss (eq 8)"""
    max_grad_norm: float = 1.0
    """gradient-norm clipping (0 = none)"""
    device: str = "cpu"
    """'cpu', 'cuda' or 'auto' (one synchronous worker only; async workers run on CPU)"""
    threads: int = 0
    """torch threads per process (0 = all cores for one worker, 1 per async worker)"""
    log_every: int = 10
    """updates between two TensorBoard writes"""

    @property
    def total_env_steps(self) -> int:
        """``total_updates`` episodes of ``max_steps`` steps in each of ``num_envs`` envs."""
        return self.total_updates * self.num_envs * self.max_steps

    def __post_init__(self) -> None:
        if self.advantage not in ADVANTAGES:
            raise ConfigError(f"advantage={self.advantage!r} is unknown; use one of {ADVANTAGES}")
        if self.reward_conv and self.advantage != "voxel":
            raise ConfigError("reward_conv=True needs advantage='voxel' (a per-voxel return)")
        for name in ("total_updates", "pretrain_updates", "lr_decay_every", "threads"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("num_envs", "workers", "max_steps", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.pretrain_updates > self.total_updates:
            raise ConfigError(
                f"pretrain_updates={self.pretrain_updates} exceeds total_updates="
                f"{self.total_updates}; pre-training is part of the total"
            )
        if not self.lr > 0 or not 0 < self.lr_decay <= 1:
            raise ConfigError(f"need lr > 0 and 0 < lr_decay <= 1, got {self.lr}, {self.lr_decay}")
        check_final_fraction("entropy_decay_to", self.entropy_decay_to)
        if self.workers > 1 and self.device not in ("cpu", "auto"):
            raise ConfigError(
                f"device={self.device!r} with workers={self.workers}: asynchronous workers share "
                "parameters in CPU memory; use workers=1 on a GPU"
            )


CONFIGS: dict[str, Args] = {
    # Minutes on a 2-core CPU: the 2D env (64×64 slices), a 16-channel net with MECCA's
    # two-block heads, 4 envs per update, PixelRL's per-voxel advantage (eq 7's scalar
    # advantage learns far slower on this budget), a strong entropy bonus against the early
    # collapse to "push every voxel down" (background is ~95% of the voxels). The t / T step
    # channel and the entropy decay of quick3d: without them the greedy policy peaked at step
    # 4 and lost 3.2 points at step 5 (3 seeds, image-aware start); with them it rises at
    # every step, to 89.84 (benchmarks/click_value.py --preset quick, README).
    "quick": Args(
        shape=(64, 64),
        step_channel=True,
        num_train_cases=1000,
        num_test_cases=50,
        total_updates=1000,
        pretrain_updates=0,
        num_envs=4,
        channels=16,
        head_dilations=(2, 1),
        advantage="voxel",
        lr=3e-4,
        lr_decay=0.5,
        lr_decay_every=400,
        entropy_coef=0.05,
        entropy_decay_to=0.04,
        threads=1,  # robust on a shared CPU: see segenv_agents.common.runtime.configure_torch
        checkpoint_every_s=60.0,
    ),
    # The main job: the 3D env (16×32×32) within 15 minutes on a 2-core CPU (350 updates of
    # about 2.5 s on two torch threads; one thread takes 3.8 s, mostly conv3d's backward), from
    # the image-aware start at difficulty 1.0 (errors where the image is ambiguous, Dice 0.75), on
    # the training families with domain randomisation (the held-out family stays unseen), a
    # time-aware state (t / T) and an entropy weight that decays from 0.05 to 0.002: without
    # the decay a greedy policy peaked at step 4 and lost Dice at step 5.
    "quick3d": Args(
        **QUICK3D_DATA,
        step_channel=True,
        total_updates=350,
        pretrain_updates=0,
        num_envs=4,
        channels=16,
        head_dilations=(2, 1),
        advantage="voxel",
        lr=3e-4,
        lr_decay=0.5,
        lr_decay_every=150,
        entropy_coef=0.05,
        entropy_decay_to=0.04,
        threads=2,
        checkpoint_every_s=60.0,
    ),
    # The papers' settings for a GPU: 55×55×30, T = 5, 5 clicks per step, lr 1e-4, γ = 0.95,
    # batch 1, IteR-MRL0 pre-training (1000 epochs) then fine-tuning (500 epochs) on 100 cases.
    "paper": Args(
        shape=(30, 55, 55),
        num_train_cases=100,
        num_test_cases=50,
        total_updates=150_000,
        pretrain_updates=100_000,
        num_envs=1,
        workers=1,
        channels=32,
        advantage="mean",
        lr=1e-4,
        lr_decay_every=50_000,
        device="auto",
        checkpoint_every_s=300.0,
    ),
}


# --------------------------------------------------------------------------- env and network


def make_envs(args: Args, *, pretrain: bool = False) -> gym.vector.SyncVectorEnv:
    """``num_envs`` training envs (interaction-free ones for the pre-training stage)."""
    kwargs = env_kwargs(args, "train")
    return make_vector_env(
        env_id_of(args), interaction_free(kwargs) if pretrain else kwargs, args.num_envs
    )


def build_network(
    args: Args, observation_shape: tuple[int, ...], num_actions: int
) -> VoxelActorCritic:
    """The actor-critic for observations ``(C, *spatial)`` and ``num_actions`` actions."""
    return VoxelActorCritic.for_observation(observation_shape, num_actions, args.network_config())


class RewardMapConv(nn.Module):
    """PixelRL's learnable reward-map convolution: a 3×3(×3) kernel, initialised to identity."""

    def __init__(self, spatial_dims: int) -> None:
        super().__init__()
        kernel = torch.zeros((1, 1) + (3,) * spatial_dims)
        kernel[(0, 0) + (1,) * spatial_dims] = 1.0
        self.weight = nn.Parameter(kernel)
        self.spatial_dims = spatial_dims

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        """Convolve maps ``(B, *spatial)`` with the kernel (zero padding)."""
        conv = F.conv3d if self.spatial_dims == 3 else F.conv2d
        return conv(maps.unsqueeze(1), self.weight, padding=1)[:, 0]


class Learner(nn.Module):
    """The trained parameters: the actor-critic and, optionally, the reward-map kernel."""

    def __init__(self, args: Args, observation_shape: tuple[int, ...], num_actions: int) -> None:
        super().__init__()
        self.net = build_network(args, observation_shape, num_actions)
        dims = spatial_dims_of(observation_shape)
        self.reward_conv = RewardMapConv(dims) if args.reward_conv else None


# ------------------------------------------------------------------------------------ losses


class LossTerms(NamedTuple):
    """The loss and its parts (scalars)."""

    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    entropy: torch.Tensor


def convolved_returns(reward_maps: torch.Tensor, gamma: float, conv: RewardMapConv) -> torch.Tensor:
    """PixelRL's per-voxel return with a reward-map kernel: ``G(t) = r(t) + γ w ∗ G(t+1)``."""
    returns = []
    running = torch.zeros_like(reward_maps[0])
    for t in range(reward_maps.shape[0] - 1, -1, -1):
        running = reward_maps[t] + gamma * conv(running)
        returns.append(running)
    return torch.stack(returns[::-1])


def actor_critic_loss(
    logits: torch.Tensor,
    value_maps: torch.Tensor,
    actions: torch.Tensor,
    reward_maps: torch.Tensor,
    *,
    gamma: float,
    advantage: str = "mean",
    value_coef: float = 0.5,
    entropy_coef: float = 0.01,
    reward_conv: RewardMapConv | None = None,
    mask: torch.Tensor | None = None,
) -> LossTerms:
    """The A3C loss of one rollout (IteR-MRL eq 6–8, or PixelRL's per-voxel form).

    Args:
        logits: ``(T, B, K, *spatial)`` policy logits at every state.
        value_maps: ``(T, B, *spatial)`` value maps.
        actions: ``(T, B, *spatial)`` the actions taken.
        reward_maps: ``(T, B, *spatial)`` the env's per-voxel rewards.
        gamma: Discount of eq 7.
        advantage: ``"mean"`` (eq 7: scalar, from the mean voxel reward) or ``"voxel"``.
        value_coef: Weight of the value loss.
        entropy_coef: Weight of the entropy bonus (subtracted).
        reward_conv: PixelRL's reward-map kernel (``advantage="voxel"`` only).
        mask: Optional 0/1 ``(T, B, *spatial)``: only these voxels' gradients count (MECCA
            eq 11); with ``advantage="mean"`` r̄ and V(s) are then means over the mask.

    Returns:
        ``total = policy + value_coef · value - entropy_coef · entropy`` and its parts.
    """
    steps, batch = actions.shape[:2]
    log_prob, entropy = log_prob_and_entropy(logits.flatten(0, 1), actions.flatten(0, 1))
    log_prob = log_prob.unflatten(0, (steps, batch))
    extra = torch.zeros(())
    voxel_mask = mask
    if advantage == "mean":
        returns = discounted_returns(spatial_mean(reward_maps, mask), gamma)
        advantages = returns - spatial_mean(value_maps, mask)
        voxel_mask = None
    elif advantage == "voxel":
        if reward_conv is None:
            returns = discounted_returns(reward_maps, gamma)
        else:
            returns = convolved_returns(reward_maps, gamma, reward_conv)
            # PixelRL: the kernel also follows the policy-gradient term (log π held constant)
            extra = -masked_mean(log_prob.detach() * (returns - value_maps.detach()), mask)
        advantages = returns - value_maps
    else:
        raise ConfigError(f"advantage={advantage!r} is unknown; use one of {ADVANTAGES}")
    policy = policy_loss(log_prob, advantages, mask)
    value = value_loss(advantages, voxel_mask)
    mean_entropy = entropy.mean()
    total = policy + value_coef * value - entropy_coef * mean_entropy + extra
    return LossTerms(total, policy.detach(), value.detach(), mean_entropy.detach())


# ------------------------------------------------------------------------------------ update


def learning_rate(args: Args, update: int) -> float:
    """Step decay: ``lr · lr_decay^(update // lr_decay_every)``."""
    if args.lr_decay_every == 0:
        return args.lr
    return args.lr * args.lr_decay ** (update // args.lr_decay_every)


def entropy_weight(args: Args, update: int) -> float:
    """Geometric decay from ``entropy_coef`` to ``entropy_coef · entropy_decay_to`` at the end."""
    progress = progress_of(update, args.total_updates)
    return geometric_decay(args.entropy_coef, args.entropy_decay_to, progress)


def play_and_score(
    learner: Learner,
    envs: gym.vector.VectorEnv,
    seeds: list[int],
    generator: torch.Generator,
    args: Args,
    device: torch.device,
    update: int = 0,
) -> tuple[LossTerms, Rollout]:
    """Play one episode per env with the current policy; return its loss and the rollout.

    ``update`` is the update's index (it sets the entropy weight, :func:`entropy_weight`).
    """
    logits, values = [], []

    def act(observation: np.ndarray) -> np.ndarray:
        output = learner.net(torch.as_tensor(observation, device=device))
        logits.append(output.logits)
        values.append(output.value_map)
        return sample_actions(output.logits, generator).cpu().numpy()

    rollout = collect_rollout(envs, act, seeds)
    loss = actor_critic_loss(
        torch.stack(logits),
        torch.stack(values),
        torch.as_tensor(rollout.actions, device=device),
        torch.as_tensor(rollout.reward_maps, device=device),
        gamma=args.gamma,
        advantage=args.advantage,
        value_coef=args.value_coef,
        entropy_coef=entropy_weight(args, update),
        reward_conv=learner.reward_conv,
    )
    return loss, rollout


def rollout_loss(
    learner: Learner, rollout: Rollout, args: Args, device: torch.device, update: int = 0
) -> LossTerms:
    """The loss of a played rollout, with the network run again on its stored observations.

    The same loss :func:`play_and_score` returns for that rollout (the network is run on all
    ``T · B`` states at once instead of step by step). A pure function of the parameters and the
    batch: the data-parallel check compares N ranks' update with one update on their rollouts
    concatenated along the env axis.
    """
    steps, batch = rollout.num_steps, rollout.num_envs
    observations = torch.as_tensor(rollout.observations, device=device).flatten(0, 1)
    output = learner.net(observations)
    return actor_critic_loss(
        output.logits.unflatten(0, (steps, batch)),
        output.value_map.unflatten(0, (steps, batch)),
        torch.as_tensor(rollout.actions, device=device),
        torch.as_tensor(rollout.reward_maps, device=device),
        gamma=args.gamma,
        advantage=args.advantage,
        value_coef=args.value_coef,
        entropy_coef=entropy_weight(args, update),
        reward_conv=learner.reward_conv,
    )


def update_scalars(loss: LossTerms, rollout: Rollout, lr: float, args: Args) -> dict[str, float]:
    """TensorBoard scalars of one update."""
    discounts = args.gamma ** np.arange(rollout.num_steps)[:, None]
    return {
        "losses/total": float(loss.total.detach()),
        "losses/policy": float(loss.policy),
        "losses/value": float(loss.value),
        "losses/entropy": float(loss.entropy),
        "charts/episode_return": float((discounts * rollout.rewards).sum(0).mean()),
        "charts/initial_dice": float(rollout.dice[0].mean()),
        "charts/final_dice": float(rollout.dice[-1].mean()),
        "charts/dice_gain": float((rollout.dice[-1] - rollout.dice[0]).mean()),
        "charts/learning_rate": lr,
    }


def apply_gradients(
    learner: Learner, optimizer: torch.optim.Optimizer, loss: LossTerms, args: Args, lr: float
) -> None:
    """Backpropagate ``loss.total``, average over the ranks, clip, take one Adam step at ``lr``.

    Under torchrun the gradients are averaged over the ranks before clipping
    (:func:`~.common.distributed.average_gradients`; nothing happens in a single process).
    """
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    loss.total.backward()
    distributed.average_gradients(learner.parameters())
    if args.max_grad_norm > 0:
        nn.utils.clip_grad_norm_(learner.parameters(), args.max_grad_norm)
    optimizer.step()


# ----------------------------------------------------------------------------- training loop


def observation_layout(args: Args) -> tuple[tuple[int, ...], int]:
    """Observation shape and action count of the env ``args`` describes."""
    env = gym.make(env_id_of(args), **env_kwargs(args, "test"))
    shape = tuple(env.observation_space.shape or ())
    num_actions = int(env.action_space.nvec.flat[0])  # type: ignore[attr-defined]
    env.close()
    return shape, num_actions


def checkpoint_payload(
    learner: Learner, optimizer: torch.optim.Optimizer, args: Args, updates: int, **extra: Any
) -> dict[str, Any]:
    """What a checkpoint holds (the model on CPU, so it loads anywhere)."""
    return {
        "learner": "a3c",
        "args": dataclasses.asdict(args),
        "updates": updates,
        "model": {key: value.detach().cpu() for key, value in learner.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        **extra,
    }


def train(args: Args, out_dir: Path, *, resume: bool = False, show_progress: bool = True) -> Path:
    """Train A3C and write ``out_dir/checkpoint.pt`` (and TensorBoard logs under ``out_dir/tb``).

    Args:
        args: The settings (e.g. ``CONFIGS["quick"]``).
        out_dir: The run directory.
        resume: Continue the run in ``out_dir`` from its checkpoint.
        show_progress: Show the progress bar.

    Returns:
        The checkpoint path.

    Raises:
        ConfigError: ``workers > 1`` under torchrun (asynchronous workers are one process's).
    """
    if args.workers > 1 and distributed.launched():
        raise ConfigError(
            f"workers={args.workers} (asynchronous A3C) cannot run under torchrun: use "
            "--workers 1 with torchrun (every rank is then one synchronous worker and the ranks "
            "average their gradients)"
        )
    device = resolve_device(args.device) if args.workers == 1 else torch.device("cpu")
    with distributed.session(device) as device:
        loop = TrainingLoop(
            out_dir,
            args.total_updates,
            args.checkpoint_every_s,
            args.log_every,
            show_progress,
            seed=args.seed,
        )
        state = loop.open("a3c", args, resume=resume)
        observation_shape, num_actions = observation_layout(args)
        generator = seed_everything(args.seed)
        learner = Learner(args, observation_shape, num_actions).to(device)
        optimizer = torch.optim.Adam(learner.parameters(), lr=args.lr)
        start = 0
        if state is not None:
            learner.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            start = int(state["updates"])
            if "generator" in state:
                generator.set_state(state["generator"])
        if distributed.launched():
            distributed.broadcast_module(learner)
            if not distributed.is_main():  # its own action draws (rank 0 keeps the run's)
                generator.manual_seed(distributed.rank_seed(args.seed, start))
            else:
                print(f"segenv: {distributed.batch_line(args.num_envs, args.lr)}", flush=True)
        if args.workers == 1:
            _train_synchronous(args, loop, learner, optimizer, generator, start, device)
        else:
            _train_asynchronous(args, loop, learner, optimizer, start)
    return loop.checkpoint_path


def _train_synchronous(
    args: Args,
    loop: TrainingLoop,
    learner: Learner,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    start: int,
    device: torch.device,
) -> None:
    configure_torch(args.threads)
    envs = {stage: make_envs(args, pretrain=stage) for stage in (True, False)}

    def results() -> Iterator[UpdateResult]:
        for index in range(start, args.total_updates):
            yield _one_update(args, learner, optimizer, envs, generator, device, index)

    def state(updates: int) -> dict[str, Any]:
        return checkpoint_payload(
            learner, optimizer, args, updates, generator=generator.get_state()
        )

    try:
        loop.run(start, results(), state)
    finally:
        for env in envs.values():
            env.close()


def _one_update(
    args: Args,
    learner: Learner,
    optimizer: torch.optim.Optimizer,
    envs: Mapping[bool, gym.vector.VectorEnv],
    generator: torch.Generator,
    device: torch.device,
    index: int,
) -> UpdateResult:
    pretrain = index < args.pretrain_updates
    lr = learning_rate(args, index)
    seeds = rank_episode_seeds(args, index)
    loss, rollout = play_and_score(
        learner, envs[pretrain], seeds, generator, args, device, update=index
    )
    apply_gradients(learner, optimizer, loss, args, lr)
    scalars = update_scalars(loss, rollout, lr, args)
    scalars["charts/pretraining"] = float(pretrain)
    return UpdateResult(
        index, scalars, rollout.num_steps * rollout.num_envs, rollout.voxel_transitions
    )


def rank_episode_seeds(args: Args, update: int) -> list[int]:
    """The reset seeds of ``update`` on this rank: its slice of ``world_size · num_envs``.

    In a single process, :func:`~.common.rollout.episode_seeds` of the run as before; under
    torchrun the ranks' episodes together are those of one process with ``world_size`` times
    the envs.
    """
    size = distributed.world_size()
    return episode_seeds(args.seed, update, args.num_envs * size)[
        distributed.rank_slice(args.num_envs)
    ]


# ------------------------------------------------------------------- asynchronous workers


def share_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """Create Adam's state now and move it to shared memory (A3C's shared optimiser)."""
    for group in optimizer.param_groups:
        for parameter in group["params"]:
            state = optimizer.state[parameter]
            if not state:
                state["step"] = torch.zeros(())
                state["exp_avg"] = torch.zeros_like(parameter, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(
                    parameter, memory_format=torch.preserve_format
                )
            for value in state.values():
                if isinstance(value, torch.Tensor):
                    value.share_memory_()


def _train_asynchronous(
    args: Args, loop: TrainingLoop, learner: Learner, optimizer: torch.optim.Optimizer, start: int
) -> None:
    context = mp.get_context("fork")
    learner.share_memory()
    share_optimizer_state(optimizer)
    counter = context.Value("l", start)
    lock = context.Lock()
    results_queue = context.Queue()
    workers = [
        context.Process(
            target=_worker,
            args=(rank, args, learner, optimizer, counter, lock, results_queue),
            daemon=True,
        )
        for rank in range(args.workers)
    ]
    for worker in workers:
        worker.start()

    def results() -> Iterator[UpdateResult]:
        finished = 0
        while finished < len(workers):
            try:
                item = results_queue.get(timeout=5.0)
            except queue_module.Empty:
                if not any(worker.is_alive() for worker in workers):
                    raise ConfigError(
                        "every A3C worker died; run with workers=1 to see why"
                    ) from None
                continue
            if item is None:
                finished += 1
            else:
                yield item

    def state(updates: int) -> dict[str, Any]:
        return checkpoint_payload(learner, optimizer, args, updates)

    try:
        loop.run(start, results(), state)
    finally:
        with lock:
            counter.value = args.total_updates  # tell the workers to stop
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()


def _worker(
    rank: int,
    args: Args,
    shared: Learner,
    optimizer: torch.optim.Optimizer,
    counter: Any,
    lock: Any,
    results_queue: Any,
) -> None:
    """One A3C worker: a local copy of the model, own envs, gradients pushed to ``shared``."""
    configure_torch(args.threads or 1)
    generator = torch.Generator().manual_seed(args.seed * 7919 + rank)
    device = torch.device("cpu")
    local = _clone(shared)
    envs = {stage: make_envs(args, pretrain=stage) for stage in (True, False)}
    try:
        while True:
            with lock:
                index = int(counter.value)
                if index >= args.total_updates:
                    break
                counter.value = index + 1
            local.load_state_dict(shared.state_dict())
            pretrain = index < args.pretrain_updates
            lr = learning_rate(args, index)
            seeds = episode_seeds(args.seed, index, args.num_envs)
            loss, rollout = play_and_score(
                local, envs[pretrain], seeds, generator, args, device, update=index
            )
            local.zero_grad(set_to_none=True)
            loss.total.backward()
            if args.max_grad_norm > 0:
                nn.utils.clip_grad_norm_(local.parameters(), args.max_grad_norm)
            for shared_param, local_param in zip(
                shared.parameters(), local.parameters(), strict=True
            ):
                shared_param.grad = local_param.grad
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.step()
            scalars = update_scalars(loss, rollout, lr, args)
            scalars["charts/pretraining"] = float(pretrain)
            transitions = rollout.voxel_transitions
            results_queue.put(
                UpdateResult(index, scalars, rollout.num_steps * rollout.num_envs, transitions)
            )
    finally:
        results_queue.put(None)
        for env in envs.values():
            env.close()


def _clone(learner: Learner) -> Learner:
    import copy

    clone = copy.deepcopy(learner)
    for parameter in clone.parameters():
        parameter.grad = None
    return clone


# ------------------------------------------------------------------------------- evaluation


def load_policy(out_dir: Path, *, greedy: bool = True, device: str = "cpu") -> NetworkPolicy:
    """The trained policy of a run directory, for :func:`~.common.evaluation.evaluate_policy`."""
    state = load_checkpoint(Path(out_dir) / "checkpoint.pt")
    if state is None:
        raise ConfigError(f"{out_dir} has no checkpoint.pt; train first (segenv train a3c)")
    args = args_from_dict(Args, state["args"])
    observation_shape, num_actions = observation_layout(args)
    learner = Learner(args, observation_shape, num_actions)
    learner.load_state_dict(state["model"])
    torch_device = resolve_device(device)
    learner.to(torch_device).eval()
    return NetworkPolicy(actor_logits(learner.net), device=torch_device, greedy=greedy)
