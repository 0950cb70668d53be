"""MECCA: interactive segmentation with self-adaptive confidence calibration (Shen et al., 2023).

MECCA is A3C (:mod:`segenv_agents.a3c`, whose network, loss and update it reuses) plus an
**action-confidence network** ``C(s, a)`` (MECCA §3.3); this module, top to bottom:
:class:`Args` and its presets → env factory → the confidence loss (eq 6) and simulated labels
(eq 10) → one update → the training loop.

* **Confidence network** (:class:`~.common.networks.ConfidenceNet`, same shape as the value
  branch, own parameters, own Adam). Trained on labeled rollouts with the symmetric binary
  cross-entropy of eq 6: ``BCE(C(s, a), ζ) + BCE(C(s, -a), 1 - ζ)`` where ``ζ_i = 1`` when the
  direction of voxel i's action agrees with its label (``a_i > 0`` on foreground, ``a_i < 0`` on
  background; eq 7's garbled "⊕" read as "the action moves p towards y").
* **Self-adaptive reward** (§3.4, eq 8): before each step the learner gives the env its
  confidence map ``c = C(s, a)`` (``set_confidence``), and the env's ``reward="confidence"``
  returns ``weight(c) · gain``. ``confidence_weight="printed"`` is eq 8 as printed,
  ``(α - c)^β``, which is *negative* where ``c > α`` (see :mod:`segenv.rewards`);
  ``"shifted"`` is ``(1 + α - c)^β``, always positive and still larger where the confidence is
  low — our reading of the text ("wrong actions ... will be punished more").
* **Interaction guide** (§3.5): ``user="guided"`` — the env's guided user clicks inside the SLIC
  supervoxels where the confidence map is lowest (the same map the reward uses).
* **Simulated labels** (§3.6, eq 10–11) with ``labeled_fraction < 1``: the training cases are
  split into labeled and unlabeled ones; every update plays one labeled episode per env
  (A3C loss + confidence loss) and, if there are unlabeled cases, one unlabeled episode whose
  rewards are computed against the simulated label ``ŷ = direction of the confidence-calibrated
  action`` (the action's direction where ``c ≥ 0.5``, the opposite where ``c < 0.5``), with the
  gradients masked to the voxels where ``max(c, 1 - c) > δ`` (eq 11). δ rises from 0.85 by
  0.00025 per epoch (one pass over the labeled cases) up to 0.99 (MECCA §4.1).

MECCA runs one synchronous worker (``workers=1``); under ``torchrun`` each rank is one, playing
its slice of the update's episode seeds, and the ranks average the gradients of every
optimiser step (:mod:`.common.distributed`). Run it with
``segenv train mecca --config quick --out runs/mecca``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
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
from segenv.rewards import printed_confidence_weight

from . import a3c
from .common import distributed
from .common.checkpoints import load_checkpoint
from .common.config import env_id_of, env_kwargs
from .common.distributions import sample_actions
from .common.networks import ConfidenceNet, spatial_dims_of
from .common.policies import NetworkPolicy, actor_logits
from .common.rollout import Rollout, collect_rollout, episode_seeds, make_vector_env, sub_envs
from .common.runs import args_from_dict
from .common.runtime import configure_torch, seed_everything
from .common.training import TrainingLoop, UpdateResult


def shifted_confidence_weight(
    confidence: np.ndarray, alpha: float = 0.8, beta: float = 1.0
) -> np.ndarray:
    """``(1 + α - c)^β``: eq 8's weight shifted to stay positive (low confidence weighs more)."""
    return np.power(np.float32(1.0 + alpha) - confidence, beta, dtype=np.float32)


CONFIDENCE_WEIGHTS: dict[str, Callable[..., np.ndarray]] = {
    "printed": printed_confidence_weight,
    "shifted": shifted_confidence_weight,
}


TORCHRUN = True
"""Trains data-parallel under torchrun (``segenv train`` refuses the learners without it)."""

# ------------------------------------------------------------------------------------- Args


