"""Initial segmentations ``p(0)`` (SPEC §5): constant, background, degraded truth, user arrays.

An initialiser is ``fn(case, rng, **params) -> float32 (D, H, W)`` in [0, 1], registered in
:data:`INITIALISERS`; the env also accepts a callable or a fixed probability array.
"""

from __future__ import annotations

import functools
import os
import weakref
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage, special

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


DEGRADATION_MODES = ("image", "smooth")
"""``degraded_truth`` modes: errors where the image is ambiguous, or smooth shape noise."""


@INITIALISERS.register("degraded_truth")
def degraded_truth_init(
    case: Case,
    rng: np.random.Generator,
    *,
    target_dice: float = 0.75,
    mode: str = "smooth",
    smoothness: float = 3.0,
    temperature: float = 1.5,
    tolerance: float = 0.01,
) -> np.ndarray:
    """A stand-in for a coarse automatic segmentation with a chosen Dice.

    ``mode="smooth"``: the ground truth's signed distance is perturbed by a smooth random field
    (Gaussian noise filtered with ``sigma=smoothness`` voxels, unit std) scaled by an amplitude
    found by bisection so that ``Dice(p ≥ 0.5, y)`` is within ``tolerance`` of ``target_dice``
    (as close as the volume allows); ``p = sigmoid(perturbed_distance / temperature)``. Its
    errors ignore the image, so a CNN can undo most of them without any click.

    ``mode="image"``: the errors sit where the image is ambiguous, as a coarse CNN's do; see
    :func:`image_aware_init` (``smoothness`` and ``temperature`` are then that function's
    defaults, and ``rng`` is not used: the start is a function of the case).
    """
    if mode not in DEGRADATION_MODES:
        raise ConfigError(
            f"initialiser 'degraded_truth': mode={mode!r} is unknown; use one of "
            f"{DEGRADATION_MODES}"
        )
    _check_target_dice("degraded_truth", target_dice)
    if mode == "image":
        return image_aware_init(case, rng, target_dice=target_dice, tolerance=tolerance)
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
    return special.expit(logits).astype(np.float32)  # stable for any logit


def _check_target_dice(name: str, target_dice: float) -> None:
    if isinstance(target_dice, bool) or not isinstance(target_dice, (int, float, np.number)):
        raise InputTypeError(
            f"initialiser {name!r}: target_dice must be a number, got {target_dice!r}"
        )
    if not 0.0 < target_dice <= 1.0:
        raise ConfigError(
            f"initialiser {name!r}: target_dice must be in (0, 1], got {target_dice!r}"
        )


# ----------------------------------------------------------------------- image-aware starts

IMAGE_AWARE_DEFAULTS: dict[str, float] = {
    "smoothing": 1.0,
    "shell": 4.0,
    "prior_radius": 2.0,
    "noise": 0.0,
    "noise_smoothness": 3.0,
    "temperature": 0.1,
}
"""Defaults of :func:`image_aware_init`, calibrated against the coarse network (see its doc)."""


def appearance_logit(
    image: np.ndarray,
    label: np.ndarray,
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    *,
    smoothing: float = 1.0,
    shell: float = 4.0,
) -> np.ndarray:
    """How object-like each voxel looks: a Gaussian log-likelihood ratio of its smoothed intensity.

    Each modality is smoothed (``smoothing`` mm) and modelled as one Gaussian inside the
    label and one in the background shell within ``shell`` mm of it (the tissue an automatic
    method confuses the object with); the modalities' log-likelihood ratios are summed (naive
    Bayes) and clipped to ±20. Positive where a voxel looks like the object, whatever its label.
    """
    sigma = [smoothing / s for s in spacing]
    outside = ndimage.distance_transform_edt(~label, sampling=spacing)
    shell_mask = (~label) & (outside <= shell)
    if not shell_mask.any():  # the label fills the volume: compare with everything else
        shell_mask = ~label
    ratio = np.zeros(label.shape, dtype=np.float64)
    for channel in image:
        smoothed = ndimage.gaussian_filter(channel.astype(np.float64), sigma)
        inside_values = smoothed[label]
        shell_values = smoothed[shell_mask] if shell_mask.any() else inside_values
        mean_in, std_in = inside_values.mean(), inside_values.std() + 1e-3
        mean_out, std_out = shell_values.mean(), shell_values.std() + 1e-3
        ratio += (
            np.log(std_out / std_in)
            - 0.5 * np.square((smoothed - mean_in) / std_in)
            + 0.5 * np.square((smoothed - mean_out) / std_out)
        )
    return np.clip(ratio, -20.0, 20.0).astype(np.float32)


def _volume_matched(logits: np.ndarray, label_size: int) -> np.ndarray:
    """Shift ``logits`` so that exactly ``label_size`` voxels are >= 0 (FN and FP balance)."""
    flat = logits.ravel()
    rank = flat.size - label_size
    if rank <= 0:
        return logits - float(flat.min())
    return logits - float(np.partition(flat, rank)[rank])


def _solve_increasing(
    fn: Callable[[float], float], target: float, tolerance: float, steps: int = 40
) -> float:
    """The ``x >= 0`` whose ``fn(x)`` (non-decreasing) is nearest ``target``, by bisection."""
    low, high = 0.0, 1.0
    while fn(high) < target and high < 1e4:
        low, high = high, 4.0 * high
    best, best_gap = high, abs(fn(high) - target)
    for _ in range(steps):
        middle = 0.5 * (low + high)
        value = fn(middle)
        if abs(value - target) < best_gap:
            best, best_gap = middle, abs(value - target)
        if best_gap <= tolerance:
            break
        low, high = (middle, high) if value < target else (low, middle)
    return best


