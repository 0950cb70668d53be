"""Object geometries of the synthetic families other than ``lesion`` (see :mod:`.synthetic`).

Each function draws one ground truth inside a :class:`~._geometry.Brain` from ``rng`` and
returns its :class:`~._geometry.ObjectMaps`: the bool label (never empty, inside the border
margins of :func:`~._geometry.border_margins`), a signed depth in voxels (> 0 inside, ≤ 0
outside) and a relative depth (0 on the surface, 1 at the deepest point) that the appearance
model of :mod:`.synthetic` turns into intensities. They take plain values, not the generator's
knobs; loops run over a handful of branches or components, never over voxels.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from segenv.data._geometry import (
    Brain,
    ObjectMaps,
    axis_coordinates,
    border_margins,
    ellipsoid_distance,
    fill_holes,
    largest_component,
    smooth_field,
    unit_ball_volume,
)

_GAP = 2.0  # minimal distance in voxels between two metastases: never 26-adjacent


def _inside_margins(shape: tuple[int, int, int]) -> np.ndarray:
    """Bool mask of the voxels at least the border margin away from every face."""
    inside = np.ones(shape, dtype=bool)
    for axis, margin in enumerate(border_margins(shape).tolist()):
        if margin:
            index = [slice(None)] * 3
            index[axis] = slice(0, margin)
            inside[tuple(index)] = False
            index[axis] = slice(shape[axis] - margin, None)
            inside[tuple(index)] = False
    return inside


def _in_plane_of(active: np.ndarray) -> np.ndarray:
    """A 3×3×3 mask that keeps only the centre plane along the singleton axes."""
    keep = np.ones((3, 3, 3), dtype=bool)
    for axis in np.flatnonzero(~active).tolist():
        view = [1, 1, 1]
        view[axis] = 3
        keep &= (np.arange(3) == 1).reshape(view)
    return keep


def _gradient_norm(field: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Magnitude of the gradient of ``field`` per voxel over the non-singleton axes."""
    total = np.zeros(field.shape, dtype=np.float32)
    for axis in np.flatnonzero(active).tolist():
        total += np.gradient(field, axis=axis) ** 2
    return np.sqrt(total)


def _signed_maps(label: np.ndarray, depth: np.ndarray, scale: np.ndarray | float) -> ObjectMaps:
    """Object maps from a label and an approximate signed distance (> 0 inside, in voxels)."""
    depth = np.where(label, np.maximum(depth, 0.5), np.minimum(depth, 0.0)).astype(np.float32)
    relative = np.where(label, np.clip(depth / np.maximum(scale, 0.5), 0.0, 1.0), 0.0)
    return ObjectMaps(label=label, depth=depth, relative_depth=relative.astype(np.float32))


def _nearest_allowed(allowed: np.ndarray, point: np.ndarray) -> tuple[int, ...]:
    """The voxel of ``allowed`` nearest to ``point`` (the fallback that keeps labels non-empty)."""
    index = np.argwhere(allowed)
    return tuple(index[int(np.argmin(((index - point) ** 2).sum(axis=1)))].tolist())


# --------------------------------------------------------------------------- tissue


def tissue_band(
    shape: tuple[int, int, int],
    brain: Brain,
    rng: np.random.Generator,
    *,
    difficulty: float,
) -> tuple[ObjectMaps, np.ndarray]:
    """A folded sheet a few voxels thick (a cortical ribbon) and the CSF layer outside it.

    The sheet is the band ``|g| / |∇g| ≤ h`` around the zero set of
    ``g = r + A f - r0``: ``r`` the normalised brain radius, ``f`` a smooth unit field (the
    folds, amplitude ``A`` growing with difficulty) and ``r0`` the mid-depth of the ribbon, so
    it is a closed, convoluted shell of nearly constant thickness ``2h`` (2-3.5 voxels),
    cut by the border margins. Returns the object maps and a CSF fraction map: a layer just
    outside the sheet (the sulcal side) covering a fraction ``difficulty`` of it, so that at
    high difficulty the ribbon lies between a brighter and a darker neighbour, as grey matter
    does between white matter and CSF on T1.
    """
    active = brain.active
    scale = float(max(shape))
    coords = axis_coordinates(shape)
    radius = ellipsoid_distance(coords, brain.centre, brain.semi_axes, active)
    radius = radius + 0.03 * smooth_field(shape, 0.12 * scale, rng)
    folds = smooth_field(shape, float(rng.uniform(0.03, 0.045)) * scale, rng)
    amplitude = float(rng.uniform(0.8, 1.2)) * (0.08 + 0.08 * difficulty)
    level = radius + amplitude * folds - float(rng.uniform(0.6, 0.75))
    distance = np.abs(level) / np.maximum(_gradient_norm(level, active), 1e-4)
    half = float(rng.uniform(0.9, 1.6))
    allowed = _inside_margins(shape) & (radius < 0.97)
    label = largest_component((distance <= half) & allowed)
    if not label.any():
        label = np.zeros(shape, dtype=bool)
        label[_nearest_allowed(allowed, brain.centre)] = True
    sulcal = smooth_field(shape, 0.06 * scale, rng)
    cut = float(np.quantile(sulcal.ravel()[::7], difficulty)) if difficulty > 0 else -np.inf
    width = 1.0 + 1.0 * difficulty
    csf = (level > 0) & (distance > half) & (distance <= half + width) & (sulcal < cut)
    maps = _signed_maps(label, half - distance, half)
    return maps, (csf & ~label).astype(np.float32)