@dataclass
class Args(a3c.Args):
    """MECCA settings: every A3C field (:class:`segenv_agents.a3c.Args`) plus these."""

    reward: str = "confidence"
    """reward design; 'confidence' is MECCA's self-adaptive reward (eq 8)"""
    user: str = "guided"
    """simulated user during training; 'guided' is MECCA's interaction guide (§3.5)"""
    confidence_lr: float = 1e-4
    """Adam learning rate of the confidence network"""
    alpha: float = 0.8
    """α of the confidence reward (eq 8)"""
    beta: float = 1.0
    """β of the confidence reward (eq 8)"""
    confidence_weight: str = "printed"
    """'printed': (α - c)^β as printed; 'shifted': (1 + α - c)^β, always positive"""
    labeled_fraction: float = 1.0
    """fraction of the training cases with labels; the rest train with simulated labels"""
    delta_start: float = 0.85
    """δ of the eq 11 mask at the start"""
    delta_end: float = 0.99
    """largest δ"""
    delta_per_epoch: float = 0.00025
    """δ increase per epoch (one pass over the labeled training cases)"""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.workers != 1:
            raise ConfigError(f"MECCA runs one synchronous worker; got workers={self.workers}")
        if self.confidence_weight not in CONFIDENCE_WEIGHTS:
            raise ConfigError(
                f"confidence_weight={self.confidence_weight!r} is unknown; use one of "
                f"{sorted(CONFIDENCE_WEIGHTS)}"
            )
        if not 0.0 < self.labeled_fraction <= 1.0:
            raise ConfigError(f"labeled_fraction must be in (0, 1], got {self.labeled_fraction}")
        if not 0.5 <= self.delta_start <= self.delta_end < 1.0:
            raise ConfigError(
                f"need 0.5 <= delta_start <= delta_end < 1, got {self.delta_start}, "
                f"{self.delta_end}"
            )


def _preset(base: a3c.Args, **changes: Any) -> Args:
    """An A3C preset with MECCA's reward and user (the base's own would override them)."""
    mecca_defaults = {"reward": "confidence", "user": "guided"}
    return Args(**{**dataclasses.asdict(base), **mecca_defaults, **changes})


CONFIGS: dict[str, Args] = {
    # The A3C quick preset with MECCA's pieces; the shifted weight (the printed one rewards
    # confident correct actions negatively). Twice A3C's entropy weight, measured: with A3C's
    # 0.05 MECCA's policy entropy fell to ~1.0 (A3C's stays ~1.4) and its quick run ended in
    # the early "push every voxel down" state (Dice 0); with 0.1 it leaves that state after
    # ~160 updates, as A3C does, and ends at Dice 90.05 (seed 0).
    "quick": _preset(
        a3c.CONFIGS["quick"],
        confidence_lr=1e-3,
        confidence_weight="shifted",
        entropy_coef=0.1,
    ),
    # The 3D main-job settings of A3C (quick3d) with MECCA's pieces as in "quick"; an update
    # costs about twice A3C's (the confidence network's forward and backward), so 180 updates
    # to stay within A3C's 15 minutes.
    "quick3d": _preset(
        a3c.CONFIGS["quick3d"],
        total_updates=180,
        lr_decay_every=75,
        confidence_lr=1e-3,
        confidence_weight="shifted",
        entropy_coef=0.1,
    ),
    # MECCA §4.1: lr 1e-4 for both networks, α = 0.8, β = 1, P-Net heads (two blocks), the
    # protocol's 25 clicks at step 0.
    "paper": _preset(
        a3c.CONFIGS["paper"],
        head_dilations=(4, 5),
        initial_clicks=25,
        pretrain_updates=0,
        confidence_lr=1e-4,
    ),
}


# --------------------------------------------------------------------------- env and networks


def mecca_env_kwargs(args: Args, split: str, **overrides: Any) -> dict[str, Any]:
    """Env keywords: the confidence reward's parameters added to :func:`env_kwargs`."""
    kwargs = env_kwargs(args, split)
    if args.reward == "confidence":
        kwargs["reward_kwargs"] = {
            "alpha": args.alpha,
            "beta": args.beta,
            "weight": CONFIDENCE_WEIGHTS[args.confidence_weight],
        }
    kwargs.update(overrides)
    return kwargs


def labeled_split(args: Args) -> tuple[Any, Any | None]:
    """The training cases with labels and those without (None when all are labeled)."""
    from segenv.data.synthetic import SyntheticSource

    train = env_kwargs(args, "train")["dataset"]
    labeled = max(1, math.ceil(args.labeled_fraction * len(train)))
    if labeled >= len(train):
        return train, None
    if hasattr(train, "subset"):  # real data (--dataset): the first cases of train2 labeled
        return train.subset(train.names[:labeled]), train.subset(train.names[labeled:])

    def part(num_cases: int, start_seed: int) -> SyntheticSource:
        return SyntheticSource(
            train.shape,
            num_cases=num_cases,
            start_seed=start_seed,
            difficulty=train.difficulty,
            cache_size=num_cases,
        )

    return part(labeled, train.start_seed), part(len(train) - labeled, train.start_seed + labeled)


