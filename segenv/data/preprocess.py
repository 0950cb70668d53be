"""The papers' preprocessing and augmentation as composable, seeded steps (SPEC §8).

A *step* draws a deterministic *transform* from a volume and a generator; a transform applies
itself to a :class:`Volume` (image linear, label nearest) and to a probability map (linear).
Recording the drawn transforms lets the same geometry be replayed later — on a user's
probability volume, or after caching — without drawing again::

    pipeline = Pipeline([CropToForeground(margin=(0, 10)), ResizeTo((30, 55, 55))])
    volume, transforms = pipeline(volume, rng)

Steps (IteR-MRL §4.2, MECCA §4.1):

* :class:`CropToForeground` → :class:`Crop`: the bounding box of the non-zero image (IteR-MRL)
  or of the label (MECCA), widened by a random margin drawn per side in ``[lo, hi]`` voxels
  and clipped to the volume.
* :class:`ResizeTo` → :class:`Resample`: ``scipy.ndimage.zoom`` with ``grid_mode=True`` (voxels
  are areas, so output voxel ``i`` samples input coordinate ``(i + 0.5) · n_in / n_out - 0.5``),
  edges replicated; the voxel spacing grows by ``n_in / n_out``.
* :class:`RandomFlipRotate` → :class:`FlipRotate`: a flip of each axis with probability 1/2,
  then rotations about the three axes by angles uniform in ``[-max_angle, max_angle]``
  (π/8 by default), about the volume centre in voxel coordinates (spacing is kept as is).
* :class:`ZNormalise` → :class:`Normalise`: ``(x - mean_m) / std_m`` per modality ``m``, with
  statistics of the whole data set (:func:`dataset_statistics`).

Which transforms made a case is its *provenance* (:func:`case_provenance`); the probability
initialisers use it to bring a probability volume into the case's frame.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
from scipy import ndimage

from segenv.data.case import Case, make_case
from segenv.errors import ConfigError, DataError

__all__ = [
    "Crop",
    "CropToForeground",
    "FlipRotate",
    "Normalise",
    "Pipeline",
    "Provenance",
    "RandomFlipRotate",
    "Resample",
    "ResizeTo",
    "Transform",
    "Volume",
    "ZNormalise",
    "augment_case",
    "bounding_box",
    "case_provenance",
    "dataset_statistics",
    "register_provenance",
    "resize",
    "rotation_matrix",
]

Box = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]
"""``((z0, z1), (y0, y1), (x0, x1))``: half-open index ranges along (D, H, W)."""


class Volume(NamedTuple):
    """An image with its label during preprocessing (the label may still be empty)."""

    image: np.ndarray  # float32 (M, D, H, W)
    label: np.ndarray  # bool (D, H, W)
    spacing: tuple[float, float, float]  # mm along (D, H, W)


class Transform(Protocol):
    """A deterministic transform drawn by a step."""

    def apply(self, volume: Volume) -> Volume:
        """Transform image (linear), label (nearest) and spacing."""
        ...

    def apply_probability(self, probability: np.ndarray) -> np.ndarray:
        """Transform a float ``(D, H, W)`` probability map the way the image is transformed."""
        ...


class Step(Protocol):
    """A (possibly random) preprocessing step: ``step(volume, rng) -> transform``."""

    def __call__(self, volume: Volume, rng: np.random.Generator) -> Transform:
        """Draw the transform for ``volume``."""
        ...


# --------------------------------------------------------------------------- crop


def bounding_box(mask: np.ndarray) -> Box:
    """The smallest box holding every True voxel of a non-empty ``(D, H, W)`` mask."""
    if not mask.any():
        raise DataError("bounding_box: the mask is empty; there is nothing to crop to")
    ranges = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        hits = np.flatnonzero(mask.any(axis=other))
        ranges.append((int(hits[0]), int(hits[-1]) + 1))
    return (ranges[0], ranges[1], ranges[2])


@dataclass(frozen=True)
class Crop:
    """Keep the voxels inside ``box``."""

    box: Box

    def _slices(self) -> tuple[slice, slice, slice]:
        (z0, z1), (y0, y1), (x0, x1) = self.box
        return slice(z0, z1), slice(y0, y1), slice(x0, x1)

    def apply(self, volume: Volume) -> Volume:
        """Crop image and label; spacing is unchanged."""
        region = self._slices()
        return Volume(volume.image[(slice(None), *region)], volume.label[region], volume.spacing)

    def apply_probability(self, probability: np.ndarray) -> np.ndarray:
        """Crop a probability map."""
        return probability[self._slices()]


@dataclass(frozen=True)
class CropToForeground:
    """Crop to the bounding box of the foreground widened by a random margin per side.

    Attributes:
        reference: ``"nonzero"`` (voxels where any modality is non-zero; IteR-MRL) or
            ``"label"`` (the ground truth; MECCA, for CT where the body fills the scan).
        margin: ``(lo, hi)``: each of the six sides is widened by an integer drawn uniformly
            in ``[lo, hi]`` (IteR-MRL: (0, 10); MECCA: (1, 11)), then clipped to the volume.
    """

    reference: str = "nonzero"
    margin: tuple[int, int] = (0, 10)

    def __post_init__(self) -> None:
        """Validate the reference and the margin range."""
        if self.reference not in ("nonzero", "label"):
            raise ConfigError(
                f"crop reference={self.reference!r} is unknown; use 'nonzero' or 'label'"
            )
        lo, hi = _int_range("crop margin", self.margin)
        object.__setattr__(self, "margin", (lo, hi))

    def __call__(self, volume: Volume, rng: np.random.Generator) -> Crop:
        """Draw the margins and return the crop."""
        if self.reference == "label":
            mask = volume.label
        else:
            mask = np.any(volume.image != 0, axis=0)
        if not mask.any():
            what = "label" if self.reference == "label" else "image (every voxel is 0)"
            raise DataError(f"cannot crop to the foreground: the {what} is empty")
        box = bounding_box(mask)
        lo, hi = self.margin
        margins = rng.integers(lo, hi, size=(3, 2), endpoint=True)
        shape = volume.label.shape
        widened = tuple(
            (max(0, start - int(margins[a, 0])), min(shape[a], stop + int(margins[a, 1])))
            for a, (start, stop) in enumerate(box)
        )
        return Crop(widened)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- resize


def resize(array: np.ndarray, shape: Sequence[int], order: int) -> np.ndarray:
    """Resample the last three axes of ``array`` to ``shape`` (order 1 linear, 0 nearest).

    Voxels are treated as areas (``grid_mode=True``): output voxel ``i`` samples the input at
    ``(i + 0.5) · n_in / n_out - 0.5``; edges are replicated. Leading axes are kept.
    """
    target = tuple(int(s) for s in shape)
    if array.shape[-3:] == target:
        return array
    factors = (1.0,) * (array.ndim - 3) + tuple(
        t / n for t, n in zip(target, array.shape[-3:], strict=True)
    )
    source = array.astype(np.uint8) if array.dtype == bool else array
    result = ndimage.zoom(source, factors, order=order, mode="nearest", grid_mode=True)
    return result.astype(bool) if array.dtype == bool else result


@dataclass(frozen=True)
class Resample:
    """Resample to ``shape`` (image and probability linear, label nearest)."""

    shape: tuple[int, int, int]

    def apply(self, volume: Volume) -> Volume:
        """Resize image and label; spacing grows by ``n_in / n_out`` per axis."""
        before = volume.label.shape
        spacing = tuple(
            s * n / t for s, n, t in zip(volume.spacing, before, self.shape, strict=True)
        )
        image = resize(volume.image, self.shape, order=1).astype(np.float32, copy=False)
        return Volume(image, resize(volume.label, self.shape, order=0), spacing)  # type: ignore[arg-type]

    def apply_probability(self, probability: np.ndarray) -> np.ndarray:
        """Resize a probability map linearly (stays in [0, 1])."""
        return resize(probability.astype(np.float32, copy=False), self.shape, order=1)


@dataclass(frozen=True)
class ResizeTo:
    """Resize every volume to ``shape`` ``(D, H, W)`` (the papers: (30, 55, 55))."""

    shape: tuple[int, int, int]

    def __post_init__(self) -> None:
        """Validate the target shape."""
        object.__setattr__(self, "shape", check_shape(self.shape))

    def __call__(self, volume: Volume, rng: np.random.Generator) -> Resample:
        """Return the (deterministic) resampling."""
        return Resample(self.shape)


def check_shape(shape: object) -> tuple[int, int, int]:
    """``shape`` as three positive ints, or a ConfigError naming it."""
    try:
        dims = tuple(int(s) for s in shape)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ConfigError(f"shape must be three positive ints (D, H, W), got {shape!r}") from None
    if len(dims) != 3 or min(dims) < 1:
        raise ConfigError(
            f"shape must be three positive ints (D, H, W), e.g. (30, 55, 55), got {shape!r}"
        )
    return dims  # type: ignore[return-value]


# --------------------------------------------------------------------------- augment


def rotation_matrix(angles: Sequence[float]) -> np.ndarray:
    """``R = R_D(a0) @ R_H(a1) @ R_W(a2)`` in (D, H, W) voxel coordinates.

    ``R_D(a)`` rotates the (H, W) plane, ``R_H(a)`` the (D, W) plane and ``R_W(a)`` the (D, H)
    plane, each ``[[cos a, -sin a], [sin a, cos a]]`` on its two axes in increasing order.
    """
    matrix = np.eye(3)
    for axis, angle in enumerate(angles):
        i, j = (a for a in range(3) if a != axis)
        c, s = math.cos(angle), math.sin(angle)
        plane = np.eye(3)
        plane[i, i], plane[i, j], plane[j, i], plane[j, j] = c, -s, s, c
        matrix = matrix @ plane
    return matrix


def _rotate(volume: np.ndarray, matrix: np.ndarray, order: int) -> np.ndarray:
    """Rotate a ``(D, H, W)`` array by ``matrix`` about its centre (output = R · input)."""
    centre = (np.array(volume.shape, dtype=float) - 1.0) / 2.0
    inverse = matrix.T
    offset = centre - inverse @ centre
    source = volume.astype(np.uint8) if volume.dtype == bool else volume
    mode = "constant" if order == 0 else "nearest"
    rotated = ndimage.affine_transform(source, inverse, offset=offset, order=order, mode=mode)
    return rotated.astype(bool) if volume.dtype == bool else rotated


@dataclass(frozen=True)
class FlipRotate:
    """Flip the marked axes, then rotate by :func:`rotation_matrix` of ``angles`` (radians).

    The image and probabilities are interpolated linearly (edges replicated), the label by
    nearest neighbour (outside = background), so image and label stay aligned. Zero angles
    skip the interpolation (flips alone are exact).
    """

    flips: tuple[bool, bool, bool] = (False, False, False)
    angles: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def _transform(self, volume: np.ndarray, order: int) -> np.ndarray:
        axes = tuple(a for a in range(3) if self.flips[a])
        result = np.flip(volume, axis=axes) if axes else volume
        if any(self.angles):
            result = _rotate(np.ascontiguousarray(result), rotation_matrix(self.angles), order)
        return result

    def apply(self, volume: Volume) -> Volume:
        """Flip and rotate image and label; spacing is kept."""
        image = np.stack([self._transform(channel, 1) for channel in volume.image])
        return Volume(image, self._transform(volume.label, 0), volume.spacing)

    def apply_probability(self, probability: np.ndarray) -> np.ndarray:
        """Flip and rotate a probability map (linear, clipped to [0, 1])."""
        return np.clip(self._transform(probability.astype(np.float32), 1), 0.0, 1.0)

    def without_rotation(self) -> FlipRotate:
        """The same flips, no rotation."""
        return FlipRotate(self.flips)


@dataclass(frozen=True)
class RandomFlipRotate:
    """Training augmentation (IteR-MRL §4.2): random flips on three axes, random rotations.

    Attributes:
        flip: Flip each axis with probability 1/2.
        max_angle: Rotation angles are uniform in ``[-max_angle, max_angle]`` about each axis
            (π/8 in the papers); 0 disables rotations.
    """

    flip: bool = True
    max_angle: float = math.pi / 8

    def __post_init__(self) -> None:
        """Validate the angle."""
        if not (math.isfinite(self.max_angle) and 0.0 <= self.max_angle <= math.pi):
            raise ConfigError(f"max_angle must be in [0, π] radians, got {self.max_angle!r}")

    def __call__(self, volume: Volume | None, rng: np.random.Generator) -> FlipRotate:
        """Draw flips (3 Bernoulli(1/2)) then angles (3 uniform), in that order."""
        flips = rng.random(3) < 0.5
        angles = rng.uniform(-self.max_angle, self.max_angle, size=3)
        return FlipRotate(
            tuple(bool(f) and self.flip for f in flips),  # type: ignore[arg-type]
            tuple(float(a) for a in angles) if self.max_angle > 0 else (0.0, 0.0, 0.0),  # type: ignore[arg-type]
        )


# --------------------------------------------------------------------------- normalise


def dataset_statistics(images: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-modality mean and standard deviation over every voxel of every ``(M, D, H, W)`` image.

    Accumulated in float64 (sum and sum of squares), so the data set need not fit in one array.
    A modality with zero spread gets std 1 (normalisation then only centres it).
    """
    count = 0
    total: np.ndarray | None = None
    squares: np.ndarray | None = None
    for image in images:
        flat = image.reshape(image.shape[0], -1).astype(np.float64)
        total = flat.sum(axis=1) if total is None else total + flat.sum(axis=1)
        squares = (flat**2).sum(axis=1) if squares is None else squares + (flat**2).sum(axis=1)
        count += flat.shape[1]
    if total is None or squares is None or count == 0:
        raise DataError("dataset_statistics: no images given")
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean**2, 0.0))
    std[std <= 1e-12] = 1.0
    return mean, std


