"""Procedural brain-MRI-like cases in five object families: the embedded default data (SPEC §8).

:func:`make_synthetic_case` draws one brain-MRI-like volume with an object and its ground
truth from a seed; :class:`SyntheticSource` is a deterministic, cached
:class:`~segenv.data.case.CaseSource` over a range of seeds and :func:`synthetic_splits` gives
disjoint ``train1`` / ``train2`` / ``test`` sources over disjoint seed ranges (the style of
Procgen's ``start_level`` / ``num_levels``).

Object families (``family=``; the natural polarity is the default of ``polarity=None``):

============== ====================================================== ======== ===========
family         object (the label)                                     polarity contrast
============== ====================================================== ======== ===========
``lesion``     1-3 lobulated tumour-like parts, 2.5-8 % of the        bright   6 → 2.8
               volume; necrotic-like core, rim, halo (the default)
``tissue``     a folded ribbon 2-3.5 voxels thick around a closed,    dark     5 → 2.2
               convoluted shell (cortex / grey matter as on T1), with
               CSF along its outside at high difficulty
``tubes``      1-3 branching tubular trees (vessel-like), radius      bright   7 → 3
               1-3 voxels, tapering
``organ``      one large smooth organ, 20-40 % of the volume, with    bright   4 → 1.5
               2-4 neighbouring structures touching it whose level
               approaches the organ's with difficulty
``metastases`` 5-30 small separate nodules (0.5-2 % of the volume     bright   7 → 3
               together), ring-enhancing at high difficulty
============== ====================================================== ======== ===========

"contrast" is the default object-minus-tissue level at difficulty 0 → 1, in tissue stds.
``family`` also takes a sequence of names (each case draws one, uniformly, from its seed;
repeat a name to weight it), ``"mixed"`` (:data:`TRAINING_FAMILIES`) or ``"all"``
(:data:`FAMILIES`). Procgen-style generalisation: train on :data:`TRAINING_FAMILIES`
(``lesion``, ``tissue``, ``organ``, ``metastases``) and test on :data:`HELD_OUT_FAMILIES`
(``tubes``), e.g. ``synthetic_splits(family="mixed", test_family=HELD_OUT_FAMILIES)``. The
``tissue`` family is the one most like real tissue labels (a thin, folded grey-matter ribbon
on T1), so it is trained on rather than held out: the held-out ``tubes`` share its thinness
but not its topology (curves, not sheets), so a learner that passes on them has learned thin
structures, not one shape. :data:`DOMAIN_RANDOMISATION` adds both polarities, per-case
contrast / noise / bias / blur / texture and thick slices.

How a case is made (all vectorised numpy / scipy.ndimage; loops only over parts, branches and
nodules):

1. A brain-shaped ellipsoid fills the box (empty corners, like a brain bounding-box crop).
2. The object of the family (``lesion`` below, the others in :mod:`segenv.data._shapes`),
   inside the brain and at least ``min(3, n // 6)`` voxels from every border.
3. Tissue: white/grey-matter-like classes plus several octaves of smooth random texture;
   "anatomy": dark mirrored ventricle-like blobs, dark sulci near the brain edge, thin bright
   vessel-like tubes and, at high difficulty, "mimic" blobs with the object's intensity.
   ``tissue`` replaces the cortex and sulci with its own ribbon and CSF layer, ``tubes`` drops
   the anatomy's vessels and ``organ`` uses its touching neighbours as the mimics.
4. The lesion: per part, a union of a few overlapping ellipsoids (lobes) whose normalised
   distance field is perturbed by smooth noise and thresholded at the quantile that gives the
   requested volume; the largest connected component is kept. Parts live in disjoint regions
   at least two voxels apart, so ``num_parts`` parts are ``num_parts`` connected components.
   Its intensity has a bright rim, a darker necrotic-like core and a faint halo outside.
5. Acquisition: a smooth multiplicative bias field, Gaussian partial-volume blur (more along
   D with ``slice_thickness``), Rician noise, then z-normalisation of each channel over the
   volume → float32.

All intensities are in units of the tissue standard deviation ``σ_t`` around the tissue mean,
so ``contrast=3`` puts the object 3 σ_t above the tissue (below it with ``polarity="dark"``),
and ``noise=1`` adds noise of std σ_t. ``polarity``, ``randomise``, ``slice_thickness`` and the
choice among several families are drawn from a side stream of the seed (a jumped copy of the
generator), so they never change the object's geometry: the same seed gives the same label
whatever their values, and a case drawn from a mixture equals the case of the family it drew.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np
from scipy import ndimage

from segenv.data import _shapes
from segenv.data._geometry import (
    Brain,
    ObjectMaps,
    active_axes,
    axis_coordinates,
    border_margins,
    draw_brain,
    ellipsoid_distance,
    euclidean_distance,
    fill_holes,
    largest_component,
    smooth_field,
    smoothstep,
    top_fraction,
    unit_ball_volume,
)
from segenv.data.case import DEFAULT_SHAPE, Case, make_case
from segenv.errors import ConfigError, InputTypeError, describe

__all__ = [
    "DOMAIN_RANDOMISATION",
    "FAMILIES",
    "HELD_OUT_FAMILIES",
    "POLARITIES",
    "TRAINING_FAMILIES",
    "SyntheticSource",
    "SyntheticSplits",
    "make_synthetic_case",
    "synthetic_splits",
]

DEFAULT_OBJECT_SIZE_RANGE: tuple[float, float] = (0.03, 0.08)
"""Default ``object_size`` of ``lesion``, drawn uniformly from this range (fraction)."""

DIFFICULTY_RANGES: dict[str, tuple[float, float]] = {
    "contrast": (6.0, 2.8),
    "noise": (0.2, 0.8),
    "bias_field": (0.03, 0.33),
    "blur": (0.5, 1.5),
}
"""Default knob values at difficulty 0 and at difficulty 1 (linear in between); ``contrast``
is the ``lesion`` family's (the others' are in the module docstring's table)."""

FAMILIES: tuple[str, ...] = ("lesion", "tissue", "tubes", "organ", "metastases")
"""Every object family, in the order of the module docstring's table."""

TRAINING_FAMILIES: tuple[str, ...] = ("lesion", "tissue", "organ", "metastases")
"""The default training mix (``family="mixed"``): every family but the held-out ones."""

HELD_OUT_FAMILIES: tuple[str, ...] = ("tubes",)
"""Families never in :data:`TRAINING_FAMILIES`: test on them for shape generalisation."""

POLARITIES: tuple[str, ...] = ("bright", "dark", "random")
"""Values of ``polarity`` (None: the family's natural polarity)."""

DOMAIN_RANDOMISATION: Mapping[str, Any] = MappingProxyType(
    {
        "family": "mixed",
        "polarity": "random",
        "randomise": True,
        "slice_thickness": (1.0, 3.0),
    }
)
"""Knobs of a domain-randomised training source: ``SyntheticSource(**DOMAIN_RANDOMISATION)``."""

SPLIT_STRIDE = 1_000_000
"""Seed-range stride of :func:`synthetic_splits`: train seeds and test seeds never overlap."""

_FAMILY_ALIASES: dict[str, tuple[str, ...]] = {"mixed": TRAINING_FAMILIES, "all": FAMILIES}
_TISSUE_MEAN = 1.0
_TISSUE_STD = 0.1  # σ_t of the raw (pre-normalisation) tissue signal
_PART_GAP = 2.0  # minimal Euclidean distance in voxels between two lesion parts
_MIN_EXTENT = 8  # the two largest axes must have at least this many voxels
_MAX_MODALITIES = 16
_MAX_SLICE_THICKNESS = 10.0
_PLACEMENT_TRIES = 128
_RANDOMISED_SPREAD = 0.35  # randomise: each knob's own difficulty is d ± this (clipped)
_KNOB_NAMES = (
    "contrast",
    "noise",
    "bias_field",
    "blur",
    "object_size",
    "num_parts",
    "num_modalities",
    "spacing",
    "name",
    "polarity",
    "slice_thickness",
    "randomise",
)


