"""InteractiveSeg3D-v0 / InteractiveSeg2D-v0: interactive segmentation as a voxel-agent MDP."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from segenv.actions import apply_action, resolve_action_set, validate_action
from segenv.data.case import Case, CaseSource
from segenv.data.synthetic import SyntheticSource
from segenv.errors import ConfigError, DataError, EnvStateError, InputTypeError, describe
from segenv.hints import HINT_ENCODERS, HintEncoder, make_hint_encoder
from segenv.initialisers import as_initialiser, initial_probability, validate_probability
from segenv.interaction import USERS, Clicks, UserContext, simulate_clicks, wants_noise_hints
from segenv.metrics import dice
from segenv.rewards import DEFAULT_EPS, REWARDS, RewardInputs, compute_reward, cross_entropy

ConfidenceFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
STATES = ("probability", "binary")
DEFAULT_SHAPE = (30, 55, 55)


class InteractiveSegEnv(gym.Env[np.ndarray, np.ndarray]):
    r"""Interactive 3D (or 2D) medical image segmentation in which every voxel is an agent.

    ## Description
    An image ``x`` with a binary ground truth ``y`` and a segmentation probability ``p`` that is
    refined over ``max_steps`` steps (IteR-MRL, CVPR 2020; MECCA, FITEE 2023). At each step
    every voxel agent nudges its own probability by one delta of the action set, the reward is
    each voxel's cross-entropy gain, then a simulated user clicks on the largest remaining
    mistakes and the clicks are encoded as object / background hint maps. One policy is shared
    by all voxels; a voxel sees its neighbours through the policy's receptive field.

    ## Axis order
    Volumes are numpy ``(D, H, W)`` = (slices z, rows y, columns x). The papers' "55×55×30"
    volume is ``shape=(30, 55, 55)``, the default of ``InteractiveSeg3D-v0``.
    ``InteractiveSeg2D-v0`` is the same env with a 2-tuple ``shape=(H, W)`` (default (64, 64)):
    internally one slice, observations ``(C, H, W)`` and actions ``(H, W)``.

    ## Observation space
    ``Box(float32, (C, D, H, W))`` with channels ``[image_1..image_M, p, h+, h-]`` (SPEC §2):
    the normalised image (M modalities, unbounded), the current probability in [0, 1] (or
    ``p >= 0.5`` when ``state="binary"``), the object-hint map and the background-hint map,
    both in [0, 1] (1 at a click, 0 = no hint).

    ## Action space
    ``MultiDiscrete`` of shape ``(D, H, W)``: one index into the action set per voxel. The
    default set is ``(-0.4, -0.2, -0.1, +0.1, +0.2, +0.4)`` (K = 6); the update is
    ``p ← clip(p + A[a], 0, 1)`` (eq 2).

    ## Reward
    The mean of a per-voxel reward map (``info["reward_map"]``). Default ``"relative"``:
    ``X(t-1) - X(t)`` with ``X = -y log p - (1-y) log(1-p)`` on ``clip(p, ε, 1-ε)``. Worked
    example: a foreground voxel moved from 0.5 to 0.9 earns ``0.6931 - 0.1054 = 0.5878``; a
    background voxel moved from 0.5 to 0.9 earns ``0.6931 - 2.3026 = -1.6094``. Other
    designs: ``"absolute"``, ``"focal"``, ``"error_region"``, ``"confidence"`` (MECCA eq 8,
    needs the learner's confidence map), or any registered / callable design.

    ## Starting state
    ``reset`` picks a case (``options={"case_index": i}`` or uniformly with the env's seeded
    generator), sets ``p(0)`` with the initialiser (default: degraded ground truth with
    Dice ≈ 0.75), optionally gives ``initial_clicks`` clicks, and encodes the hints.

    ## Episode end
    ``terminated=True`` after ``max_steps`` steps (default 5; T = 1 is the immediate-reward
    ablation). ``truncated`` is always False. ``gamma`` is recorded for learners (eq 5).

    ## Info
    ``reward_map``, ``gain_map`` (float32 ``(D, H, W)``, step only), ``dice`` (of ``p >= 0.5``),
    ``clicks`` (a read-only mapping, :class:`ClickInfo`, of ``coords`` int64 ``(n, 3)`` z/y/x,
    ``labels`` bool (True = object), ``steps``: all clicks so far), ``num_clicks``, ``step``,
    ``case`` (its name).

    ## Arguments
    | argument | default | meaning |
    |---|---|---|
    | ``shape`` | None | ``(D, H, W)``, or ``(H, W)`` for 2D; None: (30, 55, 55) or the data's |
    | ``dataset`` | None | a case source, a NIfTI folder path (below); None = synthetic |
    | ``augment`` | False | flip/rotate the chosen case at reset (for the train split) |
    | ``num_cases``, ``start_seed`` | 100, 0 | synthetic cases are seeds ``start_seed + i`` |
    | ``difficulty`` | 0.5 | synthetic difficulty in [0, 1] |
    | ``actions`` | "paper" | a name of ``segenv.actions.ACTION_SETS`` or deltas |
    | ``reward``, ``reward_kwargs`` | "relative", {} | reward design and its parameters |
    | ``eps`` | 1e-6 | clipping of p inside the logs |
    | ``confidence`` | None | ``fn(observation, action) -> (D, H, W)`` confidence map |
    | ``user``, ``user_kwargs`` | "largest_error", {} | simulated user |
    | ``clicks_per_step`` | 5 | N_click |
    | ``initial_clicks`` | 0 | clicks given at reset (MECCA: 25) |
    | ``click_noise`` | 3 | uniform click jitter in [-n, n] voxels per axis |
    | ``hints``, ``hint_kwargs`` | "geodesic", {} | hint encoding |
    | ``accumulate_hints`` | True | hints keep all clicks so far, else the last step's |
    | ``state`` | "probability" | or "binary" (IteR-MRL Table 4) |
    | ``initialiser``, ``initialiser_kwargs`` | "degraded_truth", {} | ``p(0)`` |
    | ``max_steps`` | 5 | T |
    | ``gamma`` | 0.95 | discount recorded for learners |
    | ``render_mode`` | None | "rgb_array" or "human" |

    ## Data on disk
    ``dataset="path/to/Task01_BrainTumour"`` (a str or ``os.PathLike``) loads an MSD task folder
    or a folder of image/label pairs with ``segenv.data.load_dataset``: modality 0, foreground
    = label > 0, cropped to the non-zero box and resized to ``shape``. NIfTI ``(x, y, z)``
    arrays become ``(D, H, W) = (z, y, x)`` after RAS+ reorientation (``segenv.data.nifti``).
    ``augment=True`` applies ``segenv.data.augment_case`` (flips on three axes, rotations in
    ±π/8; image linear, label nearest) with the env's generator before the initialiser.

    ## Example
    >>> import gymnasium as gym, segenv
    >>> env = gym.make("InteractiveSeg2D-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

    ## Version history
    * v0: initial release.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array", "human"], "render_fps": 2}  # noqa: RUF012

    def __init__(
        self,
        shape: Sequence[int] | None = None,
        *,
        dataset: CaseSource | str | os.PathLike[str] | None = None,
        augment: bool = False,
        num_cases: int = 100,
        start_seed: int = 0,
        difficulty: float = 0.5,
        actions: str | Sequence[float] = "paper",
        reward: str | Callable[..., np.ndarray] = "relative",
        reward_kwargs: Mapping[str, Any] | None = None,
        eps: float = DEFAULT_EPS,
        confidence: ConfidenceFn | None = None,
        user: str | Callable[..., np.ndarray] = "largest_error",
        user_kwargs: Mapping[str, Any] | None = None,
        clicks_per_step: int = 5,
        initial_clicks: int = 0,
        click_noise: int = 3,
        hints: str | Callable[..., HintEncoder] = "geodesic",
        hint_kwargs: Mapping[str, Any] | None = None,
        accumulate_hints: bool = True,
        state: str = "probability",
        initialiser: str | Callable[..., np.ndarray] | np.ndarray = "degraded_truth",
        initialiser_kwargs: Mapping[str, Any] | None = None,
        max_steps: int = 5,
        gamma: float = 0.95,
        render_mode: str | None = None,
    ) -> None:
        """Build the env; every argument is validated here (see the class docstring)."""
        self.dataset = _resolve_dataset(dataset, shape, num_cases, start_seed, difficulty)
        self.augment = bool(augment)
        first = self.dataset[0]
        volume_shape, self.is_2d = _resolve_shape(shape, first)
        self.volume_shape = volume_shape
        self.num_modalities = first.num_modalities
        self.deltas = resolve_action_set(actions)
        self.reward_design = REWARDS.get(reward)
        self.reward_kwargs = dict(reward_kwargs or {})
        self.user = USERS.get(user)
        self.user_kwargs = dict(user_kwargs or {})
        HINT_ENCODERS.get(hints)
        self.hints = hints
        self.hint_kwargs = dict(hint_kwargs or {})
        self.initialiser = as_initialiser(initialiser)
        self.initialiser_kwargs = dict(initialiser_kwargs or {})
        self.eps = _check_number("eps", eps, low=0.0, high=0.5, low_open=True)
        self.clicks_per_step = _check_count("clicks_per_step", clicks_per_step)
        self.initial_clicks = _check_count("initial_clicks", initial_clicks)
        self.click_noise = _check_count("click_noise", click_noise)
        self.max_steps = _check_count("max_steps", max_steps, minimum=1)
        self.gamma = _check_number("gamma", gamma, low=0.0, high=1.0)
        self.accumulate_hints = bool(accumulate_hints)
        if state not in STATES:
            raise ConfigError(f"state={state!r} is unknown; use one of {STATES}")
        self.state = state
        if confidence is not None and not callable(confidence):
            raise InputTypeError(
                f"confidence= must be a callable(observation, action) -> (D, H, W) array, "
                f"got {describe(confidence)}; for a one-off map use env.unwrapped.set_confidence"
            )
        self.confidence_fn = confidence
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                f"render_mode={render_mode!r} is unknown; use one of "
                f"{self.metadata['render_modes']} or None"
            )
        self.render_mode = render_mode

        channels = self.num_modalities + 3
        view_shape = volume_shape[1:] if self.is_2d else volume_shape
        self.view_shape: tuple[int, ...] = view_shape
        low = np.zeros((channels, *view_shape), dtype=np.float32)
        high = np.ones((channels, *view_shape), dtype=np.float32)
        low[: self.num_modalities], high[: self.num_modalities] = -np.inf, np.inf
        self.observation_space = spaces.Box(low=low, high=high, dtype=np.float32)
        self.action_space = spaces.MultiDiscrete(np.full(view_shape, len(self.deltas)))

        self._case: Case | None = None
        self._step = 0
        self._done = True
        self._pending_confidence: np.ndarray | None = None
        self._renderer: Any = None

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode on a case; ``options={"case_index": i}`` picks the case."""
        super().reset(seed=seed)
        case = self.dataset[self._case_index(options or {})]
        if case.shape != self.volume_shape or case.num_modalities != self.num_modalities:
            raise DataError(
                f"case {case.name!r} has shape {case.shape} with {case.num_modalities} "
                f"modalities, but this env was built for {self.volume_shape} with "
                f"{self.num_modalities}; resize the data set to one shape"
            )
        if self.augment:  # training augmentation (SPEC §5), before the initialiser
            from segenv.data.preprocess import augment_case

            case = augment_case(case, self.np_random)
        self._case = case
        self._encoder = make_hint_encoder(self.hints, case.image, case.spacing, **self.hint_kwargs)
        self._probability = initial_probability(
            self.initialiser, case, self.np_random, **self.initialiser_kwargs
        )
        self._ce = cross_entropy(self._probability, case.label, self.eps)
        self._hint_pos = np.zeros(case.shape, dtype=np.float32)
        self._hint_neg = np.zeros(case.shape, dtype=np.float32)
        self._clicks = Clicks.empty()
        self._step = 0
        self._done = False
        self._pending_confidence = None
        self._interact(self.initial_clicks, confidence=None)
        return self._observation(), self._info()

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply the joint action, reward it, let the user click, and rebuild the hints."""
        if self._case is None or self._done:
            raise EnvStateError(
                "step() called before reset() or after the episode ended "
                f"(step {self._step} of {self.max_steps}); call env.reset() first"
            )
        case = self._case
        action = validate_action(action, self.view_shape, len(self.deltas)).reshape(case.shape)
        confidence = self._take_confidence(action)
        previous, ce_previous = self._probability, self._ce
        self._probability = apply_action(previous, action, self.deltas)
        self._ce = cross_entropy(self._probability, case.label, self.eps)
        inputs = RewardInputs(
            previous=previous,
            current=self._probability,
            label=case.label,
            ce_previous=ce_previous,
            ce_current=self._ce,
            confidence=confidence,
            eps=self.eps,
        )
        reward_map = compute_reward(self.reward_design, inputs, **self.reward_kwargs)
        self._step += 1
        self._interact(self.clicks_per_step, confidence=confidence)
        terminated = self._step >= self.max_steps
        self._done = terminated
        info = self._info()
        info["reward_map"] = self._view(reward_map)
        info["gain_map"] = self._view(inputs.gain)
        if self.render_mode == "human":
            self.render()
        return (
            self._observation(),
            float(reward_map.mean(dtype=np.float64)),
            terminated,
            False,
            info,
        )

    def render(self) -> np.ndarray | None:
        """``rgb_array``: a montage of central slices; ``human``: the same in a window."""
        if self.render_mode is None or self._case is None:
            return None
        from segenv.render import HumanRenderer, render_montage

        frame = render_montage(
            self._case.image,
            self._probability,
            self._hint_pos,
            self._hint_neg,
            self._case.label,
            self._clicks.coords,
            self._clicks.labels,
            title=f"{self._case.name} · step {self._step} · Dice {self._dice():.3f}",
        )
        if self.render_mode == "rgb_array":
            return frame
        if self._renderer is None:
            self._renderer = HumanRenderer()
        self._renderer.show(frame)
        return None

    def close(self) -> None:
        """Close the human-mode window, if any."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # ------------------------------------------------------------ extra API
    def set_confidence(self, confidence: np.ndarray) -> None:
        """Give the learner's action-confidence map ``(D, H, W)`` in [0, 1] for the next step."""
        self._pending_confidence = validate_probability(
            confidence, self.view_shape, "confidence map"
        ).reshape(self.volume_shape)

    @property
    def case(self) -> Case:
        """The current case (image, label, spacing, name)."""
        if self._case is None:
            raise EnvStateError("no case yet: call env.reset() first")
        return self._case

    @property
    def probability(self) -> np.ndarray:
        """The current probability map ``p`` (a copy, in the observation's layout)."""
        return self._view(self._probability).copy()

    @property
    def clicks(self) -> Clicks:
        """All clicks given so far in this episode."""
        return self._clicks

    # --------------------------------------------------------------- internals
    def _case_index(self, options: Mapping[str, Any]) -> int:
        unknown = set(options) - {"case_index"}
        if unknown:
            raise ConfigError(f"unknown reset option(s) {sorted(unknown)}; supported: 'case_index'")
        if "case_index" not in options:
            return int(self.np_random.integers(len(self.dataset)))
        index = options["case_index"]
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.dataset):
            raise ConfigError(
                f"options['case_index']={index!r} must be an int in [0, {len(self.dataset)})"
            )
        return int(index)

    def _take_confidence(self, action: np.ndarray) -> np.ndarray | None:
        if self._pending_confidence is not None:
            confidence, self._pending_confidence = self._pending_confidence, None
            return confidence
        if self.confidence_fn is None:
            return None
        result = self.confidence_fn(self._observation(), self._view(action))
        return validate_probability(result, self.view_shape, "confidence= callable output").reshape(
            self.volume_shape
        )

    def _interact(self, n_clicks: int, confidence: np.ndarray | None) -> None:
        """The simulated user clicks on the current errors; the hint maps are rebuilt."""
        case = self.case
        if wants_noise_hints(self.user):
            self._hint_pos = self.np_random.random(case.shape, dtype=np.float32)
            self._hint_neg = self.np_random.random(case.shape, dtype=np.float32)
            return
        if n_clicks == 0:
            return
        context = UserContext(
            prediction=self._probability >= 0.5,
            label=case.label,
            image=case.image,
            probability=self._probability,
            step=self._step,
            confidence=confidence,
            previous_clicks=self._clicks,
            spacing=case.spacing,
        )
        new = simulate_clicks(
            self.user,
            context,
            n_clicks,
            self.np_random,
            noise=self.click_noise,
            step=self._step,
            **self.user_kwargs,
        )
        self._clicks = self._clicks.concat(new)
        pos = self._encoder(new.of_class(True)) if new.labels.any() else None
        neg = self._encoder(new.of_class(False)) if (~new.labels).any() else None
        if self.accumulate_hints:
            if pos is not None:
                np.maximum(self._hint_pos, pos, out=self._hint_pos)
            if neg is not None:
                np.maximum(self._hint_neg, neg, out=self._hint_neg)
        else:
            zeros = np.zeros(case.shape, dtype=np.float32)
            self._hint_pos = pos if pos is not None else zeros
            self._hint_neg = neg if neg is not None else zeros.copy()

    def _observation(self) -> np.ndarray:
        case = self.case
        m = self.num_modalities
        obs = np.empty((m + 3, *case.shape), dtype=np.float32)
        obs[:m] = case.image
        if self.state == "binary":
            np.greater_equal(self._probability, 0.5, out=obs[m], casting="unsafe")
        else:
            obs[m] = self._probability
        obs[m + 1] = self._hint_pos
        obs[m + 2] = self._hint_neg
        return obs[:, 0] if self.is_2d else obs

    def _dice(self) -> float:
        return dice(self._probability >= 0.5, self.case.label)

    def _info(self) -> dict[str, Any]:
        return {
            "dice": self._dice(),
            "clicks": ClickInfo(self._clicks.as_dict()),
            "num_clicks": len(self._clicks),
            "step": self._step,
            "case": self.case.name,
        }

    def _view(self, volume: np.ndarray) -> np.ndarray:
        return volume[0] if self.is_2d else volume


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
            num_cases=_check_count("num_cases", num_cases, minimum=1),
            start_seed=_check_count("start_seed", start_seed),
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


