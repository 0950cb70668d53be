"""One volume's episode: case, augmentation, ``p(0)``, clicks, hints, confidence, the numpy step.

Every env face runs its volumes through these functions: the reference env
(:class:`~segenv.envs.interactive_seg.InteractiveSegEnv`, and through it the PettingZoo view)
for its one volume, the batched env (:class:`~segenv.envs.batched.BatchedInteractiveSegEnv`)
for each of its N volumes, on worker threads. A volume's random draws all come from its own
generator, in one order (the case, augmentation, ``p(0)``, the clicks of each step), so a
batched volume whose generator is seeded like the reference env's ``np_random`` replays the
reference episode exactly. Each function touches only the volume it is given (its episode,
its generator, its arrays), so different volumes may run on different threads.

The dense per-voxel half of a step (:func:`step_volume`: eq 2, the cross-entropies, the reward
map) is here on numpy for one volume; the batched env runs the same arithmetic batched
(numba kernels on a CPU, torch on a GPU) and its tests check it bit for bit against this.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from segenv.actions import apply_action
from segenv.data.case import Case
from segenv.envs.config import ConfidenceFn, EnvConfig
from segenv.errors import ConfigError, DataError
from segenv.hints import (
    HINT_ENCODERS,
    GeodesicHintEncoder,
    HintEncoder,
    geodesic_encoder,
    make_hint_encoder,
)
from segenv.initialisers import initial_probability
from segenv.interaction import Clicks, UserContext, simulate_clicks
from segenv.metrics import dice
from segenv.rewards import RewardInputs, compute_reward, cross_entropy

__all__ = [
    "ClickInfo",
    "EncoderCache",
    "EpisodeRules",
    "EpisodeStart",
    "HintUpdate",
    "PendingConfidence",
    "StepOutcome",
    "VolumeEpisode",
    "apply_hint_update",
    "check_reset_options",
    "episode_frame",
    "episode_info",
    "interact",
    "pick_case",
    "start_episode",
    "step_volume",
]

EpisodeRules = EnvConfig
"""The settings an episode reads: the env's :class:`~segenv.envs.config.EnvConfig`."""

M = TypeVar("M")


@dataclass
class VolumeEpisode:
    """One volume's episode state on the host: its case, hint encoder, clicks and step."""

    case: Case
    encoder: HintEncoder
    clicks: Clicks = field(default_factory=Clicks.empty)
    step: int = 0


@dataclass(frozen=True)
class HintUpdate:
    """What one round of interaction does to a volume's hint maps.

    Attributes:
        positive: float32 ``(D, H, W)`` object-hint map of the new clicks, or None (no change).
        negative: the background-hint map, or None.
        replace: True: the maps replace the old ones (noise hints, or ``accumulate_hints``
            off, where None then means all zeros); False: they are merged by ``max``.
    """

    positive: np.ndarray | None
    negative: np.ndarray | None
    replace: bool


@dataclass(frozen=True)
class EpisodeStart:
    """A volume's new episode: the episode, ``p(0)``, its cross-entropy, the initial hints.

    ``hints`` is None when the hint maps stay all zero.
    """

    episode: VolumeEpisode
    probability: np.ndarray
    cross_entropy: np.ndarray
    hints: HintUpdate | None


@dataclass(frozen=True)
class StepOutcome:
    """The dense half of one volume's step: the new ``p`` and cross-entropy, the maps."""

    probability: np.ndarray
    cross_entropy: np.ndarray
    reward_map: np.ndarray
    gain: np.ndarray


class EncoderCache:
    """Geodesic hint encoders built once per case and shared by the episodes on that case.

    Building the geodesic encoder computes the image's 26-neighbour edge costs, a large part
    of a reset. Without augmentation an episode's image is its case's own, so the edge costs
    are the same in every episode on the case: each episode gets a
    :meth:`~segenv.hints.GeodesicHintEncoder.spawn` of the case's encoder (the same costs,
    its own scratch buffer), and its hints are exactly those of a freshly built encoder.
    Cases are keyed by identity (a case source hands out the same object while it keeps the
    case, and cases are not modified in place); at most ``capacity`` cases are kept, least
    recently used dropped first. Safe to call from several threads.
    """

    def __init__(self, rules: EnvConfig, capacity: int) -> None:
        """Encoders for the episodes of ``rules``; see :meth:`applies`."""
        self.rules = rules
        self.capacity = max(1, int(capacity))
        self._entries: OrderedDict[int, tuple[Case, GeodesicHintEncoder]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def applies(rules: EnvConfig) -> bool:
        """True for the built-in geodesic encoding without augmentation (else: no sharing)."""
        return not rules.augment and HINT_ENCODERS.get(rules.hints) is geodesic_encoder

    def encoder(self, case: Case) -> HintEncoder:
        """An encoder for an episode on ``case``: a spawn of the cached one, or a new one."""
        key = id(case)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] is case:
                self._entries.move_to_end(key)
                return entry[1].spawn()
        rules = self.rules
        built = make_hint_encoder(rules.hints, case.image, case.spacing, **rules.hint_kwargs)
        if isinstance(built, GeodesicHintEncoder):
            with self._lock:
                self._entries[key] = (case, built)
                self._entries.move_to_end(key)
                while len(self._entries) > self.capacity:
                    self._entries.popitem(last=False)
        return built