@dataclass(frozen=True)
class _Family:
    """What differs between families apart from the geometry (see the module table)."""

    name: str
    dark: bool  # natural polarity: hypo-intense
    contrast: tuple[float, float]  # default contrast at difficulty 0 and 1
    object_size: tuple[float, float] | None  # default range; None: the knob does not apply
    max_object_size: float
    parts: tuple[int, int] | None  # default range of num_parts; None: the knob does not apply
    max_parts: int
    necrosis: float  # core darkening per unit difficulty (fraction of the contrast)
    rim: float  # rim brightening per unit difficulty
    halo: float  # halo per unit difficulty
    mimics: float  # brain fraction of object-like blobs per unit difficulty


_NO_LESION_PROFILE = {"necrosis": 0.0, "rim": 0.0, "halo": 0.0, "mimics": 0.0}
_FAMILY_TABLE: dict[str, _Family] = {
    family.name: family
    for family in (
        _Family(
            "lesion",
            dark=False,
            contrast=DIFFICULTY_RANGES["contrast"],
            object_size=DEFAULT_OBJECT_SIZE_RANGE,
            max_object_size=0.25,
            parts=(1, 3),
            max_parts=6,
            necrosis=1.3,
            rim=0.4,
            halo=0.4,
            mimics=0.05,
        ),
        _Family(
            "tissue",
            dark=True,
            contrast=(5.0, 2.2),
            object_size=None,
            max_object_size=0.0,
            parts=None,
            max_parts=0,
            **_NO_LESION_PROFILE,
        ),
        _Family(
            "tubes",
            dark=False,
            contrast=(8.0, 4.0),
            object_size=None,
            max_object_size=0.0,
            parts=None,
            max_parts=0,
            necrosis=0.0,
            rim=0.0,
            halo=0.2,
            mimics=0.03,
        ),
        _Family(
            "organ",
            dark=False,
            contrast=(3.5, 1.2),
            object_size=(0.2, 0.4),
            max_object_size=0.45,
            parts=None,
            max_parts=0,
            **_NO_LESION_PROFILE,
        ),
        _Family(
            "metastases",
            dark=False,
            contrast=(8.0, 4.0),
            object_size=(0.005, 0.02),
            max_object_size=0.1,
            parts=(5, 30),
            max_parts=40,
            necrosis=0.8,
            rim=0.6,
            halo=0.3,
            mimics=0.02,
        ),
    )
}


# --------------------------------------------------------------------------- knobs


@dataclass(frozen=True)
class _Knobs:
    """Every generation parameter, resolved from the difficulty and explicit overrides."""

    difficulty: float
    contrast: float  # signed: < 0 for a dark (hypo-intense) object
    noise: float
    bias_field: float
    blur: float
    object_size: float
    num_parts: int
    num_parts_given: bool  # explicit: fail if they do not fit; default: drop those that do not
    roughness: float  # amplitude of the surface perturbation (units of the part radius)
    max_extra_lobes: int  # lobes per part: 1 + Binomial(max_extra_lobes, difficulty)
    necrosis: float  # how much darker the core is (fraction of the contrast)
    rim: float  # how much brighter the rim is (fraction of the contrast)
    halo: float  # brightness of the halo just outside the lesion (fraction of the contrast)
    halo_width: float  # halo decay length in voxels
    mimic_fraction: float  # fraction of the brain covered by lesion-like blobs
    family: str = "lesion"
    slice_thickness: float = 1.0  # along D, in units of the in-plane voxel size
    texture_gain: float = 1.0  # tissue texture amplitude relative to grey/white contrast
    texture_scale: float = 1.0  # tissue texture length scale
    grey_white: float = 1.0  # grey/white matter contrast


@dataclass(frozen=True)
class _Variation:
    """Per-case draws from the side stream: they never move the geometry's draws."""

    family: str
    sign: float  # +1 bright, -1 dark
    slice_thickness: float
    knob_difficulty: dict[str, float]  # each knob's own difficulty (all d unless randomised)
    texture_gain: float
    texture_scale: float
    grey_white: float


_SIDE_DRAWS = 10  # uniforms drawn from the side stream per case, whatever is used


def _side_stream(rng: np.random.Generator) -> np.random.Generator:
    """An independent generator derived from ``rng`` without advancing it.

    A jumped copy of the bit generator (PCG64, the default, and the other numpy generators
    with ``jumped``); for a bit generator without it, one draw from ``rng`` seeds it.
    """
    jumped = getattr(rng.bit_generator, "jumped", None)
    if jumped is not None:
        return np.random.Generator(jumped())
    return np.random.default_rng(int(rng.integers(2**63)))


def _draw_variation(args: _Arguments, side: np.random.Generator) -> _Variation:
    """Family, polarity, slice thickness and randomised knobs of one case."""
    u = side.random(_SIDE_DRAWS)
    family = args.families[min(int(u[0] * len(args.families)), len(args.families) - 1)]
    polarity = args.polarity
    if polarity is None:
        polarity = "dark" if _FAMILY_TABLE[family].dark else "bright"
    elif polarity == "random":
        polarity = "dark" if u[1] < 0.5 else "bright"
    low, high = args.slice_thickness or (1.0, 1.0)
    d = args.difficulty
    knob_difficulty = dict.fromkeys(("contrast", "noise", "bias_field", "blur"), d)
    texture_gain = texture_scale = grey_white = 1.0
    if args.randomise:
        for index, knob in enumerate(knob_difficulty, start=3):
            jitter = _RANDOMISED_SPREAD * (2.0 * float(u[index]) - 1.0)
            knob_difficulty[knob] = min(max(d + jitter, 0.0), 1.0)
        texture_gain = 2.0 ** (2.0 * float(u[7]) - 1.0)  # 0.5 to 2
        texture_scale = 0.6 + 1.0 * float(u[8])  # 0.6 to 1.6
        grey_white = 0.3 + 1.4 * float(u[9])  # 0.3 to 1.7
    return _Variation(
        family=family,
        sign=-1.0 if polarity == "dark" else 1.0,
        slice_thickness=low + (high - low) * float(u[2]),
        knob_difficulty=knob_difficulty,
        texture_gain=texture_gain,
        texture_scale=texture_scale,
        grey_white=grey_white,
    )


def _by_difficulty(knob: str, difficulty: float) -> float:
    """Interpolate the default of ``knob`` linearly between its values at d = 0 and d = 1."""
    easy, hard = DIFFICULTY_RANGES[knob]
    return easy + (hard - easy) * difficulty