@dataclass(frozen=True)
class Normalise:
    """``(x - mean[m]) / std[m]`` per modality ``m``."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def apply(self, volume: Volume) -> Volume:
        """Normalise the image; label and spacing are unchanged."""
        if volume.image.shape[0] != len(self.mean):
            raise ConfigError(
                f"normalisation has statistics for {len(self.mean)} modalities but the image "
                f"has {volume.image.shape[0]}; compute the statistics on the same modalities"
            )
        mean = np.asarray(self.mean, dtype=np.float64)[:, None, None, None]
        std = np.asarray(self.std, dtype=np.float64)[:, None, None, None]
        image = ((volume.image - mean) / std).astype(np.float32)
        return Volume(image, volume.label, volume.spacing)

    def apply_probability(self, probability: np.ndarray) -> np.ndarray:
        """Probabilities are not intensities: unchanged."""
        return probability


@dataclass(frozen=True)
class ZNormalise:
    """Z-normalise with fixed statistics (e.g. from :func:`dataset_statistics`)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        """Validate the statistics."""
        mean = tuple(float(m) for m in self.mean)
        std = tuple(float(s) for s in self.std)
        if len(mean) != len(std) or not mean:
            raise ConfigError(
                f"ZNormalise needs one mean and one std per modality, got {self.mean!r} and "
                f"{self.std!r}"
            )
        if not all(math.isfinite(s) and s > 0 for s in std) or not all(map(math.isfinite, mean)):
            raise ConfigError(f"ZNormalise: means must be finite and stds > 0, got std={std!r}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    def __call__(self, volume: Volume, rng: np.random.Generator) -> Normalise:
        """Return the (deterministic) normalisation."""
        return Normalise(self.mean, self.std)


# --------------------------------------------------------------------------- pipeline


@dataclass(frozen=True)
class Pipeline:
    """Steps run in order; each draws its transform on the output of the previous one."""

    steps: tuple[Step, ...]

    def __init__(self, steps: Iterable[Step]) -> None:
        """Compose ``steps``."""
        object.__setattr__(self, "steps", tuple(steps))

    def __call__(
        self, volume: Volume, rng: np.random.Generator
    ) -> tuple[Volume, tuple[Transform, ...]]:
        """Run the steps; return the result and the transforms that were drawn."""
        transforms = []
        for step in self.steps:
            transform = step(volume, rng)
            volume = transform.apply(volume)
            transforms.append(transform)
        return volume, tuple(transforms)


def replay(transforms: Iterable[Transform], probability: np.ndarray) -> np.ndarray:
    """Apply recorded transforms to a probability map, clipped to [0, 1] as float32."""
    for transform in transforms:
        probability = transform.apply_probability(probability)
    return np.clip(probability, 0.0, 1.0).astype(np.float32, copy=False)


# --------------------------------------------------------------------------- provenance


@dataclass(frozen=True)
class Provenance:
    """How a case was derived from its files on disk.

    Attributes:
        source_shape: ``(D, H, W)`` of the volume as read from disk (after reorientation).
        preprocessing: The transforms from the file's grid to the case's grid (crop, resize).
        augmentation: Transforms applied afterwards at reset (flips, rotations), if any.
    """

    source_shape: tuple[int, int, int]
    preprocessing: tuple[Transform, ...] = ()
    augmentation: tuple[Transform, ...] = ()

    def to_case_grid(self, probability: np.ndarray, case_shape: tuple[int, ...]) -> np.ndarray:
        """A probability map on the file grid or the preprocessed grid, on the preprocessed grid.

        A map of ``source_shape`` goes through the preprocessing; a map of the case's shape
        (e.g. a cached coarse prediction) is returned as is.
        """
        if probability.shape == self.source_shape:
            return replay(self.preprocessing, probability)
        if probability.shape != tuple(case_shape):
            raise DataError(
                f"probability volume has shape {probability.shape}; expected the file grid "
                f"{self.source_shape} or the case grid {tuple(case_shape)}"
            )
        return probability

    def to_case_frame(self, probability: np.ndarray, case_shape: tuple[int, ...]) -> np.ndarray:
        """:meth:`to_case_grid`, then the augmentation (flips, rotations), as float32."""
        return replay(self.augmentation, self.to_case_grid(probability, case_shape))

    def without_augmentation(self) -> Provenance:
        """The same provenance before any augmentation (hashable: a memo key)."""
        return Provenance(self.source_shape, self.preprocessing)


_PROVENANCE: dict[int, Provenance] = {}


def register_provenance(case: Case, provenance: Provenance) -> None:
    """Remember how ``case`` was made (kept while its label array is alive)."""
    key = id(case.label)
    if key not in _PROVENANCE:
        weakref.finalize(case.label, _PROVENANCE.pop, key, None)
    _PROVENANCE[key] = provenance


def case_provenance(case: Case) -> Provenance | None:
    """The provenance of ``case``, or None for cases not made from files (e.g. synthetic)."""
    return _PROVENANCE.get(id(case.label))


def augment_case(
    case: Case,
    rng: np.random.Generator,
    *,
    flip: bool = True,
    max_angle: float = math.pi / 8,
) -> Case:
    """A randomly flipped and rotated copy of ``case`` (image linear, label nearest).

    Rotations can push a small object near the border out of the volume; if the rotated label
    is empty, the flips alone are applied. The copy keeps the name and spacing, and its
    provenance records the augmentation so that probability initialisers can follow it.
    """
    transform = RandomFlipRotate(flip=flip, max_angle=max_angle)(None, rng)
    source = Volume(case.image, case.label, case.spacing)
    volume = transform.apply(source)
    if not volume.label.any():
        transform = transform.without_rotation()
        volume = transform.apply(source)
    augmented = make_case(volume.image, volume.label, volume.spacing, name=case.name)
    parent = case_provenance(case) or Provenance(case.shape)
    register_provenance(
        augmented,
        Provenance(parent.source_shape, parent.preprocessing, (*parent.augmentation, transform)),
    )
    return augmented


def _int_range(what: str, value: object) -> tuple[int, int]:
    """A ``(lo, hi)`` pair of ints with ``0 <= lo <= hi``."""
    try:
        lo, hi = (int(v) for v in value)  # type: ignore[attr-defined]
        exact = all(int(v) == v for v in value)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a pair of ints (lo, hi), got {value!r}") from None
    if not exact or not 0 <= lo <= hi:
        raise ConfigError(f"{what} must be ints with 0 <= lo <= hi, e.g. (0, 10), got {value!r}")
    return lo, hi
