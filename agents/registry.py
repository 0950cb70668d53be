"""The learners that ``segenv train`` and the benchmark suites know, and the contract they keep.

A learner is a module that satisfies :class:`Learner`:

* ``Args`` — a dataclass that inherits :class:`~.common.config.RunArgs` (the env and run
  settings), one docstring per field: each field is a flag of ``segenv train``;
* ``CONFIGS`` — named presets (``"quick"`` for a CPU, ``"paper"`` for the papers' settings);
* ``train(args, out_dir, *, resume=False, show_progress=True) -> Path`` — train into a run
  directory (``config.json`` and a checkpoint), resuming an interrupted run;
* ``load_policy(run_dir, *, greedy=True, device="cpu")`` — the trained agent as a
  :data:`~.common.evaluation.Policy`.

:data:`LEARNERS` maps each name to its module, a one-line summary and the ``Args`` fields the
name fixes (``sb3_ppo``, ``sb3_a2c`` and their ``_scalar`` controls are one module with
``algo`` fixed). :func:`load` imports a module only when it is asked for, so listing the
learners needs neither torch, SB3 nor TorchRL, and checks it against the contract. To add a
learner, write its module and add a row here.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from segenv.errors import ConfigError, InputTypeError

from .common.config import RunArgs
from .common.evaluation import Policy

if TYPE_CHECKING:  # mypy checks every learner module against the contract
    from . import a3c, mecca, ppo, sb3, supervised


@runtime_checkable
class Learner(Protocol):
    """What a learner module provides (see the module docstring)."""

    @property
    def Args(self) -> type[RunArgs]:  # noqa: D102
        ...

    @property
    def CONFIGS(self) -> Mapping[str, RunArgs]:  # noqa: D102
        ...

    def train(  # noqa: D102
        self, args: Any, out_dir: Path, /, *, resume: bool = ..., show_progress: bool = ...
    ) -> Path: ...

    def load_policy(  # noqa: D102
        self, run_dir: Path, /, *, greedy: bool = ..., device: str = ...
    ) -> Policy: ...


@dataclass(frozen=True)
class LearnerSpec:
    """Where a learner lives and the ``Args`` fields its name fixes."""

    module: str
    """the module, relative to this package (e.g. ``.a3c``)"""
    summary: str
    """one line for ``segenv learners``"""
    fixed: tuple[tuple[str, Any], ...] = ()
    """``Args`` fields this name sets, whatever the preset (e.g. ``(("algo", "ppo"),)``)"""

    @property
    def module_name(self) -> str:
        """The absolute module name."""
        return importlib.util.resolve_name(self.module, __package__)


LEARNERS: dict[str, LearnerSpec] = {
    "a3c": LearnerSpec(".a3c", "IteR-MRL's A3C with the fully convolutional actor-critic"),
    "mecca": LearnerSpec(".mecca", "MECCA: A3C + action-confidence network and guide"),
    "ppo": LearnerSpec(".ppo", "per-voxel PPO on TorchRL: value map, per-voxel GAE and ratio"),
    "sb3_ppo": LearnerSpec(
        ".sb3", "stable-baselines3 PPO, per voxel (VoxelPPO + VoxelPolicy)", (("algo", "ppo"),)
    ),
    "sb3_a2c": LearnerSpec(
        ".sb3", "stable-baselines3 A2C, per voxel (VoxelA2C + VoxelPolicy)", (("algo", "a2c"),)
    ),
    "sb3_ppo_scalar": LearnerSpec(
        ".sb3",
        "stable-baselines3 PPO as it comes: one scalar advantage per volume (a control)",
        (("algo", "ppo_scalar"),),
    ),
    "sb3_a2c_scalar": LearnerSpec(
        ".sb3",
        "stable-baselines3 A2C as it comes: one scalar advantage per volume (a control)",
        (("algo", "a2c_scalar"),),
    ),
    "intercnn": LearnerSpec(
        ".supervised", "InterCNN: supervised, iterative, binary previous segmentation"
    ),
    "rnet": LearnerSpec(
        ".supervised",
        "DeepIGeoS R-Net: supervised one-step refinement with geodesic hints",
        (("variant", "rnet"), ("state", "probability")),
    ),
}

LEARNERS_EXTRA = ("torch", "stable_baselines3", "torchrl", "tensordict", "tensorboard", "tqdm")
"""The top-level modules of the ``segenv[learners]`` extra (the env needs none of them)."""

if TYPE_CHECKING:
    _CONTRACT: tuple[Learner, ...] = (a3c, mecca, ppo, sb3, supervised)


def spec(name: str) -> LearnerSpec:
    """The registry row of learner ``name``; a :class:`ConfigError` suggests the closest name."""
    if name not in LEARNERS:
        close = difflib.get_close_matches(str(name), LEARNERS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"learner {name!r} is unknown{hint}; the learners are: {', '.join(LEARNERS)}"
        )
    return LEARNERS[name]


def load(name: str) -> Learner:
    """Import learner ``name``'s module and check it against :class:`Learner`."""
    entry = spec(name)
    module = importlib.import_module(entry.module, __package__)
    check_learner(module, entry)
    return module  # type: ignore[return-value]  # checked just above


def check_learner(module: ModuleType, entry: LearnerSpec) -> None:
    """Raise an :class:`InputTypeError` naming what ``module`` lacks of the contract."""
    problems = []
    if not isinstance(module, Learner):
        members = ("Args", "CONFIGS", "train", "load_policy")
        problems += [f"it has no {name}" for name in members if not hasattr(module, name)]
    args_class = getattr(module, "Args", None)
    if args_class is not None and not (
        dataclasses.is_dataclass(args_class)
        and isinstance(args_class, type)
        and issubclass(args_class, RunArgs)
    ):
        problems.append("its Args is not a dataclass that inherits RunArgs")
    elif args_class is not None:
        fields = {field.name for field in dataclasses.fields(args_class)}
        problems += [
            f"its Args has no field {key!r}" for key, _ in entry.fixed if key not in fields
        ]
        configs = getattr(module, "CONFIGS", {})
        problems += [
            f"its CONFIGS[{key!r}] is not an Args"
            for key, value in configs.items()
            if not isinstance(value, args_class)
        ]
    if problems:
        raise InputTypeError(
            f"{module.__name__} is not a learner ({'; '.join(problems)}); see {__name__}.Learner"
        )


def preset(name: str, config: str) -> RunArgs:
    """Preset ``config`` of learner ``name``, with the fields the name fixes."""
    learner = load(name)
    if config not in learner.CONFIGS:
        raise ConfigError(
            f"learner {name!r} has no {config!r} preset; it has {sorted(learner.CONFIGS)}"
        )
    return dataclasses.replace(learner.CONFIGS[config], **dict(spec(name).fixed))


def missing_extra(error: ImportError) -> str | None:
    """The one-line hint for an import that failed for want of ``segenv[learners]``, or None."""
    missing = (getattr(error, "name", None) or "").partition(".")[0]
    if missing not in LEARNERS_EXTRA:
        return None
    return (
        f"the learners need the 'learners' extra ({missing} is not installed): "
        "pip install 'segenv[learners]'"
    )
