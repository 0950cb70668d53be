"""Geometry primitives of the synthetic generator: smooth random fields, distances, masks.

Shared by :mod:`segenv.data.synthetic` (the public generator, its ``lesion`` family and the
tissue appearance) and :mod:`segenv.data._shapes` (the other object families). Everything is
vectorised numpy / scipy.ndimage on ``(D, H, W)`` volumes; a singleton axis (``D = 1``, a 2D
case) is never filtered or measured along.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

MARGIN = 3
"""Voxels kept free between an object and the volume border (fewer on thin axes)."""


@dataclass(frozen=True)
class ObjectMaps:
    """The ground truth and the maps its intensity profile is drawn from."""

    label: np.ndarray  # bool (D, H, W)
    depth: np.ndarray  # signed depth in voxels: > 0 inside, < 0 outside (-inf far away)
    relative_depth: np.ndarray  # 0 at the surface, ~1 at the deepest point of each part


def active_axes(shape: tuple[int, int, int]) -> np.ndarray:
    """Boolean mask of the non-singleton axes (a 2D case has D = 1)."""
    return np.array([n > 1 for n in shape])


def axis_coordinates(
    shape: tuple[int, int, int], lo: Sequence[int] | None = None, hi: Sequence[int] | None = None
) -> list[np.ndarray]:
    """Open-grid float32 voxel coordinates per axis (broadcastable to the box ``[lo, hi)``)."""
    lo = (0, 0, 0) if lo is None else lo
    hi = shape if hi is None else hi
    coords = []
    for axis in range(3):
        view = [1, 1, 1]
        view[axis] = hi[axis] - lo[axis]
        coords.append(np.arange(lo[axis], hi[axis], dtype=np.float32).reshape(view))
    return coords


def upsample_bspline(field: np.ndarray, shape: tuple[int, ...], step: int) -> np.ndarray:
    """Upsample a coarse grid (spacing ``step``) onto ``shape`` with quadratic B-splines.

    The coarse grid has one voxel of padding at each end. Unlike linear interpolation, the
    result is smooth (C¹), so level sets show no kinks.
    """
    for axis, n in enumerate(shape):
        if field.shape[axis] == n:
            continue
        position = np.arange(n, dtype=np.float32) / step + 1.0
        centre = np.rint(position).astype(np.intp)
        view = [1] * field.ndim
        view[axis] = n
        t = (position - centre.astype(np.float32)).reshape(view)
        field = (
            0.5 * (0.5 - t) ** 2 * np.take(field, centre - 1, axis=axis)
            + (0.75 - t**2) * np.take(field, centre, axis=axis)
            + 0.5 * (0.5 + t) ** 2 * np.take(field, centre + 1, axis=axis)
        )
    return field


def smooth_field(shape: tuple[int, int, int], sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian-filtered white noise with (about) zero mean and unit std (float32).

    A large ``sigma`` is filtered on a grid ``sigma / 1.5`` times coarser and B-spline upsampled
    (whose own blur is accounted for), so the cost hardly depends on ``sigma``. Singleton axes
    are not filtered.
    """
    step = max(1, round(sigma / 1.5))
    coarse = tuple(n if n == 1 or step == 1 else -(-(n - 1) // step) + 3 for n in shape)
    noise = rng.random(coarse, dtype=np.float32)  # uniform: filtered, it is Gaussian enough
    coarse_sigma = math.sqrt((sigma / step) ** 2 - 0.25) if step > 1 else sigma
    sigmas = tuple(0.0 if n == 1 else coarse_sigma for n in shape)
    field = ndimage.gaussian_filter(noise, sigmas, mode="reflect", truncate=3.0)
    if step > 1:
        field = upsample_bspline(field, shape, step)
    sample = field.ravel()[::5]
    std = float(sample.std())
    return (field - sample.mean()) / (std if std > 0 else 1.0)


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, a smooth cubic in between."""
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def ellipsoid_distance(
    coords: Sequence[np.ndarray], centre: np.ndarray, semi_axes: np.ndarray, active: np.ndarray
) -> np.ndarray:
    """Normalised ellipsoid distance ``‖(x - c) / a‖`` over the active axes (1 on the surface)."""
    total: np.ndarray | float = 0.0
    for axis in np.flatnonzero(active).tolist():
        total = total + ((coords[axis] - float(centre[axis])) * (1.0 / float(semi_axes[axis]))) ** 2
    return np.sqrt(np.asarray(total, dtype=np.float32))


def unit_ball_volume(dims: int) -> float:
    """Volume of the unit ball in ``dims`` dimensions (π in 2D, 4π/3 in 3D)."""
    return math.pi ** (dims / 2) / math.gamma(dims / 2 + 1)


@dataclass(frozen=True)
class Brain:
    """A brain-like ellipsoid filling the box (corners empty, like a bounding-box crop)."""

    centre: np.ndarray
    semi_axes: np.ndarray
    active: np.ndarray

    def radius_at(self, points: np.ndarray) -> np.ndarray:
        """Normalised ellipsoid distance of ``(K, 3)`` points (1 on the outline)."""
        scaled = (points - self.centre) / self.semi_axes * self.active
        return np.sqrt((scaled**2).sum(axis=-1))


def draw_brain(shape: tuple[int, int, int], rng: np.random.Generator) -> Brain:
    """Ellipsoid parameters: in-plane it touches the borders, along z it is taller."""
    scale = rng.uniform((1.2, 1.04, 1.04), (1.4, 1.12, 1.12))
    dims = np.array(shape, dtype=np.float64)
    return Brain(
        centre=(dims - 1) / 2,
        semi_axes=np.maximum(dims * scale / 2, 0.5),
        active=active_axes(shape),
    )


def border_margins(shape: tuple[int, int, int]) -> np.ndarray:
    """Per-axis border margin: ``MARGIN`` voxels, fewer on thin axes, 0 on singleton axes."""
    return np.array([min(MARGIN, n // 6) for n in shape])


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` plus the background components that touch no face of the (non-singleton) box.

    The same as ``ndimage.binary_fill_holes`` on a 2D or 3D box, but one labelling pass.
    """
    background, count = ndimage.label(~mask)
    if count == 0:
        return mask
    touching = np.zeros(count + 1, dtype=bool)
    for axis, length in enumerate(mask.shape):
        if length > 1:
            touching[np.take(background, [0, length - 1], axis=axis)] = True
    return mask | ~touching[background]


def largest_component(mask: np.ndarray) -> np.ndarray:
    """Keep the largest face-connected component of ``mask``."""
    labels, count = ndimage.label(mask)
    if count <= 1:
        return mask
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(np.argmax(sizes))


def euclidean_distance(coords: Sequence[np.ndarray], point: np.ndarray) -> np.ndarray:
    """Distance in voxels from every voxel of the box to ``point``."""
    squared = sum((coords[axis] - float(point[axis])) ** 2 for axis in range(3))
    return np.sqrt(np.asarray(squared, dtype=np.float32))


def top_fraction(field: np.ndarray, candidates: np.ndarray, count: int) -> np.ndarray:
    """Select the ``count`` candidate voxels with the highest ``field`` (ties may add a few)."""
    available = int(candidates.sum())
    count = min(count, available)
    if count <= 0:
        return np.zeros(field.shape, dtype=bool)
    values = field[candidates]
    cut = float(np.partition(values, available - count)[available - count])
    return candidates & (field >= cut)