# ------------------------------------------------------------------------------- reset


def check_reset_options(options: Mapping[str, Any], supported: tuple[str, ...]) -> None:
    """Raise a :class:`ConfigError` naming any option of ``options`` not in ``supported``."""
    unknown = sorted(set(options) - set(supported))
    if unknown:
        names = ", ".join(repr(name) for name in supported)
        raise ConfigError(f"unknown reset option(s) {unknown}; supported: {names}")


def pick_case(rules: EnvConfig, rng: np.random.Generator, case_index: int | None) -> Case:
    """The episode's case: ``case_index``, or uniform with ``rng`` (the episode's first draw)."""
    size = len(rules.dataset)
    if case_index is None:
        index = int(rng.integers(size))
    elif isinstance(case_index, (int, np.integer)) and 0 <= case_index < size:
        index = int(case_index)
    else:
        raise ConfigError(f"options['case_index']={case_index!r} must be an int in [0, {size})")
    case = rules.dataset[index]
    if case.shape != rules.volume_shape or case.num_modalities != rules.num_modalities:
        raise DataError(
            f"case {case.name!r} has shape {case.shape} with {case.num_modalities} "
            f"modalities, but this env was built for {rules.volume_shape} with "
            f"{rules.num_modalities}; resize the data set to one shape"
        )
    return case


def start_episode(
    rules: EnvConfig,
    rng: np.random.Generator,
    case: Case,
    encoders: EncoderCache | None = None,
) -> EpisodeStart:
    """Start one volume's episode on ``case``: augmentation, ``p(0)``, the initial clicks.

    A reset is :func:`pick_case` then this, with the same generator; the batched env picks
    every volume's case first, on one thread (case sources need not be thread-safe), then
    starts the volumes in parallel.

    Args:
        rules: the env's settings.
        rng: the volume's generator, right after :func:`pick_case` drew from it.
        case: the case :func:`pick_case` returned.
        encoders: shared per-case encoders (only used without augmentation), or None to
            build the episode's own hint encoder.
    """
    if rules.augment:  # training augmentation (SPEC §5), before the initialiser
        from segenv.data.preprocess import augment_case

        case = augment_case(case, rng)
    if encoders is not None and not rules.augment:
        encoder = encoders.encoder(case)
    else:
        encoder = make_hint_encoder(rules.hints, case.image, case.spacing, **rules.hint_kwargs)
    probability = initial_probability(rules.initialiser, case, rng, **rules.initialiser_kwargs)
    episode = VolumeEpisode(case, encoder)
    prediction = probability >= 0.5
    update = interact(rules, episode, probability, prediction, rules.initial_clicks, None, rng)
    entropy = cross_entropy(probability, case.label, rules.eps)
    return EpisodeStart(episode, probability, entropy, update)


# -------------------------------------------------------------------------------- step


def step_volume(
    rules: EnvConfig,
    probability: np.ndarray,
    entropy: np.ndarray,
    label: np.ndarray,
    action: np.ndarray,
    confidence: np.ndarray | None,
) -> StepOutcome:
    """Eq 2 on one volume, then the cross-entropy (eq 4) and the reward map of the design.

    Args:
        rules: the env's settings (deltas, ``eps``, the reward design and its parameters).
        probability: float32 ``(D, H, W)``, ``p`` before the action.
        entropy: its cross-entropy.
        label: bool ``(D, H, W)`` ground truth.
        action: int ``(D, H, W)`` indices into the action set (validated).
        confidence: the learner's action confidence ``(D, H, W)``, or None.
    """
    current = apply_action(probability, action, rules.deltas)
    inputs = RewardInputs(
        previous=probability,
        current=current,
        label=label,
        ce_previous=entropy,
        ce_current=cross_entropy(current, label, rules.eps),
        confidence=confidence,
        eps=rules.eps,
    )
    reward_map = compute_reward(rules.reward_design, inputs, **rules.reward_kwargs)
    return StepOutcome(current, inputs.ce_current, reward_map, inputs.gain)


