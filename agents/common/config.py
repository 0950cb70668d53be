"""The settings every learner shares: the env (:class:`EnvArgs`) and the run (:class:`RunArgs`).

A learner's ``Args`` dataclass inherits these fields, so every learner trains and is evaluated
on the same synthetic splits with the same protocol; :func:`env_kwargs` turns the environment
fields into the keywords of ``gym.make(env_id_of(args), ...)`` for the ``train`` or ``test``
split. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from segenv.data.synthetic import (
    DOMAIN_RANDOMISATION,
    SyntheticSource,
    SyntheticSplits,
    synthetic_splits,
)
from segenv.errors import ConfigError


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
    start: str = "image_aware"
    """p(0): 'image_aware' (errors where the image is ambiguous, like a coarse CNN's), 'degraded'
    (the truth's shape perturbed by smooth noise: image-independent errors a CNN undoes) or
    'coarse' (a coarse CNN trained on the synthetic train1 split, IteR-MRL §4.1; its
    probabilities are cached, see segenv_agents.coarse.prepare_synthetic_run)"""
    target_dice: float = 0.75
    """Dice of the initial segmentation p(0)"""
    family: str = "lesion"
    """synthetic object families of the train and test cases: a name of segenv.data.FAMILIES,
    several joined by commas, 'mixed' (segenv.data.TRAINING_FAMILIES) or 'all'"""
    test_family: str = ""
    """families of the test cases if not `family` (e.g. 'tubes', the held-out family)"""
    randomise: bool = False
    """domain randomisation of the synthetic cases (segenv.data.DOMAIN_RANDOMISATION's knobs but
    the family: both polarities, per-case contrast, noise, bias, blur, texture, thick slices)"""
    initial_clicks: int = 5
    """clicks on p(0) before the first step (IteR-MRL Table 2 protocol: 5)"""
    clicks_per_step: int = 5
    """N_click: clicks after every step"""
    click_noise: int = 3
    """clicks jittered uniformly in [-click_noise, click_noise] voxels per axis (IteR-MRL: 3)"""
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
    step_channel: bool = False
    """add the channel t / T to the observation (a time-aware state: the agent can tell its
    last step, where an untimed policy's drift towards 0.5 flips voxels)"""

    # --- real data (IteR-MRL §4.1 on a NIfTI folder; see segenv_agents.common.datasets) ---
    dataset: str = ""
    """an MSD task folder or a folder of image/label pairs ('' = the synthetic cases)"""
    preset: str = ""
    """task preset of segenv.data.presets for --dataset (modality, labels, crop, split sizes)"""
    splits: str = ""
    """train1/train2/test splits JSON for --dataset ('' = drawn with data_seed, kept in the run)"""
    coarse: str = ""
    """coarse network run folder for --dataset or start 'coarse' ('' = a shared cache keyed by
    settings and data)"""
    coarse_epochs: int = 30
    """epochs of the coarse network (the initial method) on train1, for --dataset or start
    'coarse' (`segenv train --start coarse` on the synthetic data: 12 unless given)"""


@dataclass
class RunArgs(EnvArgs):
    """The run settings every learner shares, after :class:`EnvArgs`' environment fields."""

    device: str = "cpu"
    """'cpu', 'cuda' or 'auto'"""
    threads: int = 0
    """torch threads (0 = one per available core)"""
    checkpoint_every_s: float = 120.0
    """seconds between two atomic checkpoints"""
    eval_episodes: int = 50
    """held-out test episodes of `segenv evaluate` by default"""

    @property
    def total_env_steps(self) -> int:
        """Env steps the whole run plays (one step = one action of every voxel), for budgets.

        Each learner's ``Args`` says how its own fields add up; 0 where it does not.
        """
        return 0


def env_id_of(args: EnvArgs) -> str:
    """The Gymnasium id for ``args.shape``: 2D for ``(H, W)``, 3D for ``(D, H, W)``."""
    check_shape(args.shape)
    return "InteractiveSeg2D-v0" if len(args.shape) == 2 else "InteractiveSeg3D-v0"


def synthetic_split(args: EnvArgs, split: str) -> SyntheticSource:
    """The ``train`` (``train2``) or ``test`` synthetic case source of ``args``.

    The one convention for held-out cases: :func:`segenv.data.synthetic.synthetic_splits` of
    ``args.data_seed``, whose test cases no training split of any seed shares.
    """
    if split not in ("train", "test"):
        raise ConfigError(f"split={split!r} is unknown; use 'train' or 'test'")
    splits = synthetic_splits_of(args)
    return splits.train2 if split == "train" else splits.test


def synthetic_splits_of(args: EnvArgs) -> SyntheticSplits:
    """All three synthetic splits of ``args``: ``train1``, ``train2`` and ``test``.

    ``train1`` is the coarse network's and ``train2`` the learner's, ``num_train_cases`` each.
    """
    check_shape(args.shape)
    volume = (1, *args.shape) if len(args.shape) == 2 else tuple(args.shape)
    return synthetic_splits(
        volume,
        num_train1=args.num_train_cases,
        num_train2=args.num_train_cases,
        num_test=args.num_test_cases,
        seed=args.data_seed,
        difficulty=args.difficulty,
        family=families(args.family),
        test_family=families(args.test_family) if args.test_family else None,
        cache_size=max(args.num_train_cases, args.num_test_cases),
        **randomisation_knobs(args),
    )


def randomisation_knobs(args: EnvArgs) -> dict[str, Any]:
    """The knobs of ``args.randomise`` (:data:`DOMAIN_RANDOMISATION` but the family), or none."""
    if not args.randomise:
        return {}
    return {k: v for k, v in DOMAIN_RANDOMISATION.items() if k != "family"}


def families(text: str) -> str | tuple[str, ...]:
    """A ``family`` field as :func:`~segenv.data.synthetic.synthetic_splits` takes it."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise ConfigError(f"family={text!r} names no family; use e.g. 'lesion' or 'mixed'")
    return names[0] if len(names) == 1 else names


QUICK3D_DATA: Mapping[str, Any] = MappingProxyType(
    {
        "shape": (16, 32, 32),
        "difficulty": 1.0,
        "family": "mixed",
        "randomise": True,
        "num_train_cases": 400,
        "num_test_cases": 50,
    }
)
"""The data of every learner's ``quick3d`` preset (the 3D main job), so all of them train and
test on the same cases: 16×32×32 volumes of the mixed training families with domain
randomisation at difficulty 1, 400 training and 50 held-out test cases, from the default
(image-aware) start."""

STARTS = {"image_aware": "image_aware", "degraded": "degraded_truth"}
"""``start`` names and the initialisers behind them (with ``target_dice``); and see
:data:`COARSE_START`."""

COARSE_START = "coarse"
"""The ``start`` of IteR-MRL §4.1 on the synthetic data: the probabilities of a coarse network
trained on ``train1`` (``segenv_agents.coarse.prepare_synthetic_run`` caches them and records
the folder as ``coarse``), read by the ``probability_files`` initialiser."""

SYNTHETIC_COARSE_EPOCHS = 12
"""``coarse_epochs`` of ``segenv train --start coarse`` on the synthetic data unless given: at
16×32×32 and difficulty 1 about 12 epochs reached a validation Dice of 0.64-0.65 (300 train1
cases, about 40 s an epoch on a loaded 2-core CPU)."""


def initial_segmentation(args: EnvArgs) -> dict[str, Any]:
    """The ``initialiser`` and ``initialiser_kwargs`` of ``args.start``."""
    if args.start == COARSE_START:
        if len(tuple(args.shape)) != 3:
            raise ConfigError(
                "start='coarse' needs the 3D env (--shape D H W): the coarse network is 3D"
            )
        from .datasets import coarse_probabilities

        return {
            "initialiser": "probability_files",
            "initialiser_kwargs": {"folder": str(coarse_probabilities(args))},
        }
    if args.start not in STARTS:
        known = sorted([*STARTS, COARSE_START])
        raise ConfigError(f"start={args.start!r} is unknown; use one of {known}")
    return {
        "initialiser": STARTS[args.start],
        "initialiser_kwargs": {"target_dice": args.target_dice},
    }


def env_kwargs(args: EnvArgs, split: str = "train", **overrides: Any) -> dict[str, Any]:
    """Keyword arguments of ``gym.make(env_id_of(args), ...)`` for a split, plus overrides."""
    kwargs: dict[str, Any] = {
        "shape": tuple(args.shape),
        "dataset": None if args.dataset else synthetic_split(args, split),
        "initial_clicks": args.initial_clicks,
        "clicks_per_step": args.clicks_per_step,
        "click_noise": args.click_noise,
        "max_steps": args.max_steps,
        "user": args.user,
        "hints": args.hints,
        "reward": args.reward,
        "actions": args.actions,
        "state": args.state,
        "gamma": args.gamma,
        "step_channel": args.step_channel,
        **initial_segmentation(args),
    }
    if args.dataset:  # real data: the split's cases, the coarse network's p(0), augmentation
        from .datasets import dataset_env_kwargs

        kwargs.update(dataset_env_kwargs(args, split))
    kwargs.update(overrides)
    if args.start == COARSE_START and not args.dataset:
        from .datasets import check_probability_files

        check_probability_files(kwargs, split, args)
    return kwargs


def evaluation_env_kwargs(args: EnvArgs, split: str = "test", **overrides: Any) -> dict[str, Any]:
    """:func:`env_kwargs` with the evaluation protocol (IteR-MRL Table 2), plus overrides.

    The largest-error user whatever the run trained with; the reward is the plain gain (the
    metrics do not use it, and policies that supply no confidence map run too).
    """
    return env_kwargs(args, split, **{"user": "largest_error", "reward": "relative", **overrides})


def interaction_free(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The same env without any click (all-zero hints): IteR-MRL0's pre-training stage."""
    return {**kwargs, "initial_clicks": 0, "clicks_per_step": 0, "user": "largest_error"}


def check_shape(shape: Any) -> tuple[int, ...]:
    """``shape`` as a tuple: 2 positive ints (H, W: the 2D env) or 3 (D, H, W: the 3D env)."""
    values = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    if len(values) not in (2, 3) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values
    ):
        shown = " ".join(str(v) for v in values)
        raise ConfigError(
            f"shape (--shape) takes 2 ints (H W: the 2D env) or 3 (D H W: the 3D env), each "
            f">= 1; got {shown}"
        )
    return values