def build_confidence_net(args: Args, observation_shape: tuple[int, ...]) -> ConfidenceNet:
    """The confidence network for observations ``(C, *spatial)``."""
    return ConfidenceNet(
        observation_shape[0],
        spatial_dims=spatial_dims_of(observation_shape),
        config=args.network_config(),
    )


# --------------------------------------------------------------------- eq 6, eq 10, eq 11


def confidence_targets(delta_map: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """ζ of eq 7: 1 where the action's direction agrees with the label, else 0 (float)."""
    label = label.bool()
    agrees = ((delta_map > 0) & label) | ((delta_map < 0) & ~label)
    return agrees.to(delta_map.dtype)


def confidence_loss(
    logits_action: torch.Tensor, logits_opposite: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    """Eq 6: ``BCE(C(s, a), ζ) + BCE(C(s, -a), 1 - ζ)`` from logits (means over voxels)."""
    return F.binary_cross_entropy_with_logits(
        logits_action, target
    ) + F.binary_cross_entropy_with_logits(logits_opposite, 1.0 - target)


def simulated_label(delta_map: torch.Tensor, confidence: torch.Tensor) -> torch.Tensor:
    """Eq 10: the direction of the calibrated action (1 = foreground) as a bool map.

    Where the network trusts the action (``c ≥ 0.5``) the label is the action's direction;
    where it does not, the opposite direction.
    """
    upward = delta_map > 0
    return torch.where(confidence >= 0.5, upward, ~upward)


def confident_mask(confidence: torch.Tensor, delta: float) -> torch.Tensor:
    """Eq 11's mask ``M = 1[max(c, 1 - c) > δ]`` (float)."""
    return (torch.maximum(confidence, 1.0 - confidence) > delta).to(confidence.dtype)


def mask_threshold(args: Args, update: int, updates_per_epoch: int) -> float:
    """δ after ``update`` updates: ``δ_start + δ_per_epoch · epoch``, at most ``δ_end``."""
    epoch = update // max(1, updates_per_epoch)
    return min(args.delta_end, args.delta_start + args.delta_per_epoch * epoch)


def cross_entropy_torch(probability: torch.Tensor, label: torch.Tensor, eps: float) -> torch.Tensor:
    """``-y log p - (1-y) log(1-p)`` on ``clip(p, ε, 1-ε)`` (eq 4), for simulated labels."""
    p = probability.clamp(eps, 1.0 - eps)
    return torch.where(label, -torch.log(p), -torch.log1p(-p))


def simulated_rewards(
    rollout: Rollout, labels: torch.Tensor, confidences: torch.Tensor, args: Args, eps: float
) -> torch.Tensor:
    """Per-voxel rewards ``(T, B, *spatial)`` of an unlabeled rollout against simulated labels.

    The gain ``X(p(t), ŷ(t)) - X(p(t+1), ŷ(t))`` of each step's action, weighted like the
    env's reward when it is the confidence reward.
    """
    states = np.concatenate((rollout.observations, rollout.final_observation[None]))
    probability = torch.as_tensor(states[:, :, -3])  # the p channel
    gain = cross_entropy_torch(probability[:-1], labels, eps) - cross_entropy_torch(
        probability[1:], labels, eps
    )
    if args.reward != "confidence":
        return gain
    weight = CONFIDENCE_WEIGHTS[args.confidence_weight](confidences.numpy(), args.alpha, args.beta)
    return gain * torch.as_tensor(weight)


# ------------------------------------------------------------------------------------ update


class Mecca(nn.Module):
    """MECCA's trained parameters: the A3C learner and the confidence network."""

    def __init__(self, args: Args, observation_shape: tuple[int, ...], num_actions: int) -> None:
        super().__init__()
        self.actor_critic = a3c.Learner(args, observation_shape, num_actions)
        self.confidence = build_confidence_net(args, observation_shape)


def _play(
    model: Mecca,
    envs: gym.vector.VectorEnv,
    seeds: list[int],
    generator: torch.Generator,
    deltas: torch.Tensor,
    device: torch.device,
) -> tuple[Rollout, list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
    """One episode per env; the confidence map goes to the env before every step."""
    logits, values, confidences = [], [], []
    envs_list = sub_envs(envs)

    def act(observation: np.ndarray) -> np.ndarray:
        output = model.actor_critic.net(torch.as_tensor(observation, device=device))
        logits.append(output.logits)
        values.append(output.value_map)
        return sample_actions(output.logits, generator).cpu().numpy()

    def before_step(observation: np.ndarray, action: np.ndarray) -> None:
        with torch.no_grad():
            delta_map = deltas[torch.as_tensor(action, device=device)]
            obs = torch.as_tensor(observation, device=device)
            confidence = torch.sigmoid(model.confidence(obs, delta_map)).cpu()
        confidences.append(confidence)
        for env, confidence_map in zip(envs_list, confidence.numpy(), strict=True):
            env.set_confidence(confidence_map)  # type: ignore[attr-defined]

    rollout = collect_rollout(envs, act, seeds, before_step=before_step)
    return rollout, logits, values, torch.stack(confidences)


def _labels(envs: gym.vector.VectorEnv, action_shape: tuple[int, ...]) -> torch.Tensor:
    """The current cases' labels ``(B, *spatial)`` (bool), in the action layout."""
    return torch.as_tensor(
        np.stack([env.case.label.reshape(action_shape) for env in sub_envs(envs)])  # type: ignore[attr-defined]
    )


def _a3c_loss(
    model: Mecca,
    rollout: Rollout,
    logits: list[torch.Tensor],
    values: list[torch.Tensor],
    reward_maps: torch.Tensor,
    args: Args,
    device: torch.device,
    mask: torch.Tensor | None = None,
    update: int = 0,
) -> a3c.LossTerms:
    return a3c.actor_critic_loss(
        torch.stack(logits),
        torch.stack(values),
        torch.as_tensor(rollout.actions, device=device),
        reward_maps.to(device),
        gamma=args.gamma,
        advantage=args.advantage,
        value_coef=args.value_coef,
        entropy_coef=a3c.entropy_weight(args, update),
        reward_conv=model.actor_critic.reward_conv,
        mask=None if mask is None else mask.to(device),
    )


def _confidence_step(
    model: Mecca,
    rollout: Rollout,
    labels: torch.Tensor,
    deltas: torch.Tensor,
    device: torch.device,
) -> tuple[torch.Tensor, float]:
    """Eq 6 on every (state, action) of a labeled rollout; returns the loss and the accuracy."""
    observations = torch.as_tensor(rollout.observations, device=device).flatten(0, 1)
    delta_map = deltas[torch.as_tensor(rollout.actions, device=device)].flatten(0, 1)
    target = confidence_targets(
        delta_map,
        labels.to(device).unsqueeze(0).expand(rollout.num_steps, *labels.shape).flatten(0, 1),
    )
    both = model.confidence(
        torch.cat((observations, observations)), torch.cat((delta_map, -delta_map))
    )
    logits_action, logits_opposite = both.chunk(2)
    loss = confidence_loss(logits_action, logits_opposite, target)
    accuracy = float(((logits_action.detach() > 0).float() == target).float().mean())
    return loss, accuracy


def _step(
    parameters: Iterator[nn.Parameter],
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    max_grad_norm: float,
    lr: float,
) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = list(parameters)
    distributed.average_gradients(params)  # the ranks' mean under torchrun; else nothing
    if max_grad_norm > 0:
        nn.utils.clip_grad_norm_(params, max_grad_norm)
    optimizer.step()


# ----------------------------------------------------------------------------- training loop


class Trainer:
    """MECCA's networks, optimisers and update (Algorithm 1), on any vector envs of the env.

    ``labeled_envs`` play the labeled episodes (A3C loss with the env's reward, eq 6 for the
    confidence network); ``unlabeled_envs``, if given, the simulated-label episodes (eq 10-11).
    :func:`train` builds it from :class:`Args`; tests build it on their own data.
    """

    def __init__(
        self,
        args: Args,
        labeled_envs: gym.vector.VectorEnv,
        unlabeled_envs: gym.vector.VectorEnv | None = None,
        *,
        device: torch.device | None = None,
        epoch_updates: int = 1,
    ) -> None:
        self.args = args
        self.device = device or torch.device("cpu")
        self.labeled_envs = labeled_envs
        self.unlabeled_envs = unlabeled_envs
        self.epoch_updates = max(1, epoch_updates)
        observation_shape = tuple(labeled_envs.single_observation_space.shape or ())
        first = sub_envs(labeled_envs)[0]
        deltas = np.asarray(first.deltas)  # type: ignore[attr-defined]
        self.deltas = torch.as_tensor(deltas, dtype=torch.float32, device=self.device)
        self.eps = float(first.eps)  # type: ignore[attr-defined]
        self.action_shape = tuple(observation_shape[1:])
        self.generator = seed_everything(args.seed)
        self.model = Mecca(args, observation_shape, len(deltas)).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.actor_critic.parameters(), lr=args.lr)
        self.confidence_optimizer = torch.optim.Adam(
            self.model.confidence.parameters(), lr=args.confidence_lr
        )

    def state(self, updates: int) -> dict[str, Any]:
        """The checkpoint payload after ``updates`` updates."""
        return {
            "learner": "mecca",
            "args": dataclasses.asdict(self.args),
            "updates": updates,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "confidence_optimizer": self.confidence_optimizer.state_dict(),
            "generator": self.generator.get_state(),
        }

    def load(self, state: dict[str, Any]) -> int:
        """Restore a checkpoint payload; return its update count."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.confidence_optimizer.load_state_dict(state["confidence_optimizer"])
        self.generator.set_state(state["generator"])
        return int(state["updates"])

    def update(self, index: int) -> UpdateResult:
        """One labeled episode per env (and one unlabeled, if any), then the gradient steps."""
        args, model, device, deltas = self.args, self.model, self.device, self.deltas
        lr = a3c.learning_rate(args, index)
        seeds = _rank_seeds(args.seed, index, args.num_envs)
        rollout, logits, values, _ = _play(
            model, self.labeled_envs, seeds, self.generator, deltas, device
        )
        labels = _labels(self.labeled_envs, self.action_shape)
        reward_maps = torch.as_tensor(rollout.reward_maps)
        loss = _a3c_loss(model, rollout, logits, values, reward_maps, args, device, update=index)
        _step(model.actor_critic.parameters(), self.optimizer, loss.total, args.max_grad_norm, lr)
        confidence, accuracy = _confidence_step(model, rollout, labels, deltas, device)
        _step(
            model.confidence.parameters(),
            self.confidence_optimizer,
            confidence,
            args.max_grad_norm,
            args.confidence_lr,
        )
        scalars = a3c.update_scalars(loss, rollout, lr, args)
        scalars["losses/confidence"] = float(confidence.detach())
        scalars["charts/confidence_accuracy"] = accuracy
        env_steps, transitions = rollout.num_steps * rollout.num_envs, rollout.voxel_transitions
        if self.unlabeled_envs is not None:
            scalars.update(self._unlabeled_update(index, lr))
            env_steps *= 2
            transitions *= 2
        return UpdateResult(index, scalars, env_steps, transitions)

    def _unlabeled_update(self, index: int, lr: float) -> dict[str, float]:
        """Eq 10-11: an unlabeled episode trained on simulated labels with masked gradients."""
        args, model, device = self.args, self.model, self.device
        envs = self.unlabeled_envs
        if envs is None:
            raise ConfigError("no unlabeled envs: pass unlabeled_envs to Trainer")
        delta = mask_threshold(args, index, self.epoch_updates)
        seeds = _rank_seeds(args.seed + 1, index, args.num_envs)
        rollout, logits, values, confidences = _play(
            model, envs, seeds, self.generator, self.deltas, device
        )
        delta_maps = self.deltas.cpu()[torch.as_tensor(rollout.actions)]
        simulated = simulated_label(delta_maps, confidences)
        mask = confident_mask(confidences, delta)
        rewards = simulated_rewards(rollout, simulated, confidences, args, self.eps)
        loss = _a3c_loss(model, rollout, logits, values, rewards, args, device, mask, index)
        _step(model.actor_critic.parameters(), self.optimizer, loss.total, args.max_grad_norm, lr)
        truth = _labels(envs, self.action_shape).unsqueeze(0)
        accuracy = ((simulated == truth).float() * mask).sum() / mask.sum().clamp(min=1.0)
        return {
            "losses/unlabeled_total": float(loss.total.detach()),
            "charts/mask_threshold": delta,
            "charts/mask_fraction": float(mask.mean()),
            "charts/simulated_label_accuracy": float(accuracy),
        }

    def policy(self, *, greedy: bool = True) -> MeccaPolicy:
        """The current actor as an evaluation policy."""
        return MeccaPolicy(self.model, self.deltas.cpu().numpy(), device=self.device, greedy=greedy)

    def close(self) -> None:
        """Close the envs."""
        self.labeled_envs.close()
        if self.unlabeled_envs is not None:
            self.unlabeled_envs.close()


def train(args: Args, out_dir: Path, *, resume: bool = False, show_progress: bool = True) -> Path:
    """Train MECCA; write ``out_dir/checkpoint.pt``, TensorBoard logs and ``config.json``.

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


def _rank_seeds(seed: int, update: int, num_envs: int) -> list[int]:
    """The slice of the update's ``world_size · num_envs`` episode seeds on this rank."""
    seeds = episode_seeds(seed, update, num_envs * distributed.world_size())
    return seeds[distributed.rank_slice(num_envs)]


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
    state = loop.open("mecca", args, resume=resume)
    configure_torch(args.threads)
    labeled, unlabeled = labeled_split(args)
    env_id = env_id_of(args)
    kwargs = mecca_env_kwargs(args, "train")
    labeled_envs = make_vector_env(env_id, {**kwargs, "dataset": labeled}, args.num_envs)
    unlabeled_envs = None
    if unlabeled is not None:
        unlabeled_envs = make_vector_env(env_id, {**kwargs, "dataset": unlabeled}, args.num_envs)
    trainer = Trainer(
        args,
        labeled_envs,
        unlabeled_envs,
        device=device,
        epoch_updates=math.ceil(len(labeled) / (args.num_envs * distributed.world_size())),
    )
    start = 0 if state is None else trainer.load(state)
    if distributed.launched():
        distributed.broadcast_module(trainer.model)
        if not distributed.is_main():  # its own action draws (rank 0 keeps the run's)
            trainer.generator.manual_seed(distributed.rank_seed(args.seed, start))
        else:
            print(f"segenv: {distributed.batch_line(args.num_envs, args.lr)}", flush=True)
    try:
        loop.run_updates(start, trainer.update, trainer.state)
    finally:
        trainer.close()
    return loop.checkpoint_path


# ------------------------------------------------------------------------------- evaluation


class MeccaPolicy(NetworkPolicy):
    """MECCA's actor for evaluation; it also hands the env its confidence map every step.

    The map drives the guided user (and the confidence reward) exactly as in training; with
    any other user and reward it is simply unused.
    """

    def __init__(self, model: Mecca, deltas: np.ndarray, **kwargs: Any) -> None:
        super().__init__(actor_logits(model.actor_critic.net), **kwargs)
        self.model = model
        self.deltas = torch.as_tensor(deltas, dtype=torch.float32, device=self.device)

    def __call__(self, observation: np.ndarray, env: gym.Env | None = None) -> np.ndarray:
        """Action for one observation; sets ``env``'s confidence map for the coming step."""
        action = super().__call__(observation, env)
        if env is not None:
            with torch.no_grad():
                obs = torch.as_tensor(observation[None], dtype=torch.float32, device=self.device)
                delta_map = self.deltas[torch.as_tensor(action[None], device=self.device)]
                confidence = torch.sigmoid(self.model.confidence(obs, delta_map))[0]
            env.unwrapped.set_confidence(confidence.cpu().numpy())  # type: ignore[attr-defined]
        return action


def load_policy(out_dir: Path, *, greedy: bool = True, device: str = "cpu") -> MeccaPolicy:
    """The trained MECCA policy of a run directory."""
    state = load_checkpoint(Path(out_dir) / "checkpoint.pt")
    if state is None:
        raise ConfigError(f"{out_dir} has no checkpoint.pt; train first (segenv train mecca)")
    args = args_from_dict(Args, state["args"])
    observation_shape, num_actions = a3c.observation_layout(args)
    model = Mecca(args, observation_shape, num_actions)
    model.load_state_dict(state["model"])
    torch_device = resolve_device(device)
    model.to(torch_device).eval()
    env = gym.make(env_id_of(args), **env_kwargs(args, "test"))
    deltas = np.asarray(env.unwrapped.deltas)  # type: ignore[attr-defined]
    env.close()
    return MeccaPolicy(model, deltas, device=torch_device, greedy=greedy)
