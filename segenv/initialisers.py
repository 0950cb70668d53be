"""Initial segmentations ``p(0)`` (SPEC §5): constant, background, degraded truth, user arrays.

An initialiser is ``fn(case, rng, **params) -> float32 (D, H, W)`` in [0, 1], registered in
:data:`INITIALISERS`; the env also accepts a callable or a fixed probability array.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import Callable
from pathlib import Path
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


# --------------------------------------------------------------------------- probability files


PROBABILITY_SUFFIXES = (".npy", ".nii.gz", ".nii")
"""File endings :func:`probability_files_init` looks for, in this order."""


def _probability_file(folder: str | os.PathLike[str], name: str) -> Path:
    candidates = [Path(folder) / f"{name}{suffix}" for suffix in PROBABILITY_SUFFIXES]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise DataError(
        f"initialiser 'probability_files': no probability volume for case {name!r} in "
        f"{folder} (looked for {', '.join(c.name for c in candidates)}); write one per case "
        "(e.g. `python -m segenv_agents.coarse --dataset ...` caches a coarse network's outputs)"
    )


def _read_probability_file(path: str) -> np.ndarray:
    """A probability volume (``.npy`` or NIfTI) as validated float32."""
    if path.endswith(".npy"):
        try:
            volume = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise DataError(f"{path}: cannot read the probability volume ({error})") from None
    else:
        from segenv.data.nifti import read_probability

        volume = read_probability(path)
    return validate_probability(volume, np.shape(volume), f"probability volume {path}")


@functools.lru_cache(maxsize=256)
def _case_grid_probability(
    path: str, size: int, mtime_ns: int, provenance: Any, case_shape: tuple[int, ...]
) -> np.ndarray:
    """The file's probabilities on the case grid (before augmentation), memoised read-only.

    Keyed by the file's path, size and modification time, so a changed file is re-read; only
    case-grid volumes are kept, never the (possibly large) file-grid ones.
    """
    volume = _read_probability_file(path)
    if provenance is not None:
        try:
            volume = provenance.to_case_grid(volume, case_shape)
        except DataError as error:
            raise DataError(f"{path}: {error}") from None
    elif volume.shape != case_shape:
        raise DataError(
            f"{path}: probability volume has shape {volume.shape} but the case has "
            f"{case_shape}; write it on the case's grid"
        )
    volume = np.array(volume, dtype=np.float32)
    volume.flags.writeable = False
    return volume


@INITIALISERS.register("probability_files")
@INITIALISERS.register("nifti")
def probability_files_init(
    case: Case, rng: np.random.Generator, *, folder: str | os.PathLike[str]
) -> np.ndarray:
    """``p(0)`` read from ``<folder>/<case name>.npy`` (or ``.nii.gz`` / ``.nii``).

    A user's own model's output (SPEC §5) or the trained coarse network's cached predictions
    (``segenv_agents.coarse``). The volume may be on the case's grid ``(D, H, W)`` or, for cases of
    a :class:`~segenv.data.sources.NiftiSource`, on the grid of the original image file (then
    the case's crop and resize are replayed on it, linearly). Augmentation applied at reset is
    replayed too, so the probabilities stay aligned with the augmented image. NIfTI files are
    read with the axis convention of :mod:`segenv.data.nifti`. Volumes are memoised on the
    case grid (re-read when the file changes).
    """
    from segenv.data.preprocess import case_provenance, replay

    if not isinstance(folder, (str, os.PathLike)):
        raise InputTypeError(
            f"initialiser 'probability_files': folder= must be a path, got {describe(folder)}"
        )
    path = _probability_file(folder, case.name)
    stat = path.stat()
    provenance = case_provenance(case)
    base = None if provenance is None else provenance.without_augmentation()
    volume = _case_grid_probability(str(path), stat.st_size, stat.st_mtime_ns, base, case.shape)
    if provenance is not None and provenance.augmentation:
        return replay(provenance.augmentation, volume)
    return volume.copy()