# --------------------------------------------------------------------------- tubes


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows of ``vectors`` scaled to length 1 (zero rows unchanged)."""
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norm, 1e-9)


def _walk(
    start: np.ndarray,
    direction: np.ndarray,
    steps: int,
    wiggle: float,
    active: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Positions ``(steps + 1, 3)`` of a smooth random walk of unit steps from ``start``.

    Each step heads along ``direction`` plus ``wiggle`` times a smooth random vector (white
    noise Gaussian-filtered over 3 steps, unit std), so the path meanders but never kinks.
    """
    noise = rng.standard_normal((steps + 8, 3))
    smooth = ndimage.gaussian_filter1d(noise, 3.0, axis=0, mode="nearest")[4 : steps + 4]
    smooth /= max(float(smooth.std()), 1e-9)
    headings = _unit((direction + wiggle * smooth) * active)
    return start + np.concatenate([np.zeros((1, 3)), np.cumsum(headings, axis=0)])


def tube_tree(
    shape: tuple[int, int, int],
    brain: Brain,
    rng: np.random.Generator,
    *,
    difficulty: float,
) -> ObjectMaps:
    """One to three branching tubes (vessel-like trees) of radius 1-3 voxels.

    Every branch is a smooth random walk of one-voxel steps (:func:`_walk`; it meanders more at
    high difficulty) that stops where it would leave the brain or the margins; it tapers by
    1.5 % a step, down to radius 1, and spawns children at a fixed rate per step (radius ×
    0.6-0.8, a turn of 35-80°, half the length), at most three generations. A branch that
    stops early turns back towards the centre and goes on (three times at most). Each tree's
    root lies half-way out in the brain, heading inwards. The centre lines are sampled every
    quarter voxel and the tube is every voxel within the radius of its nearest centre-line
    point (one Euclidean distance transform with indices).
    """
    active = brain.active
    dims = np.array(shape, dtype=np.float64)
    margin = border_margins(shape).astype(np.float64)
    extent = float(sorted(shape)[1])
    top_radius = min(3.0, max(1.2, 0.07 * extent))
    wiggle = 0.3 + 0.3 * difficulty
    points: list[np.ndarray] = []
    radii: list[np.ndarray] = []
    roots: list[np.ndarray] = []
    for _ in range(1 + int(rng.binomial(2, 0.5))):
        toward = _unit(rng.standard_normal(3) * active * brain.semi_axes)
        root = brain.centre + float(rng.uniform(0.4, 0.6)) * toward * brain.semi_axes
        root = np.clip(root, margin + top_radius, dims - 1 - margin - top_radius)
        roots.append(root)
        first = _unit((_unit(rng.standard_normal(3) * active) * 0.6 - toward) * active)
        radius = float(rng.uniform(0.75, 1.0)) * top_radius
        pending = [(root, first, radius, 1.2 * extent, 0, 0)]
        while pending:
            start, direction, radius, length, generation, bounces = pending.pop()
            path = _walk(start, direction, max(2, round(length)), wiggle, active, rng)
            room = margin + radius
            fits = ((path >= room) & (path <= dims - 1 - room)) | ~active
            keep = fits.all(axis=1) & (brain.radius_at(path) <= 0.85)
            keep[0] = True
            stop = len(path) if keep.all() else max(int(np.argmin(keep)), 1)
            path = path[:stop]
            taper = np.maximum(1.0, radius * 0.985 ** np.arange(len(path)))
            quarter = np.arange(4)[:, None, None] / 4
            between = path[:-1] + quarter * (path[1:] - path[:-1]) if len(path) > 1 else path
            points.append(between.reshape(-1, 3))
            radii.append(np.tile(taper[:-1], 4) if len(path) > 1 else taper)
            left = length - len(path)
            if left > 4 and bounces < 3:  # turn back inside and go on
                inward = _unit((brain.centre - path[-1]) * active)
                heading = _unit(path[-1] - path[-2]) if len(path) > 1 else direction
                turned = _unit(inward + 0.5 * heading)
                pending.append((path[-1], turned, float(taper[-1]), left, generation, bounces + 1))
            if generation == 3 or len(path) < 4:
                continue
            spots = np.flatnonzero(rng.random(len(path) - 2) < 0.08) + 1
            for spot in spots.tolist():
                if taper[spot] < 1.2:
                    continue
                heading = _unit(path[spot + 1] - path[spot - 1])
                side = _unit(rng.standard_normal(3) * active)
                side = _unit(side - float(side @ heading) * heading)
                angle = math.radians(float(rng.uniform(35.0, 80.0)))
                child = math.cos(angle) * heading + math.sin(angle) * side
                shrink = float(rng.uniform(0.6, 0.8))
                size = float(taper[spot]) * shrink
                pending.append((path[spot], child, size, 0.5 * length, generation + 1, 0))
    centres = np.concatenate(points)
    widths = np.concatenate(radii).astype(np.float32)
    index = np.clip(np.rint(centres).astype(int), 0, dims.astype(int) - 1)
    seeds = np.zeros(shape, dtype=np.float32)
    np.maximum.at(seeds, tuple(index.T), widths)
    distance, nearest = ndimage.distance_transform_edt(seeds == 0, return_indices=True)
    local = seeds[tuple(nearest)]
    allowed = _inside_margins(shape)
    label = (distance <= local) & allowed
    if not label.any():
        label[_nearest_allowed(allowed, roots[0])] = True
    return _signed_maps(label, local - distance.astype(np.float32), local)


