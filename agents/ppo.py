"""Per-voxel PPO on TorchRL: every voxel its own value, GAE advantage and clipped ratio.

Read top to bottom, like CleanRL's ``ppo.py``: the :class:`Args` dataclass (one docstring per
field) and its ``quick`` / ``paper`` presets → the env (:func:`segenv.torchrl.make_env`) → the
actor-critic as tensordict modules → the per-voxel GAE → the clipped loss → one update
(rollout, advantages, epochs of minibatches) → the training loop (shared with every learner:
:class:`~.common.training.TrainingLoop`) → evaluation.

What is trained. The fully convolutional actor-critic of A3C
(:class:`~.common.networks.VoxelActorCritic`, shared by all voxel agents) gives per-voxel action
logits and a per-voxel **value map**. An update plays one episode (T steps) in each of
``num_envs`` volumes through TorchRL's ``env.rollout``, then:

* **per-voxel GAE(γ, λ)** (TorchRL's :class:`~torchrl.objectives.value.GAE` over the
  ``[N, T, *S, 1]`` reward maps and value maps: the voxels are trailing dimensions, so each
  voxel's ``δ_i(t) = r_i(t) + γ V_i(s(t+1)) - V_i(s(t))`` is summed along its own time axis),
  normalised over the rollout (mean 0, std 1 over volumes, steps and voxels);
* **the elementwise clipped surrogate** (TorchRL's :class:`~torchrl.objectives.ClipPPOLoss`):
  ``min(ρ_i A_i, clip(ρ_i, 1-ε, 1+ε) A_i)`` with ``ρ_i = π(a_i|s)/π_old(a_i|s)`` the ratio of
  voxel ``i``'s own action, averaged over voxels, volumes and steps; the value loss
  ``(V_i - G_i)²`` per voxel; the per-voxel entropy bonus;
* ``update_epochs`` passes over the ``num_envs · T`` volume-steps in ``num_minibatches``
  shuffled minibatches, Adam, gradient-norm clipping, the learning rate annealed linearly.

Contrast with :mod:`.sb3` (``sb3_ppo_scalar``): stable-baselines3's PPO sums the log-probability
over all voxels, so its ratio is one number per volume and every voxel shares one scalar
advantage, which does not learn here (README). This is RL4Seg's per-pixel PPO (MICCAI 2024) on
voxels, and what SPEC §9 describes.

What TorchRL does not express, written here: the env's done flags are one per volume
(``[N, T, 1]``) while the values are per voxel; TorchRL's GAE requires equal shapes (it raises
"All input tensors (value, reward and done states) must share a unique shape") and offers the
``_prepare_signals`` hook for broadcasting them (its ``MultiAgentGAE`` broadcasts one agent
dimension), so :class:`VoxelGAE` broadcasts them over all voxel dimensions. And TorchRL's PPO
calls the actor and the critic separately; with one shared trunk that runs it twice per
minibatch, so :class:`SharedForward` runs it once and hands the critic the value map of the
same forward pass.

Repeatability: the episodes of update ``u`` are reset with the seeds A3C uses
(:func:`~.common.rollout.episode_seeds`), actions are sampled from torch's generator and
minibatches shuffled with a seeded one, both checkpointed, so a run is repeatable on one
machine and a resumed run continues the interrupted one.

Data-parallel: under ``torchrun`` every rank collects ``num_envs`` volumes of its own (its slice
of the update's ``world_size · num_envs`` episode seeds), runs the same number of epochs and
minibatches over them, and averages its gradients with the other ranks' after every minibatch's
backward pass (:mod:`.common.distributed`), so all ranks take the same steps. The advantages
are normalised over each rank's own rollout.

Run it with ``segenv train ppo --config quick --out runs/ppo`` (see :mod:`segenv_agents.cli`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from tensordict import TensorDictBase
from tensordict.nn import (
    InteractionType,
    ProbabilisticTensorDictModule,
    ProbabilisticTensorDictSequential,
    TensorDictModule,
    set_interaction_type,
)
from torch import nn
from torchrl.objectives import ClipPPOLoss
from torchrl.objectives.value import GAE

import segenv.torchrl
from segenv.devices import resolve_device
from segenv.errors import ConfigError

from .common import distributed
from .common.checkpoints import load_checkpoint
from .common.config import QUICK3D_DATA, RunArgs, env_id_of, env_kwargs
from .common.networks import NetworkArgs, VoxelActorCritic
from .common.policies import NetworkPolicy, actor_logits
from .common.rollout import episode_seeds
from .common.runs import args_from_dict
from .common.runtime import configure_torch, seed_everything
from .common.schedules import check_final_fraction, geometric_decay, progress_of
from .common.training import TrainingLoop, UpdateResult

TORCHRUN = True
"""Trains data-parallel under torchrun (``segenv train`` refuses the learners without it)."""

# ------------------------------------------------------------------------------------- Args


@dataclass
class Args(NetworkArgs, RunArgs):
    """PPO settings after the env, run and network fields (``RunArgs``, ``NetworkArgs``)."""

    seed: int = 0
    """seed of the run: network initialisation, action sampling, minibatches, episodes"""
    total_updates: int = 1_000
    """updates in all; one update = one episode per env, then the epochs over it"""
    num_envs: int = 4
    """volumes per rollout (one episode of T steps each)"""
    update_epochs: int = 4
    """passes over each rollout"""
    num_minibatches: int = 2
    """minibatches per pass; a sample is one volume at one step (all its voxels)"""
    lr: float = 3e-4
    """Adam learning rate at the start"""
    anneal_lr: bool = True
    """anneal the learning rate linearly to 0 over the run (CleanRL)"""
    gae_lambda: float = 0.95
    """λ of the per-voxel GAE (1 = Monte-Carlo returns, 0 = one-step TD)"""
    clip_coef: float = 0.2
    """ε of the clipped ratio, per voxel"""
    norm_adv: bool = True
    """normalise the advantages over the rollout (volumes, steps and voxels)"""
    ent_coef: float = 0.01
    """weight of the per-voxel entropy bonus at the start"""
    entropy_decay_to: float = 1.0
    """its weight at the last update, as a fraction of ``ent_coef`` (geometric; 1 = constant)"""
    vf_coef: float = 0.5
    """weight of the per-voxel value loss"""
    max_grad_norm: float = 0.5
    """gradient-norm clipping (0 = none)"""
    device: str = "cpu"
    """'cpu', 'cuda' or 'auto' (the network and the env's dense math)"""
    threads: int = 0
    """torch threads and env threads (0 = one per core)"""
    log_every: int = 10
    """updates between two TensorBoard writes"""

    @property
    def total_env_steps(self) -> int:
        """``total_updates`` episodes of ``max_steps`` steps in each of ``num_envs`` envs."""
        return self.total_updates * self.num_envs * self.max_steps

    @property
    def batch_size(self) -> int:
        """Volume-steps per rollout: ``num_envs · max_steps``."""
        return self.num_envs * self.max_steps

    def __post_init__(self) -> None:
        for name in ("total_updates", "threads"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("num_envs", "update_epochs", "num_minibatches", "max_steps", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.num_minibatches > self.batch_size:
            raise ConfigError(
                f"num_minibatches={self.num_minibatches} exceeds the {self.batch_size} "
                "volume-steps of a rollout (num_envs · max_steps); lower it"
            )
        if not self.lr > 0 or not 0 < self.clip_coef:
            raise ConfigError(f"need lr > 0 and clip_coef > 0, got {self.lr}, {self.clip_coef}")
        if not 0 <= self.gae_lambda <= 1:
            raise ConfigError(f"gae_lambda must be in [0, 1], got {self.gae_lambda}")
        check_final_fraction("entropy_decay_to", self.entropy_decay_to)


CONFIGS: dict[str, Args] = {
    # A3C's quick env and network (2D 64×64, 16 channels, two-block heads, 4 envs per
    # update), sized to train in less time than A3C's quick preset on a 2-core CPU: an
    # update costs about 2.4 A3C updates (a rollout, then 2 epochs of forward + backward);
    # 500 updates reached Dice 92.26 at step 5 (seed 0) but took 1.2× A3C's wall time.
    "quick": Args(
        shape=(64, 64),
        num_train_cases=1000,
        num_test_cases=50,
        total_updates=350,
        num_envs=4,
        update_epochs=2,
        num_minibatches=2,
        channels=16,
        head_dilations=(2, 1),
        lr=3e-4,
        ent_coef=0.05,  # with 0.01 the early "push every voxel down" state persists
        threads=1,  # robust on a shared CPU: see segenv_agents.common.runtime.configure_torch
        checkpoint_every_s=60.0,
    ),
    # A3C's quick3d data and network (16×32×32, image-aware start at difficulty 1, mixed
    # families with domain randomisation, the t / T channel) within A3C's 15 minutes on a
    # 2-core CPU: an update costs about 2.4 A3C updates, so 150 updates on two threads.
    # A3C's entropy decay (entropy_decay_to=0.04) did not stop the fall at step 5 (seed 0:
    # 45.99 with it, 55.21 without): the policy still pushes part of the foreground down.
    "quick3d": Args(
        **QUICK3D_DATA,
        step_channel=True,
        total_updates=150,
        num_envs=4,
        update_epochs=2,
        num_minibatches=2,
        channels=16,
        head_dilations=(2, 1),
        lr=3e-4,
        ent_coef=0.05,
        threads=2,
        checkpoint_every_s=60.0,
    ),
    # The papers' volume and settings (55×55×30, T = 5, 5 clicks per step, lr 1e-4, γ = 0.95,
    # IteR-MRL's 32-channel network) for a GPU.
    "paper": Args(
        shape=(30, 55, 55),
        num_train_cases=100,
        num_test_cases=50,
        total_updates=20_000,
        num_envs=8,
        update_epochs=4,
        num_minibatches=4,
        channels=32,
        lr=1e-4,
        device="auto",
        checkpoint_every_s=300.0,
    ),
}


# -------------------------------------------------------------------------------------- env


def make_env(
    args: Args, split: str = "train", device: torch.device | None = None
) -> segenv.torchrl.TorchRLInteractiveSegEnv:
    """``num_envs`` volumes of the run's env as a TorchRL env on the run's (or this) device."""
    return segenv.torchrl.make_env(
        num_envs=args.num_envs,
        device=resolve_device(args.device) if device is None else device,
        num_threads=args.threads or None,
        **env_kwargs(args, split),
    )


def observation_layout(args: Args) -> tuple[tuple[int, ...], int]:
    """Observation shape ``(C, *S)`` and action count of the env ``args`` describes."""
    env = gym.make(env_id_of(args), **env_kwargs(args, "test"))
    shape = tuple(env.observation_space.shape or ())
    num_actions = int(env.action_space.nvec.flat[0])  # type: ignore[attr-defined]
    env.close()
    return shape, num_actions


# ------------------------------------------------------------------------ actor and critic


class SharedForward(nn.Module):
    """The actor-critic as TorchRL modules want it, its shared trunk run once per batch.

    ``forward(observation)`` returns logits ``[B, *S, K]`` (the action axis last, as
    ``torch.distributions.Categorical`` takes it) and the value map ``[B, *S, 1]``. TorchRL's
    PPO loss calls its actor and its critic one after the other on the same observation
    tensor; the second call gets the first one's outputs (same tensor, unmodified, same
    parameters, same grad mode), so the trunk runs once and the value loss backpropagates
    through the same graph as the policy loss, as in A3C.
    """

    def __init__(self, net: VoxelActorCritic) -> None:
        super().__init__()
        self.net = net
        self._last: tuple[Any, tuple[torch.Tensor, torch.Tensor]] | None = None

    def forward(self, observation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-voxel logits ``[B, *S, K]`` and values ``[B, *S, 1]``."""
        key = (
            observation,
            observation._version,
            torch.is_grad_enabled(),
            tuple(p._version for p in self.net.parameters()),
        )
        last = self._last
        if last is not None and last[0][0] is observation and last[0][1:] == key[1:]:
            return last[1]
        output = self.net(observation)
        result = (output.logits.movedim(1, -1), output.value_map.unsqueeze(-1))
        self._last = (key, result)
        return result

    def forget(self) -> None:
        """Drop the kept outputs (and their graph)."""
        self._last = None


class ValueOf(nn.Module):
    """The value map of a :class:`SharedForward` (TorchRL's critic)."""

    def __init__(self, shared: SharedForward) -> None:
        super().__init__()
        self.shared = shared

    def forward(self, observation: torch.Tensor) -> torch.Tensor:
        """The value map ``[B, *S, 1]``."""
        return self.shared(observation)[1]


def make_modules(
    net: VoxelActorCritic,
) -> tuple[SharedForward, ProbabilisticTensorDictSequential, TensorDictModule]:
    """The shared forward, the actor and the critic, as tensordict modules.

    The actor samples ``action`` (with ``action_log_prob``) and writes ``state_value`` on the
    way; the critic writes ``state_value``.
    """
    shared = SharedForward(net)
    actor = ProbabilisticTensorDictSequential(
        TensorDictModule(shared, in_keys=["observation"], out_keys=["logits", "state_value"]),
        ProbabilisticTensorDictModule(
            in_keys=["logits"],
            out_keys=["action"],
            distribution_class=torch.distributions.Categorical,
            distribution_kwargs={"validate_args": False},
            return_log_prob=True,
            log_prob_key="action_log_prob",
            default_interaction_type=InteractionType.RANDOM,
        ),
    )
    critic = TensorDictModule(ValueOf(shared), in_keys=["observation"], out_keys=["state_value"])
    return shared, actor, critic


# ---------------------------------------------------------------------- per-voxel GAE, loss


class VoxelGAE(GAE):  # type: ignore[misc]
    """TorchRL's GAE with the episode's done flags broadcast over the voxel dimensions.

    Values and rewards are ``[*B, T, *S, 1]`` (one per voxel); the env's done / terminated
    flags are ``[*B, T, 1]`` (one per volume). TorchRL's GAE needs them all of one shape and
    leaves the broadcast to the ``_prepare_signals`` hook; this one inserts the voxel
    dimensions.
    """

    def _prepare_signals(
        self,
        reward: torch.Tensor,
        done: torch.Tensor,
        terminated: torch.Tensor,
        value: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return reward, _over_voxels(done, value), _over_voxels(terminated, value)


def _over_voxels(flags: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``[*B, T, 1]`` → ``[*B, T, *S, 1]`` (a view), the shape of ``value``."""
    if flags.shape == value.shape:
        return flags
    extra = value.ndim - flags.ndim
    shaped = flags.reshape(*flags.shape[:-1], *(1,) * extra, flags.shape[-1])
    return shaped.expand(value.shape)


def make_advantage(args: Args) -> VoxelGAE:
    """Per-voxel GAE(γ, λ) over rollouts ``[N, T]`` that hold ``state_value`` and its next."""
    return VoxelGAE(
        gamma=args.gamma,
        lmbda=args.gae_lambda,
        value_network=None,
        average_gae=args.norm_adv,
        time_dim=1,
    )


def make_loss(
    actor: ProbabilisticTensorDictSequential, critic: TensorDictModule, args: Args
) -> ClipPPOLoss:
    """TorchRL's clipped PPO loss, elementwise over the voxels (see the module docs)."""
    return ClipPPOLoss(
        actor,
        critic,
        clip_epsilon=args.clip_coef,
        entropy_bonus=args.ent_coef > 0,
        entropy_coeff=args.ent_coef,
        critic_coeff=args.vf_coef,
        loss_critic_type="l2",
        normalize_advantage=False,  # done over the whole rollout by VoxelGAE
        functional=False,  # one set of parameters, shared by actor and critic
    )


def add_next_values(data: TensorDictBase) -> TensorDictBase:
    """``("next", "state_value")``: the value map of the next step's state, 0 after the end.

    Every rollout is whole episodes that end together (``terminated`` at step T), so the next
    state's value is the following step's, and nothing is bootstrapped after the last one.
    """
    value = data.get("state_value")
    following = torch.zeros_like(value)
    following[:, :-1] = value[:, 1:]
    data.set(("next", "state_value"), following)
    return data


# ------------------------------------------------------------------------------------ update


class Learner(nn.Module):
    """The trained parameters and the TorchRL pieces built on them."""

    def __init__(self, args: Args, observation_shape: tuple[int, ...], num_actions: int) -> None:
        super().__init__()
        self.net = VoxelActorCritic.for_observation(
            observation_shape, num_actions, args.network_config()
        )
        self.shared, self.actor, self.critic = make_modules(self.net)
        self.advantage = make_advantage(args)
        self.loss = make_loss(self.actor, self.critic, args)


def learning_rate(args: Args, update: int) -> float:
    """Linear annealing from ``lr`` to 0 over the run (or constant)."""
    if not args.anneal_lr:
        return args.lr
    return args.lr * (1.0 - update / max(args.total_updates, 1))


def entropy_weight(args: Args, update: int) -> float:
    """Geometric decay from ``ent_coef`` to ``ent_coef · entropy_decay_to`` at the last update."""
    progress = progress_of(update, args.total_updates)
    return geometric_decay(args.ent_coef, args.entropy_decay_to, progress)


@torch.no_grad()
def collect(learner: Learner, env: Any, seed: int, steps: int) -> TensorDictBase:
    """One episode in every volume: a tensordict ``[N, T]`` with advantages and targets."""
    env.set_seed(seed)
    with set_interaction_type(InteractionType.RANDOM):
        data = env.rollout(steps, policy=learner.actor, auto_reset=True)
    learner.shared.forget()
    data = add_next_values(data.exclude("logits"))
    return learner.advantage(data)


def optimise(
    learner: Learner,
    optimizer: torch.optim.Optimizer,
    data: TensorDictBase,
    args: Args,
    generator: torch.Generator,
) -> dict[str, float]:
    """``update_epochs`` passes of ``num_minibatches`` minibatches; the mean loss terms."""
    flat = data.reshape(-1)
    totals: dict[str, float] = {}
    count = 0
    for _ in range(args.update_epochs):
        order = torch.randperm(flat.shape[0], generator=generator).to(flat.device)
        for indices in order.chunk(args.num_minibatches):
            terms = learner.loss(flat[indices])
            total = terms["loss_objective"] + terms["loss_critic"]
            if "loss_entropy" in terms.keys():
                total = total + terms["loss_entropy"]
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            learner.shared.forget()
            distributed.average_gradients(learner.net.parameters())
            if args.max_grad_norm > 0:
                nn.utils.clip_grad_norm_(learner.net.parameters(), args.max_grad_norm)
            optimizer.step()
            for key in ("loss_objective", "loss_critic", "entropy", "clip_fraction", "kl_approx"):
                if key in terms.keys():
                    totals[key] = totals.get(key, 0.0) + float(terms[key].detach())
            count += 1
    return {key: value / count for key, value in totals.items()}


def update_scalars(
    terms: dict[str, float], data: TensorDictBase, lr: float, args: Args
) -> dict[str, float]:
    """TensorBoard scalars of one update (CleanRL's names)."""
    dice = data.get(("next", "dice"))[..., 0]
    initial = data.get("dice")[:, 0, 0]
    rewards = data.get(("next", "reward")).flatten(2).mean(-1)  # the env's scalar rewards [N, T]
    discounts = args.gamma ** torch.arange(rewards.shape[1], device=rewards.device)
    values = data.get("state_value")
    targets = data.get("value_target")
    variance = float(targets.var())
    explained = 1.0 - float((targets - values).var()) / variance if variance > 0 else 0.0
    return {
        "losses/policy": terms.get("loss_objective", 0.0),
        "losses/value": terms.get("loss_critic", 0.0),
        "losses/entropy": terms.get("entropy", 0.0),
        "losses/clipfrac": terms.get("clip_fraction", 0.0),
        "losses/approx_kl": terms.get("kl_approx", 0.0),
        "losses/explained_variance": explained,
        "charts/episode_return": float((rewards * discounts).sum(1).mean()),
        "charts/initial_dice": float(initial.mean()),
        "charts/final_dice": float(dice[:, -1].mean()),
        "charts/dice_gain": float((dice[:, -1] - initial).mean()),
        "charts/learning_rate": lr,
    }


# ----------------------------------------------------------------------------- training loop


def checkpoint_payload(
    learner: Learner,
    optimizer: torch.optim.Optimizer,
    args: Args,
    updates: int,
    generator: torch.Generator,
) -> dict[str, Any]:
    """What a checkpoint holds (the model on CPU, so it loads anywhere, and the generators)."""
    return {
        "learner": "ppo",
        "args": dataclasses.asdict(args),
        "updates": updates,
        "model": {key: value.detach().cpu() for key, value in learner.net.state_dict().items()},
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def train(args: Args, out_dir: Path, *, resume: bool = False, show_progress: bool = True) -> Path:
    """Train per-voxel PPO; write ``out_dir/checkpoint.pt`` and TensorBoard logs.

    Args:
        args: The settings (e.g. ``CONFIGS["quick"]``).
        out_dir: The run directory.
        resume: Continue the run in ``out_dir`` from its checkpoint.
        show_progress: Show the progress bar.

    Returns:
        The checkpoint path.
    """
    with distributed.session(resolve_device(args.device)) as device:
        return _train(args, out_dir, device, resume=resume, show_progress=show_progress)


def _train(
    args: Args, out_dir: Path, device: torch.device, *, resume: bool, show_progress: bool
) -> Path:
    loop = TrainingLoop(
        out_dir,
        args.total_updates,
        args.checkpoint_every_s,
        args.log_every,
        show_progress,
        seed=args.seed,
    )
    state = loop.open("ppo", args, resume=resume)
    configure_torch(args.threads)
    observation_shape, num_actions = observation_layout(args)
    generator = seed_everything(args.seed)
    learner = Learner(args, observation_shape, num_actions).to(device)
    optimizer = torch.optim.Adam(learner.net.parameters(), lr=args.lr, eps=1e-5)
    start = 0
    if state is not None:
        learner.net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])  # actions sampled on a GPU
        start = int(state["updates"])
    if distributed.launched():
        distributed.broadcast_module(learner.net)
        if not distributed.is_main():  # its own minibatch order (rank 0 keeps the run's)
            generator.manual_seed(distributed.rank_seed(args.seed, start))
        else:
            line = distributed.batch_line(args.num_envs, args.lr, "volume episodes")
            print(f"segenv: {line}", flush=True)
    env = make_env(args, device=device)

    def results() -> Iterator[UpdateResult]:
        for index in range(start, args.total_updates):
            lr = learning_rate(args, index)
            for group in optimizer.param_groups:
                group["lr"] = lr
            learner.loss.entropy_coeff.fill_(entropy_weight(args, index))
            size = distributed.world_size()
            seeds = episode_seeds(args.seed, index, args.num_envs * size)
            seed = seeds[distributed.rank_slice(args.num_envs)][0]
            data = collect(learner, env, seed, args.max_steps)
            terms = optimise(learner, optimizer, data, args, generator)
            scalars = update_scalars(terms, data, lr, args)
            steps = args.num_envs * args.max_steps
            voxels = data.get(("next", "reward")).numel()
            yield UpdateResult(index, scalars, steps, voxels)

    def payload(updates: int) -> dict[str, Any]:
        return checkpoint_payload(learner, optimizer, args, updates, generator)

    try:
        loop.run(start, results(), payload)
    finally:
        env.close()
    return loop.checkpoint_path


# ------------------------------------------------------------------------------- evaluation


def load_policy(out_dir: Path, *, greedy: bool = True, device: str = "cpu") -> NetworkPolicy:
    """The trained policy of a run directory, for :func:`~.common.evaluation.evaluate_policy`."""
    state = load_checkpoint(Path(out_dir) / "checkpoint.pt")
    if state is None and (Path(out_dir) / "checkpoint.zip").exists():
        raise ConfigError(
            f"{out_dir} holds a stable-baselines3 run: 'ppo' named SB3's PPO until it became "
            "the TorchRL learner; SB3's scalar PPO is now 'sb3_ppo_scalar' (set \"learner\" in "
            "its config.json to that name)"
        )
    if state is None:
        raise ConfigError(f"{out_dir} has no checkpoint.pt; train first (segenv train ppo)")
    args = args_from_dict(Args, state["args"])
    observation_shape, num_actions = observation_layout(args)
    net = VoxelActorCritic.for_observation(observation_shape, num_actions, args.network_config())
    net.load_state_dict(state["model"])
    torch_device = resolve_device(device)
    net.to(torch_device).eval()
    return NetworkPolicy(actor_logits(net), device=torch_device, greedy=greedy)
