"""Procedural tumour-like cases: the embedded default data (SPEC §8).

:func:`make_synthetic_case` draws one brain-MRI-like volume with a lobulated "tumour" and its
ground truth from a seed; :class:`SyntheticSource` is a deterministic, cached
:class:`~segenv.data.case.CaseSource` over a range of seeds and :func:`synthetic_splits` gives
disjoint ``train1`` / ``train2`` / ``test`` sources over disjoint seed ranges (the style of
Procgen's ``start_level`` / ``num_levels``).

How a case is made (all vectorised numpy / scipy.ndimage):

1. A brain-shaped ellipsoid fills the box (empty corners, like a brain bounding-box crop).
2. Tissue: white/grey-matter-like classes plus several octaves of smooth random texture;
   "anatomy": dark mirrored ventricle-like blobs, dark sulci near the brain edge, thin bright
   vessel-like tubes and, at high difficulty, bright "mimic" blobs with the lesion's intensity.
3. The lesion: per part, a union of a few overlapping ellipsoids (lobes) whose normalised
   distance field is perturbed by smooth noise and thresholded at the quantile that gives the
   requested volume; the largest connected component is kept. Parts live in disjoint regions
   at least two voxels apart, so ``num_parts`` parts are ``num_parts`` connected components.
   Its intensity has a bright rim, a darker necrotic-like core and a faint halo outside.
4. Acquisition: a smooth multiplicative bias field, Gaussian partial-volume blur,
   Rician noise, then z-normalisation of each channel over the volume → float32.

All intensities are in units of the tissue standard deviation ``σ_t`` around the tissue mean,
so ``contrast=3`` puts the lesion 3 σ_t above the tissue, and ``noise=1`` adds noise of std σ_t.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import ndimage

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
from segenv.data.case import Case, make_case
from segenv.errors import ConfigError, InputTypeError, describe

__all__ = ["SyntheticSource", "SyntheticSplits", "make_synthetic_case", "synthetic_splits"]

DEFAULT_SHAPE: tuple[int, int, int] = (30, 55, 55)
"""The papers' working resolution (D, H, W) = 30 × 55 × 55."""

DEFAULT_OBJECT_SIZE_RANGE: tuple[float, float] = (0.03, 0.08)
"""Default ``object_size`` is drawn uniformly from this range (fraction of the volume)."""

DIFFICULTY_RANGES: dict[str, tuple[float, float]] = {
    "contrast": (6.0, 2.8),
    "noise": (0.2, 0.8),
    "bias_field": (0.03, 0.33),
    "blur": (0.5, 1.5),
}
"""Default knob values at difficulty 0 and at difficulty 1 (linear in between)."""

SPLIT_STRIDE = 1_000_000
"""Seed-range stride of :func:`synthetic_splits`: train seeds and test seeds never overlap."""

_TISSUE_MEAN = 1.0
_TISSUE_STD = 0.1  # σ_t of the raw (pre-normalisation) tissue signal
_PART_GAP = 2.0  # minimal Euclidean distance in voxels between two lesion parts
_MIN_EXTENT = 8  # the two largest axes must have at least this many voxels
_MAX_OBJECT_SIZE = 0.25
_MAX_PARTS = 6
_MAX_MODALITIES = 16
_PLACEMENT_TRIES = 128
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
)


# --------------------------------------------------------------------------- knobs


@dataclass(frozen=True)
class _Knobs:
    """Every generation parameter, resolved from the difficulty and explicit overrides."""

    difficulty: float
    contrast: float
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


def _by_difficulty(knob: str, difficulty: float) -> float:
    """Interpolate the default of ``knob`` linearly between its values at d = 0 and d = 1."""
    easy, hard = DIFFICULTY_RANGES[knob]
    return easy + (hard - easy) * difficulty


def _resolve_knobs(
    difficulty: float,
    rng: np.random.Generator,
    *,
    contrast: float | None,
    noise: float | None,
    bias_field: float | None,
    blur: float | None,
    object_size: float | None,
    num_parts: int | None,
) -> _Knobs:
    """Difficulty-driven defaults, overridden by explicit knobs.

    The random defaults are always drawn, so an explicit knob never shifts the other draws:
    the same seed with a different ``contrast`` gives the same geometry.
    """
    d = difficulty
    drawn_size = float(rng.uniform(*DEFAULT_OBJECT_SIZE_RANGE))
    drawn_parts = 1 + int(rng.binomial(2, 0.3 * d))
    necrosis_scale = float(rng.uniform(0.6, 1.0))
    return _Knobs(
        difficulty=d,
        contrast=_by_difficulty("contrast", d) if contrast is None else contrast,
        noise=_by_difficulty("noise", d) if noise is None else noise,
        bias_field=_by_difficulty("bias_field", d) if bias_field is None else bias_field,
        blur=_by_difficulty("blur", d) if blur is None else blur,
        object_size=drawn_size if object_size is None else object_size,
        num_parts=drawn_parts if num_parts is None else num_parts,
        num_parts_given=num_parts is not None,
        roughness=0.04 + 0.26 * d,
        max_extra_lobes=4,
        necrosis=1.3 * d * necrosis_scale,
        rim=0.4 * d,
        halo=0.4 * d,
        halo_width=1.0 + 2.0 * d,
        mimic_fraction=0.05 * d,
    )


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
    name: str