def _resolve_knobs(args: _Arguments, variation: _Variation, rng: np.random.Generator) -> _Knobs:
    """Difficulty-driven defaults, overridden by explicit knobs.

    The random defaults are always drawn, so an explicit knob never shifts the other draws:
    the same seed with a different ``contrast`` gives the same geometry.
    """
    d = args.difficulty
    spec = _FAMILY_TABLE[variation.family]
    if spec.name == "lesion":
        drawn_size = float(rng.uniform(*DEFAULT_OBJECT_SIZE_RANGE))
        drawn_parts = 1 + int(rng.binomial(2, 0.3 * d))
    else:
        drawn_size = float(rng.uniform(*spec.object_size)) if spec.object_size else 0.0
        drawn_parts = int(rng.integers(spec.parts[0], spec.parts[1] + 1)) if spec.parts else 1
    necrosis_scale = float(rng.uniform(0.6, 1.0))
    at = variation.knob_difficulty
    easy, hard = spec.contrast
    contrast = easy + (hard - easy) * at["contrast"] if args.contrast is None else args.contrast
    return _Knobs(
        difficulty=d,
        contrast=variation.sign * contrast,
        noise=_by_difficulty("noise", at["noise"]) if args.noise is None else args.noise,
        bias_field=_by_difficulty("bias_field", at["bias_field"])
        if args.bias_field is None
        else args.bias_field,
        blur=_by_difficulty("blur", at["blur"]) if args.blur is None else args.blur,
        object_size=drawn_size if args.object_size is None else args.object_size,
        num_parts=drawn_parts if args.num_parts is None else args.num_parts,
        num_parts_given=args.num_parts is not None,
        roughness=0.04 + 0.26 * d,
        max_extra_lobes=4,
        necrosis=spec.necrosis * d * necrosis_scale,
        rim=spec.rim * d,
        halo=spec.halo * d,
        halo_width=1.0 + 2.0 * d,
        mimic_fraction=spec.mimics * d,
        family=spec.name,
        slice_thickness=variation.slice_thickness,
        texture_gain=variation.texture_gain,
        texture_scale=variation.texture_scale,
        grey_white=variation.grey_white,
    )


# --------------------------------------------------------------------------- validation


def _check_real(
    name: str,
    value: object,
    *,
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> float:
    """``value`` as a float within the interval, or a clear InputTypeError / ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{name} must be a real number, got {describe(value)}")
    number = float(value)
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if not math.isfinite(number) or too_low or too_high:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ConfigError(f"{name} must be in {interval}, got {value!r}{hint}")
    return number


def _check_int(name: str, value: object, *, low: int, high: int, hint: str = "") -> int:
    """``value`` as an int in ``[low, high]``, or a clear InputTypeError / ConfigError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputTypeError(f"{name} must be an integer, got {describe(value)}")
    if not low <= int(value) <= high:
        raise ConfigError(f"{name} must be an integer in [{low}, {high}], got {value!r}{hint}")
    return int(value)


def _check_shape(shape: object) -> tuple[int, int, int]:
    """Validate ``(D, H, W)``: three positive ints, the two largest at least ``_MIN_EXTENT``."""
    fix = "; pass three positive ints (D, H, W), e.g. (30, 55, 55) or (1, 64, 64) for 2D"
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence) or len(shape) != 3:
        raise ConfigError(f"shape must be a sequence of 3 ints, got {describe(shape)}{fix}")
    if any(isinstance(n, bool) or not isinstance(n, numbers.Integral) for n in shape):
        raise ConfigError(f"shape must contain ints, got {shape!r}{fix}")
    dims = tuple(int(n) for n in shape)
    if min(dims) < 1:
        raise ConfigError(f"shape must be positive, got {shape!r}{fix}")
    if sorted(dims)[1] < _MIN_EXTENT:
        raise ConfigError(
            f"shape {dims!r} is too small: the two largest axes need at least {_MIN_EXTENT} "
            "voxels to hold a lesion inside a margin; enlarge the volume"
        )
    return dims  # type: ignore[return-value]


def _check_spacing(spacing: object) -> tuple[float, float, float]:
    """Three positive finite voxel sizes in mm."""
    fix = "; pass three positive numbers (mm along D, H, W), e.g. (1.0, 1.0, 1.0)"
    if isinstance(spacing, (str, bytes)) or not isinstance(spacing, Sequence) or len(spacing) != 3:
        raise ConfigError(f"spacing must be 3 numbers, got {describe(spacing)}{fix}")
    values = []
    for s in spacing:
        if isinstance(s, bool) or not isinstance(s, numbers.Real):
            raise ConfigError(f"spacing must contain numbers, got {spacing!r}{fix}")
        if not (math.isfinite(float(s)) and float(s) > 0):
            raise ConfigError(f"spacing must be positive and finite, got {spacing!r}{fix}")
        values.append(float(s))
    return (values[0], values[1], values[2])