# --------------------------------------------------------------------------- organ


def organ(
    shape: tuple[int, int, int],
    brain: Brain,
    rng: np.random.Generator,
    *,
    object_size: float,
    difficulty: float,
) -> tuple[ObjectMaps, np.ndarray]:
    """One large smooth organ (``object_size`` of the volume) and the neighbours touching it.

    The organ is an ellipsoid shaped like the room inside the margins, perturbed by smooth
    low-frequency noise (more at high difficulty) and thresholded at the quantile that gives the
    requested volume inside the margins and the body; holes filled, largest component kept.
    Two to four neighbouring organs are ellipsoids centred on its surface, minus the organ:
    they touch it over part of its outline. Returns the object maps and the neighbours' mask.
    """
    active = brain.active
    scale = float(max(shape))
    dims = np.array(shape, dtype=np.float64)
    coords = axis_coordinates(shape)
    body = ellipsoid_distance(coords, brain.centre, brain.semi_axes, active) < 0.97
    allowed = _inside_margins(shape) & body
    volume = min(object_size * math.prod(shape), 0.85 * float(allowed.sum()))
    dims_active = int(active.sum())
    room = np.maximum(dims - 1 - 2 * border_margins(shape), 1.0) / 2
    semi = room * np.exp(rng.normal(0.0, 0.15, size=3))  # shaped like the room it has
    stretch = (volume / unit_ball_volume(dims_active) / np.prod(semi[active])) ** (1 / dims_active)
    semi = np.where(active, np.maximum(semi * stretch, 0.5), 0.5)
    radius = float(np.prod(semi[active]) ** (1 / dims_active))
    centre = brain.centre + rng.uniform(-0.1, 0.1, size=3) * dims * active
    shape_field = -ellipsoid_distance(coords, centre, semi, active)
    roughness = 0.12 + 0.18 * difficulty
    field = shape_field + roughness * smooth_field(shape, 0.15 * scale, rng)
    values = field[allowed]
    count = int(min(max(1, round(volume)), values.size))
    threshold = float(np.partition(values, values.size - count)[values.size - count])
    label = largest_component(fill_holes((field >= threshold) & allowed) & allowed)
    cross = ndimage.generate_binary_structure(3, 1) & _in_plane_of(active)
    candidates = np.argwhere(label & ~ndimage.binary_erosion(label, cross))
    neighbours = np.zeros(shape, dtype=bool)
    for _ in range(2 + int(rng.integers(0, 3))):
        point = candidates[int(rng.integers(0, len(candidates)))].astype(np.float64)
        size = np.maximum(radius * rng.uniform(0.35, 0.6, size=3), 1.0)
        neighbours |= ellipsoid_distance(coords, point, size, active) <= 1.0
    gradient = _gradient_norm(field, active)
    depth = (field - threshold) / np.maximum(gradient, 1e-4)
    return _signed_maps(label, depth, radius), neighbours & body & ~label