def _check_arguments(
    shape: object,
    difficulty: object,
    *,
    contrast: object = None,
    noise: object = None,
    bias_field: object = None,
    blur: object = None,
    object_size: object = None,
    num_parts: object = None,
    num_modalities: object = 1,
    spacing: object = (1.0, 1.0, 1.0),
    name: object = "synthetic",
) -> _Arguments:
    """Validate every knob, with messages naming the knob, the value and the fix."""

    def optional_real(knob: str, value: object, **limits: Any) -> float | None:
        return None if value is None else _check_real(knob, value, **limits)

    if not isinstance(name, str):
        raise InputTypeError(f"name must be a str, got {describe(name)}")
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
            high=_MAX_OBJECT_SIZE,
            low_open=True,
            hint=" (a fraction of the volume, e.g. 0.05)",
        ),
        num_parts=None
        if num_parts is None
        else _check_int("num_parts", num_parts, low=1, high=_MAX_PARTS),
        num_modalities=_check_int("num_modalities", num_modalities, low=1, high=_MAX_MODALITIES),
        spacing=_check_spacing(spacing),
        name=name,
    )


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
    texture = _texture(shape, scale, rng)
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
    )


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
    tissue = contrasts.grey_matter * 0.9 * anatomy.grey_matter + 0.8 * anatomy.texture
    inside = anatomy.brain & (anatomy.csf < 0.1)
    reference = tissue[inside] if inside.any() else tissue.ravel()
    tissue = (tissue - reference.mean()) / max(float(reference.std()), 1e-6)
    lesion_level = knobs.contrast * contrasts.lesion
    fluid = contrasts.csf + 0.4 * anatomy.texture
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
    """Bias field, partial-volume blur, Rician noise and z-normalisation of one channel."""
    shape = raw.shape
    image = raw * np.exp(knobs.bias_field * bias)
    if knobs.blur > 0:
        sigmas = tuple(0.0 if n == 1 else knobs.blur for n in shape)
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
    difficulty: float = 0.5,
    contrast: float | None = None,
    noise: float | None = None,
    bias_field: float | None = None,
    blur: float | None = None,
    object_size: float | None = None,
    num_parts: int | None = None,
    num_modalities: int = 1,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    name: str = "synthetic",
) -> Case:
    """Draw one brain-MRI-like case with a lobulated, tumour-like lesion.

    ``difficulty`` ``d`` sets the defaults of the knobs left as ``None``, linearly from
    ``d = 0`` to ``d = 1`` (:data:`DIFFICULTY_RANGES`): contrast 6 → 2.8, noise 0.2 → 0.8,
    bias_field 0.03 → 0.33, blur 0.5 → 1.5; ``object_size ~ U(0.03, 0.08)`` and
    ``num_parts = 1 + Binomial(2, 0.3 d)``. It also drives what has no knob: lobes per part
    (``1 + Binomial(4, d)``), surface roughness, a darker necrotic-like core and brighter rim,
    a faint halo outside the lesion, and lesion-like "mimic" blobs covering ``5 d %`` of the
    brain. The best single intensity threshold reaches a Dice of about 1.0 at ``d = 0``, 0.8
    at ``d = 0.5`` and 0.4 at ``d = 1`` (mean over seeds at the default shape).

    Args:
        shape: ``(D, H, W)``; ``D = 1`` gives a 2D case. The two largest axes need ≥ 8 voxels.
        rng: Seed or generator; the same seed gives the same case.
        difficulty: In ``[0, 1]``.
        contrast: Lesion minus tissue mean in the first channel, in tissue stds (≥ 0).
        noise: Rician noise std, in tissue stds (≥ 0).
        bias_field: Amplitude ``a`` of the multiplicative field ``exp(a b)``, ``|b| ≤ 1``.
        blur: Partial-volume Gaussian sigma in voxels (≥ 0).
        object_size: Target lesion volume as a fraction of the volume, in ``(0, 0.25]``
            (default ``U(0.03, 0.08)``). The actual fraction is within a few voxels of it or
            below (thin axes, the border margin and dropped fragments can lower it); at the
            default shape it is 85–100 % of it, so ``[0.025, 0.08]`` by default.
        num_parts: Number of connected lesion parts (face connectivity), 1 to 6.
        num_modalities: Channels M: FLAIR-, T1-, T2-, T1ce-like, then random mixtures.
        spacing: Voxel size in mm along (D, H, W), stored on the case.
        name: Name of the case.

    Returns:
        A :class:`Case` with a float32 ``(M, D, H, W)`` image, each channel z-normalised over
        the volume, and a bool label that is never empty, keeps ``min(3, n // 6)`` voxels from
        every border and has exactly ``num_parts`` connected components.

    Raises:
        ConfigError: A knob is out of range or the parts cannot be placed apart.
        InputTypeError: A knob has the wrong type.
    """
    args = _check_arguments(
        shape,
        difficulty,
        contrast=contrast,
        noise=noise,
        bias_field=bias_field,
        blur=blur,
        object_size=object_size,
        num_parts=num_parts,
        num_modalities=num_modalities,
        spacing=spacing,
        name=name,
    )
    return _generate(args, np.random.default_rng(rng))


