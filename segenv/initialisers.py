"""Initial segmentations ``p(0)`` (SPEC §5): constant, background, degraded truth, user arrays.

An initialiser is ``fn(case, rng, **params) -> float32 (D, H, W)`` in [0, 1], registered in
:data:`INITIALISERS`; the env also accepts a callable or a fixed probability array.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage

from segenv.data.case import Case
from segenv.errors import ConfigError, DataError, InputTypeError, describe
from segenv.registry import Registry

Initialiser = Callable[..., np.ndarray]
INITIALISERS: Registry[Initialiser] = Registry(
    "initialiser", "initialiser", "segenv.initialisers.INITIALISERS"
)


@INITIALISERS.register("constant")
def constant_init(case: Case, rng: np.random.Generator, *, value: float = 0.5) -> np.ndarray:
    """Every voxel starts at ``value`` (MECCA: 0.5, maximal uncertainty)."""
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"initialiser 'constant': value must be in [0, 1], got {value!r}")
    return np.full(case.shape, value, dtype=np.float32)


@INITIALISERS.register("background")
def background_init(case: Case, rng: np.random.Generator) -> np.ndarray:
    """Every voxel starts as background, p = 0 ("BG" of IteR-MRL Table 1)."""
    return np.zeros(case.shape, dtype=np.float32)


def signed_distance(mask: np.ndarray, spacing: tuple[float, ...] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """Signed Euclidean distance to the mask boundary: positive inside, negative outside (mm)."""
    inside = ndimage.distance_transform_edt(mask, sampling=spacing)
    outside = ndimage.distance_transform_edt(~mask, sampling=spacing)
    return (inside - outside).astype(np.float32)


_SIGNED_DISTANCES: dict[int, np.ndarray] = {}


def cached_signed_distance(mask: np.ndarray) -> np.ndarray:
    """:func:`signed_distance` of ``mask`` (1 mm voxels), memoised while ``mask`` is alive.

    Cases are reused across episodes, so the distance transform (the dominant cost of a
    ``degraded_truth`` reset) is computed once per case. Treat the result as read-only.
    """
    key = id(mask)
    if key not in _SIGNED_DISTANCES:
        _SIGNED_DISTANCES[key] = signed_distance(mask)
        weakref.finalize(mask, _SIGNED_DISTANCES.pop, key, None)
    return _SIGNED_DISTANCES[key]


def _dice_of(field: np.ndarray, label: np.ndarray, label_size: int) -> float:
    predicted = field >= 0
    return 2.0 * np.count_nonzero(predicted & label) / (np.count_nonzero(predicted) + label_size)


@INITIALISERS.register("degraded_truth")
def degraded_truth_init(
    case: Case,
    rng: np.random.Generator,
    *,
    target_dice: float = 0.75,
    smoothness: float = 3.0,
    temperature: float = 1.5,
    tolerance: float = 0.01,
) -> np.ndarray:
    """A stand-in for a coarse automatic segmentation with a chosen Dice.

    The ground truth's signed distance is perturbed by a smooth random field (Gaussian noise
    filtered with ``sigma=smoothness`` voxels, unit std) scaled by an amplitude found by
    bisection so that ``Dice(p ≥ 0.5, y)`` is within ``tolerance`` of ``target_dice`` (as close
    as the volume allows). The result is soft: ``sigmoid(perturbed_distance / temperature)``,
    so it has wrong bulges, missed lobes, false blobs and uncertain borders, like a CNN output.
    """
    if not 0.0 < target_dice <= 1.0:
        raise ConfigError(
            f"initialiser 'degraded_truth': target_dice must be in (0, 1], got {target_dice!r}"
        )
    if smoothness <= 0 or temperature <= 0:
        raise ConfigError(
            "initialiser 'degraded_truth': smoothness and temperature must be > 0, got "
            f"smoothness={smoothness!r}, temperature={temperature!r}"
        )
    label = case.label
    distance = cached_signed_distance(label)
    noise = ndimage.gaussian_filter(rng.standard_normal(label.shape, dtype=np.float32), smoothness)
    noise /= max(float(noise.std()), 1e-6)
    label_size = int(np.count_nonzero(label))
    low, high = 0.0, float(max(label.shape)) * 2.0
    amplitude = 0.0
    if _dice_of(distance, label, label_size) > target_dice + tolerance:
        for _ in range(40):
            amplitude = 0.5 * (low + high)
            dice = _dice_of(distance + amplitude * noise, label, label_size)
            if abs(dice - target_dice) <= tolerance:
                break
            low, high = (amplitude, high) if dice > target_dice else (low, amplitude)
    logits = (distance + amplitude * noise) / temperature
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def as_initialiser(spec: str | Initialiser | np.ndarray) -> Initialiser:
    """Turn a name, a callable or a fixed probability array into an initialiser."""
    if isinstance(spec, np.ndarray):
        fixed = validate_probability(spec, spec.shape, "initialiser array")

        def fixed_init(case: Case, rng: np.random.Generator) -> np.ndarray:
            if case.shape != fixed.shape:
                raise ConfigError(
                    f"initialiser array has shape {fixed.shape} but case {case.name!r} has "
                    f"{case.shape}; pass a callable(case, rng) for data sets of several shapes"
                )
            return fixed.copy()

        return fixed_init
    return INITIALISERS.get(spec)


def validate_probability(array: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
    """Check a probability volume: the expected shape, finite values within [0, 1]."""
    probability = np.asarray(array)
    if probability.dtype.kind not in "fiub":
        raise InputTypeError(f"{what} must be numeric, got {describe(probability)}")
    if probability.shape != tuple(shape):
        raise ConfigError(f"{what} has shape {probability.shape}, expected {tuple(shape)}")
    if not np.isfinite(probability).all():
        raise DataError(f"{what} contains NaN/Inf; initial probabilities must be finite")
    if probability.size and (probability.min() < 0 or probability.max() > 1):
        raise DataError(
            f"{what} has values in [{probability.min()}, {probability.max()}]; probabilities "
            "must lie in [0, 1] (apply a sigmoid/softmax to logits first)"
        )
    return np.ascontiguousarray(probability, dtype=np.float32)


def initial_probability(
    spec: str | Initialiser | np.ndarray, case: Case, rng: np.random.Generator, **params: Any
) -> np.ndarray:
    """Run an initialiser on a case and validate what it returns."""
    result = as_initialiser(spec)(case, rng, **params)
    return validate_probability(result, case.shape, f"initialiser {spec!r} output")