# --------------------------------------------------------------------------- metastases


def metastases(
    shape: tuple[int, int, int],
    brain: Brain,
    rng: np.random.Generator,
    *,
    object_size: float,
    count: int,
    exact: bool,
    difficulty: float,
) -> ObjectMaps | None:
    """``count`` small separate nodules whose volumes add up to ``object_size`` of the volume.

    Volumes are log-normal shares (radius at least ``1.5 - 0.5 d`` voxels); each nodule is a
    slightly irregular ellipsoid. Centres are drawn in the brain and accepted greedily, largest
    first, when their bounding balls stay ``_GAP`` voxels apart, so the nodules are separate
    components even under 26-connectivity. Nodules that do not fit are dropped, or, if
    ``exact``, None is returned (the caller raises).
    """
    active = brain.active
    dims_active = int(active.sum())
    dims = np.array(shape, dtype=np.float64)
    weights = np.sort(rng.lognormal(0.0, 0.5, size=count))[::-1]
    volumes = object_size * math.prod(shape) * weights / weights.sum()
    radii = (volumes / unit_ball_volume(dims_active)) ** (1 / dims_active)
    radii = np.maximum(radii, 1.5 - 0.5 * difficulty)
    aspects = np.exp(rng.normal(0.0, 0.2, size=(count, 3)))
    semi = np.where(active, radii[:, None] * aspects, 0.5)
    bound = np.max(np.where(active, semi, 0.0), axis=1) * 1.1 + 0.5
    margin = border_margins(shape).astype(np.float64)
    tries = 256
    candidates = rng.uniform(size=(count, tries, 3))
    centres: list[np.ndarray] = []
    kept: list[int] = []
    for part in range(count):
        inset = np.minimum(margin + bound[part], (dims - 1) / 2)
        options = np.where(active, inset + candidates[part] * (dims - 1 - 2 * inset), brain.centre)
        ok = brain.radius_at(options) < 0.85
        for other, centre in zip(kept, centres, strict=True):
            ok &= np.linalg.norm(options - centre, axis=1) >= bound[part] + bound[other] + _GAP
        if not ok.any():
            if exact:
                return None
            continue
        centres.append(options[int(np.argmax(ok))])
        kept.append(part)
    if not centres:  # nothing fits: one nodule at the centre
        centres, kept = [brain.centre.copy()], [0]
    noise = smooth_field(shape, 1.0, rng)
    label = np.zeros(shape, dtype=bool)
    depth = np.full(shape, -np.inf, dtype=np.float32)
    relative = np.zeros(shape, dtype=np.float32)
    for part, centre in zip(kept, centres, strict=True):
        lo = np.maximum(np.floor(centre - bound[part]).astype(int), 0)
        hi = np.minimum(np.ceil(centre + bound[part]).astype(int) + 1, np.array(shape))
        crop = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        box = axis_coordinates(shape, lo.tolist(), hi.tolist())
        distance = ellipsoid_distance(box, centre, semi[part], active) + 0.08 * noise[crop]
        ball = sum((box[a] - float(centre[a])) ** 2 for a in range(3)) <= bound[part] ** 2
        mask = (distance <= 1.0) & ball
        core = tuple(int(v) for v in np.rint(centre) - lo)
        mask[core] = True
        components, _ = ndimage.label(mask)
        mask = components == components[core]
        part_depth = (1.0 - distance) * float(radii[part])
        label[crop] |= mask
        depth[crop] = np.maximum(depth[crop], np.where(ball, part_depth, -np.inf))
        relative[crop] = np.where(mask, np.clip(1.0 - distance, 0.0, 1.0), relative[crop])
    depth = np.where(label, np.maximum(depth, 0.5), np.minimum(depth, 0.0))
    return ObjectMaps(label=label, depth=depth.astype(np.float32), relative_depth=relative)