def _generate(args: _Arguments, rng: np.random.Generator) -> Case:
    """Generate a case from validated arguments (the order of the draws is fixed)."""
    knobs = _resolve_knobs(
        args.difficulty,
        rng,
        contrast=args.contrast,
        noise=args.noise,
        bias_field=args.bias_field,
        blur=args.blur,
        object_size=args.object_size,
        num_parts=args.num_parts,
    )
    brain = draw_brain(args.shape, rng)
    lesion = _make_lesion(args.shape, knobs, brain, rng)
    anatomy = _make_anatomy(args.shape, knobs, brain, lesion, rng)
    bias = _bias(args.shape, rng)
    channels = [
        _acquire(_compose(_sequence(m, rng), knobs, anatomy, lesion), bias, knobs, rng)
        for m in range(args.num_modalities)
    ]
    return make_case(np.stack(channels), lesion.label, spacing=args.spacing, name=args.name)


class SyntheticSource:
    """A deterministic, cached :class:`~segenv.data.case.CaseSource` of synthetic cases.

    Case ``i`` is ``make_synthetic_case(shape, start_seed + i, difficulty=..., **knobs)``,
    named ``f"{name}-{seed}"``. Cases are kept in a small LRU cache; their arrays are made
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
        cache_size: int = 32,
        **knobs: Any,
    ) -> None:
        """Create a source over the seeds ``start_seed, ..., start_seed + num_cases - 1``.

        Args:
            shape: ``(D, H, W)`` of every case.
            num_cases: Number of cases (≥ 1).
            start_seed: Seed of case 0 (≥ 0).
            difficulty: In ``[0, 1]``; see :func:`make_synthetic_case`.
            cache_size: Cases kept in memory (≥ 0; 0 disables the cache).
            **knobs: Any other keyword of :func:`make_synthetic_case` (``contrast``, ``noise``,
                ``bias_field``, ``blur``, ``object_size``, ``num_parts``, ``num_modalities``,
                ``spacing``, ``name``).
        """
        unknown = sorted(set(knobs) - set(_KNOB_NAMES))
        if unknown:
            raise ConfigError(
                f"SyntheticSource got unknown knob(s) {unknown}; valid knobs are "
                f"{', '.join(_KNOB_NAMES)}"
            )
        self._args = _check_arguments(shape, difficulty, **knobs)
        self.num_cases = _check_int("num_cases", num_cases, low=1, high=10**9)
        self.start_seed = _check_int("start_seed", start_seed, low=0, high=2**62)
        self.cache_size = _check_int("cache_size", cache_size, low=0, high=10**6)
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
    def seeds(self) -> range:
        """The seeds of the cases, in order."""
        return range(self.start_seed, self.start_seed + self.num_cases)

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
        knobs = "".join(f", {k}={v!r}" for k, v in self.knobs.items())
        return (
            f"SyntheticSource(shape={self.shape}, num_cases={self.num_cases}, "
            f"start_seed={self.start_seed}, difficulty={self.difficulty}{knobs})"
        )

    def _make(self, seed: int) -> Case:
        """Generate the case of ``seed`` with read-only arrays."""
        args = self._args
        named = dataclasses.replace(args, name=f"{args.name}-{seed}")
        case = _generate(named, np.random.default_rng(seed))
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
    cache_size: int = 32,
    **knobs: Any,
) -> SyntheticSplits:
    """Disjoint, reproducible ``train1`` / ``train2`` / ``test`` synthetic sources.

    Seeds: ``train1`` starts at ``2 * seed * SPLIT_STRIDE``, ``train2`` follows it, and
    ``test`` starts at ``(2 * seed + 1) * SPLIT_STRIDE``, so no two splits — of this ``seed``
    or of any other — share a case. Use ``.train`` for ``train1 ∪ train2``.

    Args:
        shape: ``(D, H, W)`` of every case.
        num_train1: Cases in ``train1`` (for the initial method).
        num_train2: Cases in ``train2`` (for the update method).
        num_test: Cases in ``test``.
        seed: Chooses the family of splits (≥ 0).
        difficulty: In ``[0, 1]``.
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

    def source(num_cases: int, start_seed: int) -> SyntheticSource:
        return SyntheticSource(
            shape,
            num_cases=num_cases,
            start_seed=start_seed,
            difficulty=difficulty,
            cache_size=cache_size,
            **knobs,
        )

    return SyntheticSplits(
        train1=source(num_train1, train_start),
        train2=source(num_train2, train_start + num_train1),
        test=source(num_test, train_start + SPLIT_STRIDE),
    )
