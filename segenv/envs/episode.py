"""The per-volume, sequential half of an episode, shared by the batched views.

A step of the MDP has a dense half (the action update, the rewards, Dice, the observation: the
same arithmetic on every voxel, which the batched env does in torch on a GPU and in numba on a
CPU) and a per-volume half that is inherently sequential: picking the case, ``p(0)``, the
simulated user's clicks and the hint encodings. This module is the second half, on numpy,
written with the same pure functions and in the same order of random draws as
:class:`~segenv.envs.interactive_seg.InteractiveSegEnv`, so that a view whose volume ``i`` owns
a generator seeded like the reference env's ``np_random`` reproduces the reference episode
exactly (the batched env's tests check it click by click). Each function touches only the
volume it is given (its episode, its generator, its arrays), so different volumes may run on
different threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segenv.data.case import Case, CaseSource
from segenv.envs.interactive_seg import InteractiveSegEnv
from segenv.errors import ConfigError, DataError
from segenv.hints import (
    HINT_ENCODERS,
    GeodesicHintEncoder,
    HintEncoder,
    geodesic_encoder,
    make_hint_encoder,
)
from segenv.initialisers import Initialiser, initial_probability
from segenv.interaction import Clicks, UserContext, simulate_clicks, wants_noise_hints

__all__ = [
    "EncoderCache",
    "EpisodeRules",
    "HintUpdate",
    "VolumeEpisode",
    "interact",
    "pick_case",
    "start_episode",
]


@dataclass(frozen=True)
class EpisodeRules:
    """The resolved settings of the per-volume half, taken from a validated reference env.

    Build it with :meth:`from_env` so that every argument is validated once, by the reference
    env's constructor, and both views read the same values.
    """

    dataset: CaseSource
    augment: bool
    volume_shape: tuple[int, int, int]
    num_modalities: int
    initialiser: Initialiser
    initialiser_kwargs: dict[str, Any]
    hints: Any
    hint_kwargs: dict[str, Any]
    user: Any
    user_kwargs: dict[str, Any]
    clicks_per_step: int
    initial_clicks: int
    click_noise: int
    accumulate_hints: bool
    noise_hints: bool

    @classmethod
    def from_env(cls, env: InteractiveSegEnv) -> EpisodeRules:
        """Read the rules of a (validated) reference env."""
        return cls(
            dataset=env.dataset,
            augment=env.augment,
            volume_shape=env.volume_shape,
            num_modalities=env.num_modalities,
            initialiser=env.initialiser,
            initialiser_kwargs=dict(env.initialiser_kwargs),
            hints=env.hints,
            hint_kwargs=dict(env.hint_kwargs),
            user=env.user,
            user_kwargs=dict(env.user_kwargs),
            clicks_per_step=env.clicks_per_step,
            initial_clicks=env.initial_clicks,
            click_noise=env.click_noise,
            accumulate_hints=env.accumulate_hints,
            noise_hints=wants_noise_hints(env.user),
        )


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

    def __init__(self, rules: EpisodeRules, capacity: int) -> None:
        """Encoders for the episodes of ``rules``; see :meth:`applies`."""
        self.rules = rules
        self.capacity = max(1, int(capacity))
        self._entries: OrderedDict[int, tuple[Case, GeodesicHintEncoder]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def applies(rules: EpisodeRules) -> bool:
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


def pick_case(rules: EpisodeRules, rng: np.random.Generator, case_index: int | None) -> Case:
    """The episode's case: ``case_index``, or uniform with ``rng`` (the reference env's draw)."""
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
    rules: EpisodeRules,
    rng: np.random.Generator,
    case: Case,
    encoders: EncoderCache | None = None,
) -> tuple[VolumeEpisode, np.ndarray, HintUpdate | None]:
    """Start one volume's episode on ``case``: augmentation, ``p(0)``, the initial clicks.

    The reference env's reset is :func:`pick_case` then this, with the same generator; the
    batched env picks every volume's case first, on one thread (case sources need not be
    thread-safe), then starts the volumes in parallel.

    Args:
        rules: the env's settings.
        rng: the volume's generator, right after :func:`pick_case` drew from it.
        case: the case :func:`pick_case` returned.
        encoders: shared per-case encoders (only used without augmentation), or None to
            build the hint encoder here as the reference env does.

    Returns:
        The episode, ``p(0)`` as float32 ``(D, H, W)``, and the hint update of the initial
        clicks (None: the hints stay all zero).
    """
    if rules.augment:  # training augmentation, with the volume's generator (as the env)
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
    return episode, probability, update


def interact(
    rules: EpisodeRules,
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
