"""A straightforward reference implementation of one env step, the baseline of env_speed.py.

What a careful researcher would write first with numpy/scipy and no compiled kernels: the same
semantics as ``InteractiveSegEnv.step`` (action, cross-entropy gain, largest-error clicks,
geodesic hints), using ``scipy.ndimage.label`` per error class, ``center_of_mass`` and a
FastGeodis-style geodesic transform (plane-parallel sweeps along ±z, ±y, ±x, each plane
relaxed from its 9 neighbours in the previous plane, two iterations) in numpy. It exists to be
timed against, not used.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage


def reference_action(probability: np.ndarray, action: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Eq 2, written directly."""
    return np.clip(probability + deltas[action], 0.0, 1.0)


def reference_reward(
    previous: np.ndarray, current: np.ndarray, label: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Relative cross-entropy gain, both cross-entropies computed from scratch."""

    def ce(p: np.ndarray) -> np.ndarray:
        p = np.clip(p, eps, 1 - eps)
        return -(label * np.log(p) + (1 - label) * np.log(1 - p))

    return ce(previous) - ce(current)


def reference_clicks(
    prediction: np.ndarray, label: np.ndarray, n_clicks: int, rng: np.random.Generator, noise: int
) -> tuple[np.ndarray, np.ndarray]:
    """Centres of the largest FN/FP components (26-connected), jittered, labelled by the truth."""
    structure = np.ones((3, 3, 3), dtype=bool)
    regions = []
    for positive, mask in ((True, label & ~prediction), (False, prediction & ~label)):
        components, n = ndimage.label(mask, structure=structure)
        if n == 0:
            continue
        sizes = np.bincount(components.ravel())[1:]
        centres = ndimage.center_of_mass(mask, components, np.arange(1, n + 1))
        for index in range(n):
            regions.append((sizes[index], positive, components, index + 1, centres[index]))
    regions.sort(key=lambda region: -region[0])
    coords = []
    for _, _, components, index, centre in regions[:n_clicks]:
        voxels = np.argwhere(components == index)
        coords.append(voxels[np.argmin(((voxels - np.asarray(centre)) ** 2).sum(axis=1))])
    if not coords:
        return np.empty((0, 3), dtype=np.int64), np.empty(0, dtype=bool)
    jittered = np.asarray(coords) + rng.integers(-noise, noise + 1, size=(len(coords), 3))
    jittered = np.clip(jittered, 0, np.asarray(label.shape) - 1)
    return jittered, label[tuple(jittered.T)]


def reference_geodesic(
    image: np.ndarray, coords: np.ndarray, lam: float = 0.9, iterations: int = 2
) -> np.ndarray:
    """Plane-parallel raster sweeps in numpy (FastGeodis' scheme), costs computed on the fly."""
    image = image[0] if image.ndim == 4 else image
    distance = np.full(image.shape, np.inf, dtype=np.float32)
    distance[tuple(np.asarray(coords).T)] = 0.0
    for _ in range(iterations):
        for axis in range(3):
            moved_image = np.moveaxis(image, axis, 0)
            moved = np.moveaxis(distance, axis, 0)
            if moved.shape[0] < 2:
                continue
            for forward in (True, False):
                order = range(1, moved.shape[0]) if forward else range(moved.shape[0] - 2, -1, -1)
                for k in order:
                    previous = k - 1 if forward else k + 1
                    _relax_plane(moved, moved_image, k, previous, lam)
    return distance


def _relax_plane(
    distance: np.ndarray, image: np.ndarray, k: int, previous: int, lam: float
) -> None:
    height, width = distance.shape[1:]
    target = distance[k]
    for dy, dx in itertools.product((-1, 0, 1), repeat=2):
        ys = slice(max(dy, 0), height + min(dy, 0))
        yt = slice(max(-dy, 0), height + min(-dy, 0))
        xs = slice(max(dx, 0), width + min(dx, 0))
        xt = slice(max(-dx, 0), width + min(-dx, 0))
        step = (1 - lam) * (1 + dy * dy + dx * dx)
        cost = np.sqrt(step + lam * (image[k][yt, xt] - image[previous][ys, xs]) ** 2)
        np.minimum(target[yt, xt], distance[previous][ys, xs] + cost, out=target[yt, xt])


def reference_hint(image: np.ndarray, coords: np.ndarray, scale: float) -> np.ndarray:
    """Geodesic hint map ``exp(-d / scale)``, all zeros without clicks."""
    if len(coords) == 0:
        return np.zeros(image.shape[-3:], dtype=np.float32)
    return np.exp(-reference_geodesic(image, coords) / scale)