def _check_families(family: object) -> tuple[str, ...]:
    """Family names (aliases expanded, repeats kept as weights), or a clear error."""
    choices = f"choose from {', '.join(map(repr, FAMILIES))}, 'mixed' or 'all'"
    if isinstance(family, str):
        names: list[object] = [family]
    elif isinstance(family, Sequence) and not isinstance(family, bytes):
        names = list(family)
        if not names:
            raise ConfigError(f"family must name at least one family, got {family!r}; {choices}")
    else:
        raise InputTypeError(
            f"family must be a name or a sequence of names, got {describe(family)}; {choices}"
        )
    families: list[str] = []
    for name in names:
        if not isinstance(name, str):
            raise InputTypeError(f"family names must be str, got {describe(name)}; {choices}")
        if name in _FAMILY_ALIASES:
            families.extend(_FAMILY_ALIASES[name])
        elif name in _FAMILY_TABLE:
            families.append(name)
        else:
            close = difflib.get_close_matches(name, [*FAMILIES, *_FAMILY_ALIASES], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown family {name!r}{hint}; {choices}")
    return tuple(families)


def _check_polarity(polarity: object) -> str | None:
    """None or one of :data:`POLARITIES`."""
    if polarity is None:
        return None
    if not isinstance(polarity, str):
        raise InputTypeError(f"polarity must be None or a str, got {describe(polarity)}")
    if polarity not in POLARITIES:
        raise ConfigError(
            f"unknown polarity {polarity!r}; choose from {', '.join(map(repr, POLARITIES))} "
            "or None (each family's natural polarity)"
        )
    return polarity


def _check_slice_thickness(value: object) -> tuple[float, float] | None:
    """None, one thickness in ``[1, 10]`` or a range ``(low, high)`` to draw it from."""
    if value is None:
        return None
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        if len(value) != 2:
            raise ConfigError(
                f"slice_thickness must be a number or a (low, high) pair, got {value!r}; "
                "e.g. 2.0 or (1.0, 3.0)"
            )
        low, high = (
            _check_real("slice_thickness", v, low=1.0, high=_MAX_SLICE_THICKNESS) for v in value
        )
        if low > high:
            raise ConfigError(f"slice_thickness range must have low <= high, got {value!r}")
        return (low, high)
    thickness = _check_real(
        "slice_thickness",
        value,
        low=1.0,
        high=_MAX_SLICE_THICKNESS,
        hint=" (times the in-plane voxel size; 1 = isotropic)",
    )
    return (thickness, thickness)


def _check_family_knob(
    knob: str, value: object, families: tuple[str, ...], limit: str
) -> list[_Family]:
    """The specs of ``families``, or a ConfigError if ``knob`` does not apply to one of them."""
    specs = [_FAMILY_TABLE[f] for f in dict.fromkeys(families)]
    if value is not None:
        unsupported = [s.name for s in specs if getattr(s, limit) == 0]
        if unsupported:
            supported = [s.name for s in _FAMILY_TABLE.values() if getattr(s, limit) != 0]
            raise ConfigError(
                f"{knob}={value!r} does not apply to family {', '.join(unsupported)}; leave it "
                f"None, or use only {', '.join(supported)}"
            )
    return specs


@dataclass(frozen=True)
class _Arguments:
    """Validated arguments of :func:`make_synthetic_case` (everything except ``rng``)."""

    shape: tuple[int, int, int]
    difficulty: float
    contrast: float | None
    noise: float | None
    bias_field: float | None
    blur: float | None
    object_size: float | None
    num_parts: int | None
    num_modalities: int
    spacing: tuple[float, float, float]
    name: str | None
    families: tuple[str, ...] = ("lesion",)
    polarity: str | None = None
    slice_thickness: tuple[float, float] | None = None
    randomise: bool = False


def _check_arguments(
    shape: object,
    difficulty: object,
    *,
    family: object = "lesion",
    contrast: object = None,
    noise: object = None,
    bias_field: object = None,
    blur: object = None,
    object_size: object = None,
    num_parts: object = None,
    num_modalities: object = 1,
    spacing: object = (1.0, 1.0, 1.0),
    name: object = None,
    polarity: object = None,
    slice_thickness: object = None,
    randomise: object = False,
) -> _Arguments:
    """Validate every knob, with messages naming the knob, the value and the fix."""

    def optional_real(knob: str, value: object, **limits: Any) -> float | None:
        return None if value is None else _check_real(knob, value, **limits)

    if name is not None and not isinstance(name, str):
        raise InputTypeError(f"name must be a str, got {describe(name)}")
    if not isinstance(randomise, (bool, np.bool_)):
        raise InputTypeError(f"randomise must be True or False, got {describe(randomise)}")
    families = _check_families(family)
    sized = _check_family_knob("object_size", object_size, families, "max_object_size")
    parted = _check_family_knob("num_parts", num_parts, families, "max_parts")
    return _Arguments(
        shape=_check_shape(shape),
        difficulty=_check_real("difficulty", difficulty, low=0.0, high=1.0),
        contrast=optional_real("contrast", contrast, low=0.0, high=50.0),
        noise=optional_real("noise", noise, low=0.0, high=50.0),
        bias_field=optional_real("bias_field", bias_field, low=0.0, high=3.0),
        blur=optional_real("blur", blur, low=0.0, high=20.0),
        object_size=optional_real(
            "object_size",
            object_size,
            low=0.0,
            high=min(s.max_object_size for s in sized),
            low_open=True,
            hint=" (a fraction of the volume, e.g. 0.05)",
        ),
        num_parts=None
        if num_parts is None
        else _check_int("num_parts", num_parts, low=1, high=min(s.max_parts for s in parted)),
        num_modalities=_check_int("num_modalities", num_modalities, low=1, high=_MAX_MODALITIES),
        spacing=_check_spacing(spacing),
        name=name,
        families=families,
        polarity=_check_polarity(polarity),
        slice_thickness=_check_slice_thickness(slice_thickness),
        randomise=bool(randomise),
    )


def _case_name(args: _Arguments, family: str, seed: int | None) -> str:
    """``synthetic[-family][-seed]``: today's names for ``lesion``, the family otherwise."""
    if seed is None and args.name is not None:
        return args.name
    parts = [args.name or "synthetic"]
    if family != "lesion":
        parts.append(family)
    if seed is not None:
        parts.append(str(seed))
    return "-".join(parts)


# --------------------------------------------------------------------------- lesion


def _part_radii(
    shape: tuple[int, int, int], knobs: _Knobs, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Target voxel counts and equivalent-ball radii of the parts, largest first."""
    weights = np.sort(rng.uniform(0.5, 1.0, size=knobs.num_parts))[::-1]
    volumes = np.maximum(1.0, knobs.object_size * math.prod(shape) * weights / weights.sum())
    dims = int(active_axes(shape).sum())
    radii = (volumes / unit_ball_volume(dims)) ** (1.0 / dims)
    return volumes, np.maximum(radii, 0.5)


def _place_parts(
    shape: tuple[int, int, int], radii: np.ndarray, brain: Brain, rng: np.random.Generator
) -> np.ndarray:
    """Part centres inside the margins and the brain, far enough apart not to touch.

    Each part tries ``_PLACEMENT_TRIES`` random candidates (vectorised) and takes the first
    that keeps ``1.2 (R_p + R_q) + gap`` from the parts already placed; failing that, the one
    with the largest slack, as long as its own centre stays in its own Voronoi region. Stops
    at the first part that cannot be placed, so fewer centres than radii may come back (the
    first part always fits).
    """
    dims = np.array(shape, dtype=np.float64)
    margins = border_margins(shape)
    centres: list[np.ndarray] = []
    for index, radius in enumerate(radii):
        half_room = np.maximum((dims - 1 - 2 * margins) / 2, 0.0)
        inset = margins + np.minimum(radius, half_room)
        candidates = rng.uniform(inset, dims - 1 - inset, size=(_PLACEMENT_TRIES, 3))
        inside = brain.radius_at(candidates) <= max(0.35, 0.8 - radius / brain.semi_axes.max())
        slack = np.full(_PLACEMENT_TRIES, np.inf)
        minimal = np.full(_PLACEMENT_TRIES, np.inf)
        for other, other_radius in zip(centres, radii[:index], strict=True):
            distance = np.linalg.norm(candidates - other, axis=1)
            slack = np.minimum(slack, distance - 1.2 * (radius + other_radius) - _PART_GAP)
            minimal = np.minimum(minimal, distance - abs(radius - other_radius) - _PART_GAP - 1)
        score = np.where(inside, slack, slack - 1e6)
        best = int(np.argmax(np.where(score >= 0, np.inf, score)))
        if minimal[best] < 0:
            break
        centres.append(candidates[best])
    return np.array(centres)


def _draw_lobes(
    centre: np.ndarray, radius: float, knobs: _Knobs, active: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Centres and semi-axes ``(L, 3)`` of the overlapping ellipsoids that make one part."""
    count = 1 + int(rng.binomial(knobs.max_extra_lobes, knobs.difficulty))
    directions = rng.standard_normal((count, 3)) * active
    directions /= np.maximum(np.linalg.norm(directions, axis=1, keepdims=True), 1e-9)
    offsets = rng.uniform(0.4, 0.8, size=(count, 1)) * radius
    offsets[0] = 0.0
    scales = rng.uniform(0.45, 0.75, size=(count, 1))
    scales[0] = 1.0
    aspects = np.exp(rng.normal(0.0, 0.15 + 0.15 * knobs.difficulty, size=(count, 3)))
    return centre + offsets * directions, np.maximum(radius * scales * aspects, 0.5)


def _part_box(
    shape: tuple[int, int, int], centre: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return the crop ``[lo, hi)`` a part may occupy: ±3 radii around it, inside the margins."""
    dims = np.array(shape)
    margins = border_margins(shape)
    lo = np.maximum(margins, np.floor(centre - 3 * radius).astype(int))
    hi = np.minimum(dims - margins, np.ceil(centre + 3 * radius).astype(int) + 1)
    return lo, np.maximum(hi, lo + 1)


def _make_lesion(
    shape: tuple[int, int, int], knobs: _Knobs, brain: Brain, rng: np.random.Generator
) -> ObjectMaps:
    """Lobulated, noise-perturbed parts thresholded to the requested volume."""
    active = active_axes(shape)
    volumes, radii = _part_radii(shape, knobs, rng)
    centres = _place_parts(shape, radii, brain, rng)
    if len(centres) < len(radii):
        if knobs.num_parts_given:
            raise ConfigError(
                f"num_parts={len(radii)} lesion parts of object_size={knobs.object_size:g} do "
                f"not fit apart in shape {shape}; lower num_parts or object_size, or enlarge "
                "the volume"
            )
        volumes, radii = volumes[: len(centres)], radii[: len(centres)]
    surface_noise = smooth_field(shape, max(1.0, 0.3 * float(radii.mean())), rng)
    label = np.zeros(shape, dtype=bool)
    depth = np.full(shape, -np.inf, dtype=np.float32)
    relative_depth = np.zeros(shape, dtype=np.float32)
    for part, (centre, radius, volume) in enumerate(zip(centres, radii, volumes, strict=True)):
        lobe_centres, lobe_axes = _draw_lobes(centre, float(radius), knobs, active, rng)
        lo, hi = _part_box(shape, centre, float(radius))
        crop = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        coords = axis_coordinates(shape, lo.tolist(), hi.tolist())
        distance = np.min(
            [
                ellipsoid_distance(coords, c, a, active)
                for c, a in zip(lobe_centres, lobe_axes, strict=True)
            ],
            axis=0,
        )
        field = knobs.roughness * surface_noise[crop] - distance
        region = _own_region(coords, part, centres, radii, field.shape)
        values = field[region]
        count = int(min(max(1, round(volume)), values.size))
        threshold = float(np.partition(values, values.size - count)[values.size - count])
        mask = fill_holes((field >= threshold) & region) & region
        mask = largest_component(mask)
        peak = max(float(field[mask].max()) - threshold, 1e-6)
        part_depth = np.where(region, (field - threshold) * radius, -np.inf)
        label[crop] |= mask
        depth[crop] = np.maximum(depth[crop], part_depth)
        relative_depth[crop] = np.where(
            mask, np.clip((field - threshold) / peak, 0.0, 1.0), relative_depth[crop]
        )
    depth = np.where(label, np.maximum(depth, 0.5), np.minimum(depth, 0.0))
    return ObjectMaps(label=label, depth=depth.astype(np.float32), relative_depth=relative_depth)


def _own_region(
    coords: Sequence[np.ndarray],
    part: int,
    centres: np.ndarray,
    radii: np.ndarray,
    box_shape: tuple[int, ...],
) -> np.ndarray:
    """Additively weighted Voronoi cell of ``part`` shrunk by ``_PART_GAP``.

    ``(d_q - R_q) - (d_p - R_p) ≥ gap`` for every other part q: by the triangle inequality two
    such cells are at least ``gap`` apart, so parts can never touch, even diagonally.
    """
    region = np.ones(box_shape, dtype=bool)
    if len(centres) == 1:
        return region
    own = euclidean_distance(coords, centres[part]) - radii[part]
    for other in range(len(centres)):
        if other != part:
            region &= euclidean_distance(coords, centres[other]) - radii[other] - own >= _PART_GAP
    return region


# --------------------------------------------------------------------------- anatomy


@dataclass(frozen=True)
class _Anatomy:
    """Modality-independent tissue maps."""

    brain: np.ndarray  # bool
    grey_matter: np.ndarray  # float32 in [-1, 1]: +1 grey-like, -1 white-like
    texture: np.ndarray  # float32, unit std, several octaves
    csf: np.ndarray  # float32 in [0, 1]: CSF fraction (ventricles and sulci)
    vessels: np.ndarray  # bool
    mimics: np.ndarray  # bool: lesion-like blobs away from the lesion
    mimic_level: float  # mimic brightness as a fraction of the lesion's
    ventricles: np.ndarray  # float32 in [0, 1]: CSF fraction of the ventricles alone
    nuclei: np.ndarray  # float32 unit field whose high values are the deep grey nuclei


def _texture(shape: tuple[int, int, int], scale: float, rng: np.random.Generator) -> np.ndarray:
    """Several octaves of smooth noise (fine to coarse), unit std."""
    octaves = [(0.012, 0.45), (0.03, 0.55), (0.08, 0.7)]
    total = np.zeros(shape, dtype=np.float32)
    for fraction, weight in octaves:
        total += weight * smooth_field(shape, max(0.6, fraction * scale), rng)
    return total / float(np.std(total))


def _grey_matter(brain_radius: np.ndarray, folds: np.ndarray, nuclei: np.ndarray) -> np.ndarray:
    """+1 for grey-like, -1 for white-like tissue: a folded cortical ribbon and deep nuclei."""
    cortex = smoothstep((brain_radius - 0.68) / 0.12)
    cortical = np.maximum(1.0 - np.abs(folds) / 0.9, smoothstep((brain_radius - 0.9) / 0.06))
    deep = smoothstep((nuclei - 1.0) / 0.6)
    return (2.0 * (cortex * cortical + (1.0 - cortex) * deep) - 1.0).astype(np.float32)


def _ventricles(
    coords: Sequence[np.ndarray],
    brain: Brain,
    brain_radius: np.ndarray,
    wobble: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """CSF fraction of two mirrored, elongated blobs beside the midline (lateral ventricles)."""
    dims = brain.centre * 2 + 1
    semi = np.maximum(dims * np.array([0.28, 0.2, 0.05]) * rng.uniform(0.7, 1.2), 0.6)
    centre = brain.centre + rng.uniform(-0.05, 0.05, size=3) * dims
    spread = np.array([0.0, 0.0, rng.uniform(0.05, 0.08) * dims[2]])
    distance = np.minimum(
        ellipsoid_distance(coords, centre - spread, semi, brain.active),
        ellipsoid_distance(coords, centre + spread, semi, brain.active),
    )
    return smoothstep((1.0 - distance - wobble) / 0.2) * (brain_radius < 0.8)


def _sulci(folds: np.ndarray, brain_radius: np.ndarray) -> np.ndarray:
    """CSF fraction of soft dark lines along the folds of the outer cortex."""
    return (1.0 - smoothstep(np.abs(folds) / 0.4)) * smoothstep((brain_radius - 0.72) / 0.1)


def _vessels(
    shape: tuple[int, int, int], sigma: float, allowed: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Thin tubes: where ``k - 1`` smooth fields are all near zero (k = non-singleton axes)."""
    vessels = allowed.copy()
    for _ in range(int(active_axes(shape).sum()) - 1):
        vessels &= np.abs(smooth_field(shape, sigma, rng)) < 0.08
    return vessels


def _make_anatomy(
    shape: tuple[int, int, int],
    knobs: _Knobs,
    brain: Brain,
    lesion: ObjectMaps,
    rng: np.random.Generator,
) -> _Anatomy:
    """Brain outline, grey/white matter, texture, ventricles, sulci, vessels and mimics."""
    scale = float(max(shape))
    coords = axis_coordinates(shape)
    large = smooth_field(shape, 0.12 * scale, rng)
    brain_radius = ellipsoid_distance(coords, brain.centre, brain.semi_axes, brain.active)
    brain_radius = brain_radius + 0.04 * large
    in_brain = (brain_radius <= 1.0) | (lesion.depth > -2.0)
    folds = smooth_field(shape, 0.03 * scale, rng)
    nuclei = smooth_field(shape, 0.05 * scale, rng)
    texture = _texture(shape, scale * knobs.texture_scale, rng)
    ventricles = _ventricles(coords, brain, brain_radius, 0.25 * large, rng)
    csf = np.maximum(ventricles, _sulci(folds, brain_radius)) * in_brain
    vessels = _vessels(shape, 0.05 * scale, in_brain & (csf < 0.5) & (large > -0.3), rng)
    free = in_brain & (csf < 0.1) & (lesion.depth < -3.0) & (brain_radius < 0.95)
    mimic_count = round(knobs.mimic_fraction * int(in_brain.sum()))
    return _Anatomy(
        brain=in_brain,
        grey_matter=_grey_matter(brain_radius, folds, nuclei),
        texture=texture.astype(np.float32),
        csf=csf.astype(np.float32),
        vessels=vessels,
        mimics=top_fraction(-nuclei, free, mimic_count),  # away from the deep nuclei
        mimic_level=float(rng.uniform(0.75, 1.0)),
        ventricles=(ventricles * in_brain).astype(np.float32),
        nuclei=nuclei,
    )


def _make_object(
    shape: tuple[int, int, int], knobs: _Knobs, brain: Brain, rng: np.random.Generator
) -> tuple[ObjectMaps, _Anatomy]:
    """The object of ``knobs.family`` and the anatomy around it (see the module table)."""
    d = knobs.difficulty
    if knobs.family == "lesion":
        lesion = _make_lesion(shape, knobs, brain, rng)
        return lesion, _make_anatomy(shape, knobs, brain, lesion, rng)
    if knobs.family == "tissue":
        ribbon, layer = _shapes.tissue_band(shape, brain, rng, difficulty=d)
        anatomy = _make_anatomy(shape, knobs, brain, ribbon, rng)
        deep_grey = 2.0 * smoothstep((anatomy.nuclei - 1.0) / 0.6) - 1.0  # no cortex, no sulci
        csf = np.maximum(anatomy.ventricles, layer * anatomy.brain)
        return ribbon, dataclasses.replace(
            anatomy, grey_matter=deep_grey.astype(np.float32), csf=csf.astype(np.float32)
        )
    if knobs.family == "tubes":
        tubes = _shapes.tube_tree(shape, brain, rng, difficulty=d)
        anatomy = _make_anatomy(shape, knobs, brain, tubes, rng)
        return tubes, dataclasses.replace(anatomy, vessels=np.zeros(shape, dtype=bool))
    if knobs.family == "organ":
        organ, neighbours = _shapes.organ(
            shape, brain, rng, object_size=knobs.object_size, difficulty=d
        )
        anatomy = _make_anatomy(shape, knobs, brain, organ, rng)
        level = 0.3 + 0.5 * d  # the neighbours' level, as a fraction of the organ's
        return organ, dataclasses.replace(anatomy, mimics=neighbours, mimic_level=level)
    nodules = _shapes.metastases(
        shape,
        brain,
        rng,
        object_size=knobs.object_size,
        count=knobs.num_parts,
        exact=knobs.num_parts_given,
        difficulty=d,
    )
    if nodules is None:
        raise ConfigError(
            f"num_parts={knobs.num_parts} metastases of object_size={knobs.object_size:g} do "
            f"not fit apart in shape {shape}; lower num_parts or object_size, or enlarge the "
            "volume"
        )
    return nodules, _make_anatomy(shape, knobs, brain, nodules, rng)


# --------------------------------------------------------------------------- modalities


@dataclass(frozen=True)
class _Contrasts:
    """Intensities of one MR sequence, in units of σ_t around the tissue mean.

    Lesion terms are multiplied by the ``contrast`` knob (the first modality has ``lesion=1``,
    so ``contrast`` is exactly its lesion-versus-tissue difference).
    """

    grey_matter: float  # +: grey brighter than white
    csf: float
    vessel: float
    lesion: float  # bulk lesion level
    core: float  # necrotic-core shift (times the necrosis strength)
    rim: float  # rim shift (times the rim strength)


_SEQUENCES: tuple[_Contrasts, ...] = (
    _Contrasts(grey_matter=1.0, csf=-4.5, vessel=2.5, lesion=1.0, core=-1.0, rim=1.0),  # FLAIR
    _Contrasts(grey_matter=-1.0, csf=-5.0, vessel=0.5, lesion=-0.6, core=-0.6, rim=0.0),  # T1
    _Contrasts(grey_matter=1.0, csf=4.0, vessel=-2.5, lesion=1.0, core=0.5, rim=0.0),  # T2
    _Contrasts(grey_matter=-1.0, csf=-5.0, vessel=3.5, lesion=-0.4, core=-0.6, rim=3.0),  # T1ce
)


def _sequence(index: int, rng: np.random.Generator) -> _Contrasts:
    """FLAIR-, T1-, T2- and T1ce-like contrasts, then random mixtures of them."""
    if index < len(_SEQUENCES):
        return _SEQUENCES[index]
    weights = rng.dirichlet(np.ones(len(_SEQUENCES)))
    table = np.array([[getattr(s, f) for f in _Contrasts.__dataclass_fields__] for s in _SEQUENCES])
    return _Contrasts(*(float(v) for v in weights @ table))


def _compose(
    contrasts: _Contrasts, knobs: _Knobs, anatomy: _Anatomy, lesion: ObjectMaps
) -> np.ndarray:
    """Noise-free, bias-free intensities of one sequence (raw scale: tissue mean 1, bg 0)."""
    tissue = (
        contrasts.grey_matter * 0.9 * knobs.grey_white * anatomy.grey_matter
        + 0.8 * knobs.texture_gain * anatomy.texture
    )
    inside = anatomy.brain & (anatomy.csf < 0.1)
    reference = tissue[inside] if inside.any() else tissue.ravel()
    tissue = (tissue - reference.mean()) / max(float(reference.std()), 1e-6)
    lesion_level = knobs.contrast * contrasts.lesion
    csf_level = contrasts.csf
    if knobs.contrast < 0 and lesion_level < 0:  # dark object: CSF stays darker, as on T1
        csf_level = min(csf_level, 1.5 * lesion_level)
    fluid = csf_level + 0.4 * anatomy.texture
    units = tissue + anatomy.csf * (fluid - tissue)
    units = np.where(anatomy.vessels, contrasts.vessel, units)
    halo = np.exp(np.minimum(lesion.depth, 0.0) / knobs.halo_width) * ~lesion.label
    units = units + knobs.halo * lesion_level * halo
    units = np.where(
        anatomy.mimics, anatomy.mimic_level * lesion_level + 0.5 * anatomy.texture, units
    )
    wavy_depth = lesion.relative_depth + 0.12 * anatomy.texture
    core = smoothstep((wavy_depth - 0.35) / 0.3)
    rim = np.exp(-np.maximum(lesion.depth, 0.0) / 1.5)
    inner = (
        lesion_level
        + knobs.contrast * knobs.necrosis * contrasts.core * core
        + knobs.contrast * knobs.rim * contrasts.rim * 0.5 * rim
        + 0.5 * anatomy.texture
    )
    units = np.where(lesion.label, inner, units)
    raw = np.where(anatomy.brain, _TISSUE_MEAN + _TISSUE_STD * units, 0.0)
    return np.maximum(raw, 0.0).astype(np.float32)


def _acquire(
    raw: np.ndarray, bias: np.ndarray, knobs: _Knobs, rng: np.random.Generator
) -> np.ndarray:
    """Bias field, partial-volume blur, Rician noise and z-normalisation of one channel.

    A slice thickness ``t > 1`` widens the blur along D to ``sqrt(blur² + (t² - 1) / 4)``: the
    slab a slice integrates (a box of width ``t``, variance ``t² / 12``) plus the linear
    interpolation from slice centres ``t`` apart onto the grid (variance ``t² / 6``), less the
    voxel's own width.
    """
    shape = raw.shape
    image = raw * np.exp(knobs.bias_field * bias)
    sigmas = tuple(0.0 if n == 1 else knobs.blur for n in shape)
    if knobs.slice_thickness > 1 and shape[0] > 1:
        through = math.sqrt(knobs.blur**2 + (knobs.slice_thickness**2 - 1.0) / 4.0)
        sigmas = (through, *sigmas[1:])
    if max(sigmas) > 0:
        image = ndimage.gaussian_filter(image, sigmas, mode="nearest", truncate=3.0)
    sigma = knobs.noise * _TISSUE_STD
    real = rng.standard_normal(shape, dtype=np.float32)
    imaginary = rng.standard_normal(shape, dtype=np.float32)
    image = np.sqrt((image + sigma * real) ** 2 + (sigma * imaginary) ** 2)
    std = float(image.std())
    return ((image - image.mean()) / (std if std > 0 else 1.0)).astype(np.float32)


def _bias(shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    """Draw a smooth low-frequency field scaled to ``max |b| = 1``."""
    field = smooth_field(shape, 0.3 * max(shape), rng)
    return field / max(float(np.abs(field).max()), 1e-6)


# --------------------------------------------------------------------------- public API


def make_synthetic_case(
    shape: Sequence[int] = DEFAULT_SHAPE,
    rng: int | np.random.Generator | None = None,
    *,
    family: str | Sequence[str] = "lesion",
    difficulty: float = 0.5,
    contrast: float | None = None,
    noise: float | None = None,
    bias_field: float | None = None,
    blur: float | None = None,
    object_size: float | None = None,
    num_parts: int | None = None,
    num_modalities: int = 1,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    name: str | None = None,
    polarity: str | None = None,
    slice_thickness: float | tuple[float, float] | None = None,
    randomise: bool = False,
) -> Case:
    """Draw one brain-MRI-like case with an object of one of the families.

    ``difficulty`` ``d`` sets the defaults of the knobs left as ``None``, linearly from
    ``d = 0`` (easy: high contrast, low noise) to ``d = 1`` (hard), in every family:
    noise 0.2 → 0.8, bias_field 0.03 → 0.33, blur 0.5 → 1.5 (:data:`DIFFICULTY_RANGES`) and
    the family's contrast (the module table; ``lesion``: 6 → 2.8). It also drives what has no
    knob: for ``lesion``, ``object_size ~ U(0.03, 0.08)``, ``num_parts = 1 + Binomial(2,
    0.3 d)``, lobes per part (``1 + Binomial(4, d)``), surface roughness, a darker
    necrotic-like core and brighter rim, a faint halo outside the lesion, and lesion-like
    "mimic" blobs covering ``5 d %`` of the brain; the other families' folds, meandering,
    neighbour contrast or ring enhancement (:mod:`segenv.data._shapes`). For ``lesion``, the
    best single intensity threshold reaches a Dice of about 1.0 at ``d = 0``, 0.8 at
    ``d = 0.5`` and 0.4 at ``d = 1`` (mean over seeds at the default shape); it falls with
    ``d`` in every family.

    Args:
        shape: ``(D, H, W)``; ``D = 1`` gives a 2D case. The two largest axes need ≥ 8 voxels.
        rng: Seed or generator; the same seed gives the same case.
        family: ``"lesion"`` (default, unchanged from earlier versions), ``"tissue"``,
            ``"tubes"``, ``"organ"``, ``"metastases"``, a sequence of them (the case draws
            one), ``"mixed"`` (:data:`TRAINING_FAMILIES`) or ``"all"``.
        difficulty: In ``[0, 1]``.
        contrast: Object minus tissue mean in the first channel, in tissue stds (≥ 0; its
            sign comes from ``polarity``).
        noise: Rician noise std, in tissue stds (≥ 0).
        bias_field: Amplitude ``a`` of the multiplicative field ``exp(a b)``, ``|b| ≤ 1``.
        blur: Partial-volume Gaussian sigma in voxels (≥ 0).
        object_size: Target object volume as a fraction of the volume: ``lesion`` in
            ``(0, 0.25]`` (default ``U(0.03, 0.08)``), ``organ`` in ``(0, 0.45]`` (default
            ``U(0.2, 0.4)``; at most 85 % of the room inside the margins), ``metastases`` in
            ``(0, 0.1]`` (all nodules together, default ``U(0.005, 0.02)``; nodules have a
            minimal radius, so tiny values give more). The actual fraction is within a few
            voxels of it or below (thin axes, the border margin and dropped fragments can
            lower it); for ``lesion`` at the default shape it is 85–100 % of it, so
            ``[0.025, 0.08]`` by default. Not for ``tissue`` and ``tubes``.
        num_parts: Number of connected parts (face connectivity): ``lesion`` 1 to 6,
            ``metastases`` 1 to 40 (default ``U{5, ..., 30}``, fewer where they do not fit).
            Not for the other families.
        num_modalities: Channels M: FLAIR-, T1-, T2-, T1ce-like, then random mixtures.
        spacing: Voxel size in mm along (D, H, W), stored on the case (``spacing[0]`` times
            the slice thickness).
        name: Name of the case; default ``"synthetic"``, ``"synthetic-<family>"`` for
            families other than ``lesion``.
        polarity: ``"bright"`` (hyper-intense object), ``"dark"`` (hypo-intense: every
            object-related level is mirrored about the tissue), ``"random"`` (either, from the
            seed), or None: the family's natural one (``tissue`` dark, the others bright).
        slice_thickness: Thickness ``t`` of the slices along D, in units of the in-plane voxel
            size, in ``[1, 10]``, or a ``(low, high)`` range to draw it from uniformly per
            case; ``spacing[0]`` is multiplied by ``t`` and the image is blurred along D
            accordingly (:func:`_acquire`). None: 1, isotropic. The geometry is still drawn
            in voxels (the same label for every ``t``), so in millimetres objects are ``t``
            times taller: what changes is what an agent meets on anisotropic data, the
            spacing its hint maps and metrics use and the through-plane blur.
        randomise: Domain randomisation: draw contrast, noise, bias field and blur each at its
            own difficulty ``d ± 0.35`` (clipped to ``[0, 1]``), and the tissue texture
            amplitude (× 0.5-2), texture scale (× 0.6-1.6) and grey/white contrast
            (× 0.3-1.7) per case. The label does not change.

    Returns:
        A :class:`Case` with a float32 ``(M, D, H, W)`` image, each channel z-normalised over
        the volume, and a bool label that is never empty and keeps ``min(3, n // 6)`` voxels
        from every border; for ``lesion`` it has exactly ``num_parts`` connected components,
        for ``metastases`` one per nodule (also under 26-connectivity).

    Raises:
        ConfigError: A knob is out of range, does not apply to a requested family, names an
            unknown family or polarity, or the parts cannot be placed apart.
        InputTypeError: A knob has the wrong type.
    """
    args = _check_arguments(
        shape,
        difficulty,
        family=family,
        contrast=contrast,
        noise=noise,
        bias_field=bias_field,
        blur=blur,
        object_size=object_size,
        num_parts=num_parts,
        num_modalities=num_modalities,
        spacing=spacing,
        name=name,
        polarity=polarity,
        slice_thickness=slice_thickness,
        randomise=randomise,
    )
    return _generate(args, np.random.default_rng(rng))


def _generate(args: _Arguments, rng: np.random.Generator, seed: int | None = None) -> Case:
    """Generate a case from validated arguments (the order of the draws is fixed).

    ``seed`` (the source's) goes into the name. The side stream is derived first and never
    advances ``rng``, so ``lesion`` cases draw exactly what they drew before families existed.
    """
    variation = _draw_variation(args, _side_stream(rng))
    knobs = _resolve_knobs(args, variation, rng)
    brain = draw_brain(args.shape, rng)
    target, anatomy = _make_object(args.shape, knobs, brain, rng)
    bias = _bias(args.shape, rng)
    channels = [
        _acquire(_compose(_sequence(m, rng), knobs, anatomy, target), bias, knobs, rng)
        for m in range(args.num_modalities)
    ]
    depth, rows, columns = args.spacing
    return make_case(
        np.stack(channels),
        target.label,
        spacing=(depth * knobs.slice_thickness, rows, columns),
        name=_case_name(args, knobs.family, seed),
    )


class SyntheticSource:
    """A deterministic, cached :class:`~segenv.data.case.CaseSource` of synthetic cases.

    Case ``i`` is ``make_synthetic_case(shape, start_seed + i, family=..., difficulty=...,
    **knobs)``, named ``f"{name}-{seed}"`` for ``lesion`` and ``f"{name}-{family}-{seed}"``
    for the other families (``name`` defaults to ``"synthetic"``), so caches keyed by case
    name never mix families. Cases are kept in a small LRU cache; their arrays are made
    read-only so a consumer cannot silently change what the next ``source[i]`` returns (copy
    before modifying in place).
    """

    def __init__(
        self,
        shape: Sequence[int] = DEFAULT_SHAPE,
        *,
        num_cases: int = 100,
        start_seed: int = 0,
        difficulty: float = 0.5,
        family: str | Sequence[str] = "lesion",
        cache_size: int = 32,
        **knobs: Any,
    ) -> None:
        """Create a source over the seeds ``start_seed, ..., start_seed + num_cases - 1``.

        Args:
            shape: ``(D, H, W)`` of every case.
            num_cases: Number of cases (≥ 1).
            start_seed: Seed of case 0 (≥ 0).
            difficulty: In ``[0, 1]``; see :func:`make_synthetic_case`.
            family: A family, a sequence of families (each case draws one from its seed),
                ``"mixed"`` or ``"all"``; see :func:`make_synthetic_case`.
            cache_size: Cases kept in memory (≥ 0; 0 disables the cache).
            **knobs: Any other keyword of :func:`make_synthetic_case` (``contrast``, ``noise``,
                ``bias_field``, ``blur``, ``object_size``, ``num_parts``, ``num_modalities``,
                ``spacing``, ``name``, ``polarity``, ``slice_thickness``, ``randomise``).
        """
        unknown = sorted(set(knobs) - set(_KNOB_NAMES))
        if unknown:
            raise ConfigError(
                f"SyntheticSource got unknown knob(s) {unknown}; valid knobs are "
                f"family, {', '.join(_KNOB_NAMES)}"
            )
        self._args = _check_arguments(shape, difficulty, family=family, **knobs)
        self.num_cases = _check_int("num_cases", num_cases, low=1, high=10**9)
        self.start_seed = _check_int("start_seed", start_seed, low=0, high=2**62)
        self.cache_size = _check_int("cache_size", cache_size, low=0, high=10**6)
        self.family = family if isinstance(family, str) else tuple(family)
        self.knobs: dict[str, Any] = dict(knobs)
        self._cache: OrderedDict[int, Case] = OrderedDict()

    @property
    def shape(self) -> tuple[int, int, int]:
        """The volume shape ``(D, H, W)`` of every case."""
        return self._args.shape

    @property
    def difficulty(self) -> float:
        """The difficulty of every case."""
        return self._args.difficulty

    @property
    def families(self) -> tuple[str, ...]:
        """The families the cases draw from (aliases expanded, repeats kept as weights)."""
        return self._args.families

    @property
    def seeds(self) -> range:
        """The seeds of the cases, in order."""
        return range(self.start_seed, self.start_seed + self.num_cases)

    @property
    def names(self) -> list[str]:
        """The cases' names, in order, without generating their volumes (``source[i].name``).

        Only the draw that picks a case's family is replayed, so a consumer can look cases up by
        name (e.g. cached probability files) cheaply.
        """
        return [self._name(seed) for seed in self.seeds]

    def __len__(self) -> int:
        """Return the number of cases."""
        return self.num_cases

    def __getitem__(self, index: int) -> Case:
        """Return the case at ``index`` (negative indices count from the end)."""
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise InputTypeError(f"SyntheticSource index must be an int, got {describe(index)}")
        position = int(index) + self.num_cases if index < 0 else int(index)
        if not 0 <= position < self.num_cases:
            raise IndexError(
                f"SyntheticSource index {index} out of range for {self.num_cases} cases"
            )
        seed = self.start_seed + position
        if seed in self._cache:
            self._cache.move_to_end(seed)
            return self._cache[seed]
        case = self._make(seed)
        if self.cache_size > 0:
            self._cache[seed] = case
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return case

    def __iter__(self) -> Iterator[Case]:
        """Iterate over the cases in order."""
        return (self[i] for i in range(self.num_cases))

    def __repr__(self) -> str:
        family = "" if self.family == "lesion" else f", family={self.family!r}"
        knobs = "".join(f", {k}={v!r}" for k, v in self.knobs.items())
        return (
            f"SyntheticSource(shape={self.shape}, num_cases={self.num_cases}, "
            f"start_seed={self.start_seed}, difficulty={self.difficulty}{family}{knobs})"
        )

    def _name(self, seed: int) -> str:
        """The name of the case of ``seed``: :func:`_generate`'s first draw, replayed."""
        side = _side_stream(np.random.default_rng(seed))
        return _case_name(self._args, _draw_variation(self._args, side).family, seed)

    def _make(self, seed: int) -> Case:
        """Generate the case of ``seed`` with read-only arrays."""
        case = _generate(self._args, np.random.default_rng(seed), seed)
        case.image.flags.writeable = False
        case.label.flags.writeable = False
        return case


class SyntheticSplits(NamedTuple):
    """Disjoint synthetic splits (IteR-MRL §4.1): ``train1``, ``train2`` and ``test``."""

    train1: SyntheticSource
    train2: SyntheticSource
    test: SyntheticSource

    @property
    def train(self) -> SyntheticSource:
        """``train1`` and ``train2`` together (their seed ranges are contiguous)."""
        first = self.train1
        return SyntheticSource(
            first.shape,
            num_cases=len(self.train1) + len(self.train2),
            start_seed=first.start_seed,
            difficulty=first.difficulty,
            family=first.family,
            cache_size=first.cache_size,
            **first.knobs,
        )


def synthetic_splits(
    shape: Sequence[int] = DEFAULT_SHAPE,
    *,
    num_train1: int = 100,
    num_train2: int = 100,
    num_test: int = 50,
    seed: int = 0,
    difficulty: float = 0.5,
    family: str | Sequence[str] = "lesion",
    test_family: str | Sequence[str] | None = None,
    cache_size: int = 32,
    **knobs: Any,
) -> SyntheticSplits:
    """Disjoint, reproducible ``train1`` / ``train2`` / ``test`` synthetic sources.

    Seeds: ``train1`` starts at ``2 * seed * SPLIT_STRIDE``, ``train2`` follows it, and
    ``test`` starts at ``(2 * seed + 1) * SPLIT_STRIDE``, so no two splits — of this ``seed``
    or of any other — share a case. Use ``.train`` for ``train1 ∪ train2``. For a Procgen-style
    generalisation test, train on some families and test on others:
    ``synthetic_splits(family="mixed", test_family=HELD_OUT_FAMILIES)``.

    Args:
        shape: ``(D, H, W)`` of every case.
        num_train1: Cases in ``train1`` (for the initial method).
        num_train2: Cases in ``train2`` (for the update method).
        num_test: Cases in ``test``.
        seed: Chooses the family of splits (≥ 0).
        difficulty: In ``[0, 1]``.
        family: Families of ``train1`` and ``train2`` (and of ``test`` unless
            ``test_family`` is given); see :func:`make_synthetic_case`.
        test_family: Families of ``test``; None: ``family``.
        cache_size: LRU cache size of each source.
        **knobs: Other keywords of :func:`make_synthetic_case`.

    Returns:
        The three sources.
    """
    seed = _check_int("seed", seed, low=0, high=10**9)
    _check_int("num_train1", num_train1, low=1, high=SPLIT_STRIDE)
    _check_int("num_train2", num_train2, low=1, high=SPLIT_STRIDE)
    _check_int("num_test", num_test, low=1, high=SPLIT_STRIDE)
    if num_train1 + num_train2 > SPLIT_STRIDE:
        raise ConfigError(
            f"num_train1 + num_train2 must be at most {SPLIT_STRIDE}, got "
            f"{num_train1 + num_train2}; use fewer training cases"
        )
    train_start = 2 * seed * SPLIT_STRIDE

    def source(num_cases: int, start_seed: int, families: str | Sequence[str]) -> SyntheticSource:
        return SyntheticSource(
            shape,
            num_cases=num_cases,
            start_seed=start_seed,
            difficulty=difficulty,
            family=families,
            cache_size=cache_size,
            **knobs,
        )

    return SyntheticSplits(
        train1=source(num_train1, train_start, family),
        train2=source(num_train2, train_start + num_train1, family),
        test=source(
            num_test, train_start + SPLIT_STRIDE, family if test_family is None else test_family
        ),
    )