def interact(
    rules: EnvConfig,
    episode: VolumeEpisode,
    probability: np.ndarray,
    prediction: np.ndarray,
    n_clicks: int,
    confidence: np.ndarray | None,
    rng: np.random.Generator,
) -> HintUpdate | None:
    """One round of the simulated user on one volume; records the new clicks in ``episode``.

    Args:
        rules: the env's settings.
        episode: the volume's episode (its ``step`` is the step the clicks are stamped with).
        probability: float32 ``(D, H, W)``, the current ``p``.
        prediction: bool ``(D, H, W)``, ``p >= 0.5``.
        n_clicks: the most clicks of this round.
        confidence: the learner's action confidence ``(D, H, W)``, or None.
        rng: the volume's generator.

    Returns:
        How the hint maps change, or None when they do not.
    """
    case = episode.case
    if rules.noise_hints:
        positive = rng.random(case.shape, dtype=np.float32)
        negative = rng.random(case.shape, dtype=np.float32)
        return HintUpdate(positive, negative, replace=True)
    if n_clicks == 0:
        return None
    context = UserContext(
        prediction=prediction,
        label=case.label,
        image=case.image,
        probability=probability,
        step=episode.step,
        confidence=confidence,
        previous_clicks=episode.clicks,
        spacing=case.spacing,
    )
    new = simulate_clicks(
        rules.user,
        context,
        n_clicks,
        rng,
        noise=rules.click_noise,
        step=episode.step,
        **rules.user_kwargs,
    )
    episode.clicks = episode.clicks.concat(new)
    encoded = [
        episode.encoder(new.of_class(side)) if (new.labels == side).any() else None
        for side in (True, False)
    ]
    return HintUpdate(encoded[0], encoded[1], replace=not rules.accumulate_hints)


def apply_hint_update(positive: np.ndarray, negative: np.ndarray, update: HintUpdate) -> None:
    """Merge (``max``) or replace one volume's float32 hint maps with ``update``, in place."""
    for hints, new in ((positive, update.positive), (negative, update.negative)):
        if new is None:
            if update.replace:
                hints.fill(0)
        elif update.replace:
            np.copyto(hints, new)
        else:
            np.maximum(hints, new, out=hints)


class PendingConfidence(Generic[M]):
    """Where a step's action confidence comes from: a map given ahead, else the callable.

    ``check(value, what)`` validates a map (numpy for the reference env, a tensor batch for
    the batched env) and returns it in the volume layout.
    """

    def __init__(self, fn: ConfidenceFn | None, check: Callable[[Any, str], M]) -> None:
        """``fn(observation, action)``: the ``confidence=`` callable, or None."""
        self.fn = fn
        self._check = check
        self._pending: M | None = None

    def give(self, confidence: Any, what: str) -> None:
        """Keep a validated map for the next step (``set_confidence``)."""
        self._pending = self._check(confidence, what)

    def clear(self) -> None:
        """Forget a map given ahead (at reset)."""
        self._pending = None

    def take(self, observation: Callable[[], Any], action: Any) -> M | None:
        """The map given ahead (used once), else ``fn(observation(), action)``, else None."""
        if self._pending is not None:
            confidence, self._pending = self._pending, None
            return confidence
        if self.fn is None:
            return None
        return self._check(self.fn(observation(), action), "confidence= callable output")


# -------------------------------------------------------------------------- reporting


def episode_info(episode: VolumeEpisode, dice_value: float) -> dict[str, Any]:
    """A volume's ``info``: Dice, its clicks so far, their number, the step and the case."""
    return {
        "dice": dice_value,
        "clicks": ClickInfo(episode.clicks.as_dict()),
        "num_clicks": len(episode.clicks),
        "step": episode.step,
        "case": episode.case.name,
    }


def episode_frame(
    episode: VolumeEpisode,
    probability: np.ndarray,
    hint_pos: np.ndarray,
    hint_neg: np.ndarray,
    *,
    show_dice: bool = True,
) -> np.ndarray:
    """The slice montage of a volume's state (:func:`segenv.render.render_montage`)."""
    from segenv.render import render_montage

    case = episode.case
    title = f"{case.name} · step {episode.step}"
    if show_dice:
        title += f" · Dice {dice(probability >= 0.5, case.label):.3f}"
    return render_montage(
        case.image,
        probability,
        hint_pos,
        hint_neg,
        case.label,
        episode.clicks.coords,
        episode.clicks.labels,
        title=title,
    )


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
