"""EnvConfig: the validated settings of an interactive-segmentation env, built once.

:meth:`EnvConfig.from_kwargs` takes the keyword arguments of
:class:`~segenv.envs.interactive_seg.InteractiveSegEnv` (the table in its docstring), checks
every one of them and resolves names to callables, without building an env. The reference
env, the batched env and the PettingZoo view are all built from one; the per-volume episode
(:mod:`segenv.envs.episode`) reads it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, overload

import numpy as np
from gymnasium import spaces

from segenv.actions import resolve_action_set
from segenv.data.case import DEFAULT_SHAPE, Case, CaseSource
from segenv.data.synthetic import SyntheticSource
from segenv.errors import ConfigError, DataError, InputTypeError, describe
from segenv.hints import HINT_ENCODERS, HintEncoder
from segenv.initialisers import Initialiser, as_initialiser
from segenv.interaction import USERS, UserSimulator, wants_noise_hints
from segenv.rewards import DEFAULT_EPS, REWARDS, RewardFn, RewardTraits, reward_traits
from segenv.validation import check_choice, check_count, check_number

__all__ = ["RENDER_MODES", "STATES", "ConfidenceFn", "EnvConfig", "EnvSettings", "Setting"]

ConfidenceFn = Callable[[Any, Any], Any]
"""``fn(observation, action) -> confidence map``: numpy for one env, the batch for a batched one."""
STATES = ("probability", "binary")
RENDER_MODES = ("rgb_array", "human")
T = TypeVar("T")


class _Configured(Protocol):
    config: EnvConfig


@dataclass(frozen=True, eq=False)
class EnvConfig:
    """The resolved, validated arguments of an interactive-segmentation env.

    Build it with :meth:`from_kwargs`; the fields are the arguments after validation: names
    resolved to callables (``reward`` → ``reward_design``, ``user``, ``initialiser``),
    ``actions`` → ``deltas``, ``shape`` and the data → ``volume_shape`` (always 3D; a 2D env
    is one slice, ``is_2d``), mappings copied into dicts. ``hints`` stays as given (a name or
    an encoder factory) for :func:`segenv.hints.make_hint_encoder`.
    """

    dataset: CaseSource
    augment: bool
    volume_shape: tuple[int, int, int]
    is_2d: bool
    num_modalities: int
    deltas: np.ndarray
    reward_design: RewardFn
    reward_kwargs: dict[str, Any]
    user: UserSimulator
    user_kwargs: dict[str, Any]
    hints: str | Callable[..., HintEncoder]
    hint_kwargs: dict[str, Any]
    initialiser: Initialiser
    initialiser_kwargs: dict[str, Any]
    eps: float
    clicks_per_step: int
    initial_clicks: int
    click_noise: int
    max_steps: int
    gamma: float
    accumulate_hints: bool
    state: str
    confidence_fn: ConfidenceFn | None
    render_mode: str | None
    step_channel: bool = False

    @classmethod
    def from_kwargs(
        cls,
        shape: Sequence[int] | None = None,
        *,
        dataset: CaseSource | str | os.PathLike[str] | None = None,
        augment: bool = False,
        num_cases: int = 100,
        start_seed: int = 0,
        difficulty: float = 0.5,
        actions: str | Sequence[float] = "paper",
        reward: str | RewardFn = "relative",
        reward_kwargs: Mapping[str, Any] | None = None,
        eps: float = DEFAULT_EPS,
        confidence: ConfidenceFn | None = None,
        user: str | UserSimulator = "largest_error",
        user_kwargs: Mapping[str, Any] | None = None,
        clicks_per_step: int = 5,
        initial_clicks: int = 0,
        click_noise: int = 3,
        hints: str | Callable[..., HintEncoder] = "geodesic",
        hint_kwargs: Mapping[str, Any] | None = None,
        accumulate_hints: bool = True,
        state: str = "probability",
        initialiser: str | Initialiser | np.ndarray = "degraded_truth",
        initialiser_kwargs: Mapping[str, Any] | None = None,
        max_steps: int = 5,
        gamma: float = 0.95,
        render_mode: str | None = None,
        step_channel: bool = False,
    ) -> EnvConfig:
        """Validate the env's keyword arguments (see ``help(InteractiveSegEnv)``).

        Raises:
            ConfigError: a value out of range, an unknown name (with the closest one).
            InputTypeError: a value of the wrong type.
            DataError: a data set that cannot be used (no cases, no such folder).
        """
        source = _resolve_dataset(dataset, shape, num_cases, start_seed, difficulty)
        first = source[0]
        volume_shape, is_2d = _resolve_shape(shape, first)
        return cls(  # the checks run in the order of these arguments
            dataset=source,
            augment=bool(augment),
            volume_shape=volume_shape,
            is_2d=is_2d,
            num_modalities=first.num_modalities,
            deltas=resolve_action_set(actions),
            reward_design=REWARDS.get(reward),
            reward_kwargs=dict(reward_kwargs or {}),
            user=USERS.get(user),
            user_kwargs=dict(user_kwargs or {}),
            hints=_known_hints(hints),
            hint_kwargs=dict(hint_kwargs or {}),
            initialiser=as_initialiser(initialiser),
            initialiser_kwargs=dict(initialiser_kwargs or {}),
            eps=check_number("eps=", eps, low=0.0, high=0.5, low_open=True),
            clicks_per_step=check_count("clicks_per_step=", clicks_per_step),
            initial_clicks=check_count("initial_clicks=", initial_clicks),
            click_noise=check_count("click_noise=", click_noise),
            max_steps=check_count("max_steps=", max_steps, minimum=1),
            gamma=check_number("gamma=", gamma, low=0.0, high=1.0),
            accumulate_hints=bool(accumulate_hints),
            state=check_choice("state", state, STATES),
            confidence_fn=_check_confidence(confidence),
            render_mode=_check_render_mode(render_mode),
            step_channel=bool(step_channel),
        )

    @classmethod
    def from_env(cls, env: _Configured) -> EnvConfig:
        """The configuration an env or view (reference, batched, voxel agents) was built from."""
        return env.config

    @property
    def view_shape(self) -> tuple[int, ...]:
        """The shape of one volume as the API shows it: ``(D, H, W)``, or ``(H, W)`` in 2D."""
        return self.volume_shape[1:] if self.is_2d else self.volume_shape

    @property
    def num_actions(self) -> int:
        """K, the size of the action set."""
        return len(self.deltas)

    @property
    def noise_hints(self) -> bool:
        """True for a user whose hint maps are noise (``"none"``): no clicks, random hints."""
        return wants_noise_hints(self.user)

    @property
    def reward_traits(self) -> RewardTraits:
        """What the reward design declares (needs a confidence map, is the gain, torch twin)."""
        return reward_traits(self.reward_design)

    @property
    def num_channels(self) -> int:
        """C: the M image channels, ``p``, the two hint maps and, with ``step_channel``, t / T."""
        return self.num_modalities + 3 + int(self.step_channel)

    def observation_space(self) -> spaces.Box:
        """``Box(float32, (C, *view_shape))``: images unbounded, the other channels in [0, 1]."""
        channels = self.num_channels
        low = np.zeros((channels, *self.view_shape), dtype=np.float32)
        high = np.ones((channels, *self.view_shape), dtype=np.float32)
        low[: self.num_modalities], high[: self.num_modalities] = -np.inf, np.inf
        return spaces.Box(low=low, high=high, dtype=np.float32)

    def action_space(self) -> spaces.MultiDiscrete:
        """``MultiDiscrete(view_shape)`` with K actions per voxel."""
        return spaces.MultiDiscrete(np.full(self.view_shape, self.num_actions))


def _known_hints(hints: str | Callable[..., HintEncoder]) -> str | Callable[..., HintEncoder]:
    """``hints`` as given, once the registry knows it (a name, or a callable)."""
    HINT_ENCODERS.get(hints)
    return hints


def _check_confidence(confidence: object) -> ConfidenceFn | None:
    if confidence is not None and not callable(confidence):
        raise InputTypeError(
            f"confidence= must be a callable(observation, action) -> (D, H, W) array, "
            f"got {describe(confidence)}; for a one-off map use env.unwrapped.set_confidence"
        )
    return confidence


def _check_render_mode(render_mode: str | None) -> str | None:
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ConfigError(
            f"render_mode={render_mode!r} is unknown; use one of {list(RENDER_MODES)} or None"
        )
    return render_mode


def _resolve_dataset(
    dataset: CaseSource | str | os.PathLike[str] | None,
    shape: Sequence[int] | None,
    num_cases: int,
    start_seed: int,
    difficulty: float,
) -> CaseSource:
    if dataset is None:
        volume_shape = _as_volume_shape(DEFAULT_SHAPE if shape is None else shape)
        return SyntheticSource(
            volume_shape,
            num_cases=check_count("num_cases=", num_cases, minimum=1),
            start_seed=check_count("start_seed=", start_seed),
            difficulty=difficulty,
        )
    if isinstance(dataset, (str, os.PathLike)):  # NIfTI folder (segenv.data.sources)
        from segenv.data.sources import load_dataset

        if not os.path.isdir(dataset):
            raise DataError(
                f"dataset={os.fspath(dataset)!r}: no such folder; pass the path of an MSD task "
                "folder (dataset.json, imagesTr/, labelsTr/) or of a folder of image/label "
                "pairs, or a case source (len(), [i] -> segenv.data.Case)"
            )
        volume_shape = _as_volume_shape(DEFAULT_SHAPE if shape is None else shape)
        return load_dataset(dataset, shape=volume_shape)
    if isinstance(dataset, bytes) or not isinstance(dataset, CaseSource):
        raise InputTypeError(
            "dataset= must be a case source (len() and [i] -> segenv.data.Case, e.g. a list "
            f"of make_case(...) results), got {describe(dataset)}"
        )
    if len(dataset) == 0:
        raise DataError("dataset= has no cases")
    if not isinstance(dataset[0], Case):
        raise InputTypeError(
            f"dataset=[0] must be a segenv.data.Case, got {describe(dataset[0])}; build cases "
            "with segenv.data.make_case(image, label, spacing)"
        )
    return dataset


def _as_volume_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    try:
        dims = tuple(int(s) for s in shape)
    except (TypeError, ValueError):
        raise InputTypeError(f"shape= must be a tuple of ints, got {shape!r}") from None
    integral = all(d == s for d, s in zip(dims, shape, strict=False))
    if len(dims) not in (2, 3) or min(dims) < 1 or not integral:
        raise ConfigError(
            f"shape= must be (D, H, W) for 3D or (H, W) for 2D with positive ints, got {shape!r}"
        )
    return (1, *dims) if len(dims) == 2 else dims  # type: ignore[return-value]


def _resolve_shape(shape: Sequence[int] | None, first: Case) -> tuple[tuple[int, int, int], bool]:
    if shape is None:
        return first.shape, False
    volume_shape = _as_volume_shape(shape)
    if first.shape != volume_shape:
        raise ConfigError(
            f"shape={tuple(shape)!r} does not match the data set's volume shape {first.shape}; "
            "leave shape= out to take it from the data"
        )
    return volume_shape, len(tuple(shape)) == 2


class Setting(Generic[T]):
    """A read-only env attribute: the field (or property) of the same name of ``env.config``."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, env: None, owner: type) -> Setting[T]: ...

    @overload
    def __get__(self, env: _Configured, owner: type) -> T: ...

    def __get__(self, env: _Configured | None, owner: type) -> T | Setting[T]:
        return self if env is None else getattr(env.config, self.name)