def _check_count(name: str, value: object, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name}= must be an int, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name}= must be >= {minimum}, got {value!r}")
    return int(value)


def _check_number(
    name: str, value: object, *, low: float, high: float, low_open: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InputTypeError(f"{name}= must be a number, got {value!r}")
    number = float(value)
    if not (low < number if low_open else low <= number) or not number <= high:
        bracket = "(" if low_open else "["
        raise ConfigError(f"{name}= must be in {bracket}{low}, {high}], got {value!r}")
    return number


# --- info["clicks"] for vector envs (added with the batched and multi-agent views) -----------


class ClickInfo(Mapping[str, np.ndarray]):
    """``info["clicks"]``: read-only ``{"coords", "labels", "steps"}`` arrays of the clicks so far.

    Deliberately not a ``dict``: Gymnasium's vector envs stack the arrays of dict-valued infos
    across sub-envs, which fails when the sub-envs have different click counts, and keep any
    other object whole in an object array (``info["clicks"][i]["coords"]``).
    """

    __slots__ = ("_arrays",)

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._arrays = dict(arrays)

    def __getitem__(self, key: str) -> np.ndarray:
        return self._arrays[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return self.keys() == other.keys() and all(
            np.array_equal(value, other[key]) for key, value in self._arrays.items()
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ClickInfo({self._arrays!r})"

    def __getstate__(self) -> dict[str, np.ndarray]:
        return self._arrays

    def __setstate__(self, state: dict[str, np.ndarray]) -> None:
        self._arrays = state