def _case_noise(case: Case, smoothness: float) -> np.ndarray:
    """A smooth unit-std field drawn from a seed taken from the case's contents."""
    digest = zlib.crc32(np.packbits(case.label).tobytes())
    digest = zlib.crc32(np.ascontiguousarray(case.image[:, ::4, ::4, ::4]).tobytes(), digest)
    field = np.random.default_rng(digest).standard_normal(case.shape, dtype=np.float32)
    field = ndimage.gaussian_filter(field, smoothness)
    return field / max(float(field.std()), 1e-6)


def _image_aware(
    case: Case,
    target_dice: float,
    tolerance: float,
    smoothing: float,
    shell: float,
    prior_radius: float,
    noise: float,
    noise_smoothness: float,
    temperature: float,
) -> np.ndarray:
    label = case.label
    label_size = int(np.count_nonzero(label))
    evidence = appearance_logit(case.image, label, case.spacing, smoothing=smoothing, shell=shell)
    field = functools.cache(lambda: _case_noise(case, noise_smoothness))
    if noise > 0:  # more varied errors than the coarse network's (off by default)
        evidence = evidence + np.float32(noise) * field()
    prior = np.tanh(signed_distance(label, case.spacing) / prior_radius)

    def logits_at(weight: float, blur: float) -> np.ndarray:
        logits: np.ndarray = evidence + np.float32(weight) * prior
        if blur > 0:
            logits = logits + np.float32(blur) * field()
        return _volume_matched(logits, label_size)

    def dice_at(weight: float, blur: float) -> float:
        return _dice_of(logits_at(weight, blur), label, label_size)

    if dice_at(0.0, 0.0) <= target_dice + tolerance:  # the shape prior raises Dice to the target
        weight = _solve_increasing(lambda w: dice_at(w, 0.0), target_dice, tolerance)
        logits = logits_at(weight, 0.0)
    else:  # appearance alone is already better: blur it with smooth noise until it is not
        amount = _solve_increasing(lambda a: -dice_at(0.0, a), -target_dice, tolerance)
        logits = logits_at(0.0, amount)
    probability = special.expit(logits / temperature).astype(np.float32)
    probability.flags.writeable = False
    return probability


_IMAGE_AWARE: dict[tuple[int, tuple[Any, ...]], np.ndarray] = {}


@INITIALISERS.register("image_aware")
def image_aware_init(
    case: Case,
    rng: np.random.Generator,
    *,
    target_dice: float = 0.75,
    tolerance: float = 0.01,
    smoothing: float = IMAGE_AWARE_DEFAULTS["smoothing"],
    shell: float = IMAGE_AWARE_DEFAULTS["shell"],
    prior_radius: float = IMAGE_AWARE_DEFAULTS["prior_radius"],
    noise: float = IMAGE_AWARE_DEFAULTS["noise"],
    noise_smoothness: float = IMAGE_AWARE_DEFAULTS["noise_smoothness"],
    temperature: float = IMAGE_AWARE_DEFAULTS["temperature"],
) -> np.ndarray:
    """A coarse-CNN-like start: wrong where the image is ambiguous, with a chosen Dice.

    The foreground logit of a voxel is ``e + w·tanh(d / prior_radius) + b``: ``e`` the
    :func:`appearance_logit` (how object-like the voxel looks, plus ``noise`` × a smooth
    field), ``d`` the ground truth's signed distance (the shape knowledge a network learns), ``b``
    the shift that makes the predicted volume equal the object's (as many missed voxels as false
    ones), and ``w`` found by bisection so that the Dice of ``p >= 0.5`` is within ``tolerance``
    of ``target_dice``. Where appearance alone (``w = 0``) already does better than the
    target, ``w = 0`` and the evidence is blurred instead by a smooth noise field (seeded by the
    case's contents) scaled by bisection until the target is met.
    ``p = sigmoid(logit / temperature)``. So the errors are where
    appearance and truth disagree: low-contrast lobes and thin parts are missed, look-alike
    tissue near and far is taken, blurred boundaries shift; an image-only CNN cannot undo them
    (``benchmarks/start_realism.py`` measures it), while clicks carry the missing information.
    The defaults match the error statistics of the coarse network (``segenv_agents.coarse``) on
    the synthetic data: as many missed as false voxels, few error components, the largest
    holding most error voxels, a sharp output.

    Like a trained network's output, the start is a function of the case (``rng`` is unused;
    the noise field is seeded by the case's contents): it is computed once per case and reused
    while the case is alive, so a reset on a known case costs a copy.
    """
    _check_target_dice("image_aware", target_dice)
    params = (smoothing, shell, prior_radius, noise_smoothness, temperature)
    if min(params) <= 0 or noise < 0:
        raise ConfigError(
            "initialiser 'image_aware': smoothing, shell, prior_radius, noise_smoothness and "
            f"temperature must be > 0 and noise >= 0, got {params} and noise={noise!r}"
        )
    settings = (
        target_dice,
        tolerance,
        smoothing,
        shell,
        prior_radius,
        noise,
        noise_smoothness,
        temperature,
    )
    key = (id(case.label), settings)
    cached = _IMAGE_AWARE.get(key)
    if cached is None:
        cached = _image_aware(case, *settings)
        _IMAGE_AWARE[key] = cached
        weakref.finalize(case.label, _IMAGE_AWARE.pop, key, None)
    return cached.copy()


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