class EnvSettings:
    """Every env face's settings as attributes: ``env.unwrapped.gamma`` is ``env.config.gamma``.

    Mixed into the reference env and the batched env, so that both expose the same names read
    from the one :class:`EnvConfig` they were built from.
    """

    config: EnvConfig
    dataset = Setting[CaseSource]()
    augment = Setting[bool]()
    volume_shape = Setting[tuple[int, int, int]]()
    is_2d = Setting[bool]()
    view_shape = Setting[tuple[int, ...]]()
    num_modalities = Setting[int]()
    reward_design = Setting[RewardFn]()
    reward_kwargs = Setting[dict[str, Any]]()
    user = Setting[UserSimulator]()
    user_kwargs = Setting[dict[str, Any]]()
    hints = Setting["str | Callable[..., HintEncoder]"]()
    hint_kwargs = Setting[dict[str, Any]]()
    initialiser = Setting[Initialiser]()
    initialiser_kwargs = Setting[dict[str, Any]]()
    eps = Setting[float]()
    clicks_per_step = Setting[int]()
    initial_clicks = Setting[int]()
    click_noise = Setting[int]()
    max_steps = Setting[int]()
    gamma = Setting[float]()
    accumulate_hints = Setting[bool]()
    state = Setting[str]()
    confidence_fn = Setting["ConfidenceFn | None"]()

    @property
    def rules(self) -> EnvConfig:
        """The settings the per-volume episodes read: :attr:`config` (an older name)."""
        return self.config
