"""The simulated user: where a user clicks on the current prediction's mistakes (SPEC §6).

A *user simulator* is a pure function ``user(context, n_clicks, rng, **params)`` that looks at a
:class:`UserContext` (prediction, ground truth, image, probability, step, optional learner
confidence) and returns the **intended** click positions, an int64 array ``(k, 3)`` of
``(z, y, x)`` voxel indices with ``k <= n_clicks``. :func:`place_clicks` then moves each click by
uniform integer noise (the hand of a real user, IteR-MRL §4.2: ``[-3, 3]^3``) and labels it with
the ground truth where it lands: an *object* click (``+``) on foreground, a *background* click
(``-``) elsewhere. :func:`simulate_clicks` does both and validates the user's output.

A user that can **mislead** returns :class:`IntendedClicks` instead of an array: the positions,
what its clicks say where they land (the truth, or "this is wrong here", i.e. the opposite of
the current prediction) and which labels it then flips. Its clicks' labels are then not the
ground truth.

Registered users (``USERS``; pass a name or the function itself):

==================  ===========================================================================
``largest_error``   IteR-MRL §4.2 (default): the centres of the ``n`` largest error regions.
``deepest_point``   RITM-style: the voxel farthest from the boundary of each of those regions.
``edge``            MECCA §4.2: random mis-predicted voxels of the object boundary.
``random``          uniformly random voxels with their true labels: uninformative, never wrong.
``misleading``      "bad interaction" (IteR-MRL Table 6): random voxels (or only voxels already
                    right) whose clicks say "this is wrong" and/or carry a rate of wrong labels.
``perturbed``       robustness (after Marinov et al., MICCAI 2024): ``largest_error`` with
                    placement jitter in mm, skipped clicks and optionally wrong labels.
``none``            "W/O interaction" (Table 6): no clicks; the env fills the hints with noise.
``guided``          MECCA §3.5 interaction guide: clicks inside the least-confident supervoxels.
==================  ===========================================================================

Error regions are the connected components (26-connectivity; a ``D = 1`` volume is labelled as
one 2D slice, i.e. 8-connectivity in-plane) of the false negatives and, separately, of the false
positives; a false-negative region gets an object click, a false-positive one a background
click. A region's *centre* is its voxel nearest to its centroid (with the voxel spacing), so a
click lies inside the region even when it is non-convex (an L or a ring).

Adding a user::

    import numpy as np
    from segenv.interaction import USERS

    @USERS.register("first_error")
    def first_error(context, n_clicks, rng):
        errors = np.argwhere(context.prediction != context.label)
        return errors[:n_clicks]

A user whose hint maps should be random noise instead of click maps (like ``none``) is marked
with :func:`requests_noise_hints`; the env asks :func:`wants_noise_hints`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numba
import numpy as np
from scipy import ndimage
from skimage.segmentation import slic

from segenv.errors import ConfigError, InputTypeError, describe
from segenv.registry import Registry
from segenv.validation import check_choice, check_count, check_number

__all__ = [
    "USERS",
    "Clicks",
    "IntendedClicks",
    "UserContext",
    "UserSimulator",
    "advice_regions",
    "guided_segment_count",
    "place_clicks",
    "requests_noise_hints",
    "simulate_clicks",
    "wants_noise_hints",
]

UserSimulator = Callable[..., "np.ndarray | IntendedClicks"]
"""``(context, n_clicks, rng, **params) -> int64 (k <= n_clicks, 3)`` intended click positions
(or :class:`IntendedClicks` for a user whose labels are not the ground truth)."""

USERS: Registry[UserSimulator] = Registry("user simulator", "user", "segenv.interaction.USERS")

F = TypeVar("F", bound=Callable[..., Any])
RngLike = int | np.random.Generator | None

FALSE_NEGATIVE = 1  # missed foreground: wants an object click
FALSE_POSITIVE = 2  # spurious foreground: wants a background click


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Clicks:
    """All clicks of an episode so far, in the order they were given.

    Attributes:
        coords: int64 ``(n, 3)`` voxel indices ``(z, y, x)``.
        labels: bool ``(n,)``; True = object click (``+``), False = background click (``-``).
            A click's label is the ground truth where it lands, except for users that mislead
            (:class:`IntendedClicks`).
        steps: int64 ``(n,)``, the env step at which each click was given (0 = at reset).
    """

    coords: np.ndarray
    labels: np.ndarray
    steps: np.ndarray

    def __post_init__(self) -> None:
        coords = np.asarray(self.coords)
        labels = np.asarray(self.labels)
        steps = np.asarray(self.steps)
        if coords.size == 0:
            coords = coords.reshape(0, 3)
        if coords.ndim != 2 or coords.shape[1] != 3:
            raise ConfigError(f"Clicks: coords must be (n, 3) (z, y, x), got {describe(coords)}")
        n = coords.shape[0]
        for name, values in (("labels", labels), ("steps", steps)):
            if values.shape != (n,):
                raise ConfigError(
                    f"Clicks: {name} must have shape ({n},) to match coords, got {describe(values)}"
                )
        for name, values, kinds in (("coords", coords, "iu"), ("steps", steps, "iu")):
            if n and values.dtype.kind not in kinds:
                raise InputTypeError(f"Clicks: {name} must be integers, got {describe(values)}")
        if n and labels.dtype.kind != "b":
            raise InputTypeError(f"Clicks: labels must be bool, got {describe(labels)}")
        object.__setattr__(self, "coords", coords.astype(np.int64, copy=False))
        object.__setattr__(self, "labels", labels.astype(bool, copy=False))
        object.__setattr__(self, "steps", steps.astype(np.int64, copy=False))

    @classmethod
    def empty(cls) -> Clicks:
        """No clicks."""
        return cls(np.empty((0, 3), np.int64), np.empty(0, bool), np.empty(0, np.int64))

    def __len__(self) -> int:
        return int(self.coords.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Clicks):
            return NotImplemented
        return (
            np.array_equal(self.coords, other.coords)
            and np.array_equal(self.labels, other.labels)
            and np.array_equal(self.steps, other.steps)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        n_object = int(self.labels.sum())
        return f"Clicks(n={len(self)}, object={n_object}, background={len(self) - n_object})"

    def concat(self, other: Clicks) -> Clicks:
        """Return these clicks followed by ``other``'s."""
        if not isinstance(other, Clicks):
            raise InputTypeError(f"Clicks.concat: other must be Clicks, got {describe(other)}")
        return Clicks(
            np.concatenate([self.coords, other.coords]),
            np.concatenate([self.labels, other.labels]),
            np.concatenate([self.steps, other.steps]),
        )

    def of_class(self, positive: bool) -> np.ndarray:
        """Coordinates ``(k, 3)`` of the object clicks (``positive=True``) or background ones."""
        return self.coords[self.labels == bool(positive)]

    def at_step(self, step: int) -> Clicks:
        """Return the clicks given at env step ``step``."""
        keep = self.steps == step
        return Clicks(self.coords[keep], self.labels[keep], self.steps[keep])

    def as_dict(self) -> dict[str, np.ndarray]:
        """Plain array copies ``{"coords", "labels", "steps"}`` for info dicts / serialisation."""
        return {
            "coords": self.coords.copy(),
            "labels": self.labels.copy(),
            "steps": self.steps.copy(),
        }


@dataclass(frozen=True, eq=False)
class UserContext:
    """What a simulated user sees after the agents' action.

    Attributes:
        prediction: bool ``(D, H, W)``, ``probability >= 0.5``.
        label: bool ``(D, H, W)`` ground truth.
        image: float32 ``(M, D, H, W)``.
        probability: float32 ``(D, H, W)``, the current foreground probability.
        step: the env step (0 = at reset).
        confidence: the learner's action-confidence map ``(D, H, W)`` in [0, 1], or None; only
            the ``guided`` user needs it.
        previous_clicks: the clicks given earlier in the episode.
        spacing: voxel size in mm along (D, H, W); used for distances (region centres, depth).
    """

    prediction: np.ndarray
    label: np.ndarray
    image: np.ndarray
    probability: np.ndarray
    step: int
    confidence: np.ndarray | None = None
    previous_clicks: Clicks = field(default_factory=Clicks.empty)
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        for name in ("prediction", "label"):
            value = getattr(self, name)
            if not isinstance(value, np.ndarray) or value.dtype != bool or value.ndim != 3:
                raise InputTypeError(
                    f"UserContext: {name} must be a bool (D, H, W) array, got {describe(value)}; "
                    "pass e.g. probability >= 0.5 / label.astype(bool)"
                )
        shape = self.label.shape
        if self.prediction.shape != shape:
            raise ConfigError(
                f"UserContext: prediction shape {self.prediction.shape} != label shape {shape}"
            )
        image = self.image
        if not isinstance(image, np.ndarray) or image.ndim != 4 or image.shape[1:] != shape:
            raise ConfigError(
                f"UserContext: image must be (M, D, H, W) with (D, H, W) = {shape}, "
                f"got {describe(image)}"
            )
        for name in ("probability", "confidence"):
            value = getattr(self, name)
            if value is None and name == "confidence":
                continue
            if not isinstance(value, np.ndarray) or value.shape != shape:
                raise ConfigError(
                    f"UserContext: {name} must be a {shape} array, got {describe(value)}"
                )
        if isinstance(self.step, bool) or not isinstance(self.step, (int, np.integer)):
            raise InputTypeError(f"UserContext: step must be an int, got {self.step!r}")
        if self.step < 0:
            raise ConfigError(f"UserContext: step must be >= 0, got {self.step}")
        if not isinstance(self.previous_clicks, Clicks):
            raise InputTypeError(
                f"UserContext: previous_clicks must be Clicks, got {describe(self.previous_clicks)}"
            )
        spacing = tuple(float(s) for s in self.spacing)
        if len(spacing) != 3 or not all(np.isfinite(s) and s > 0 for s in spacing):
            raise ConfigError(
                f"UserContext: spacing must be 3 positive numbers, got {self.spacing!r}"
            )
        object.__setattr__(self, "spacing", spacing)

    @property
    def shape(self) -> tuple[int, int, int]:
        """The volume shape ``(D, H, W)``."""
        return tuple(self.label.shape)  # type: ignore[return-value]


MESSAGES = ("truth", "error")
"""What a click says where it lands: the ground truth, or "this is wrong here"."""


@dataclass(frozen=True, eq=False)
class IntendedClicks:
    """A user's intended clicks and what they will say: the return value of users that mislead.

    An honest user returns only the positions (an int64 ``(k, 3)`` array) and every click is
    labelled with the ground truth where it lands. This lets a user say something else.

    Attributes:
        coords: int64 ``(k, 3)`` intended voxel indices ``(z, y, x)``, ``k <= n_clicks``.
        message: ``"truth"``: a click's label is the ground truth where it lands; ``"error"``:
            it says "this is wrong here", i.e. the opposite of the current prediction where it
            lands (IteR-MRL's reading of a click), which is the wrong label wherever the
            prediction was already right.
        flip: bool ``(k,)`` or None: these clicks' labels are negated after ``message`` (a user
            that lies, or disagrees with the reference, at some rate).
    """

    coords: np.ndarray
    message: str = "truth"
    flip: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_choice("IntendedClicks: message", self.message, MESSAGES)
        coords = np.asarray(self.coords)
        object.__setattr__(self, "coords", coords)
        if self.flip is not None:
            flip = np.asarray(self.flip)
            k = coords.shape[0] if coords.ndim == 2 else coords.size // 3
            if flip.dtype.kind != "b" or flip.shape != (k,):
                raise ConfigError(
                    f"IntendedClicks: flip must be bool ({k},), one per click, got {describe(flip)}"
                )
            object.__setattr__(self, "flip", flip)


# --------------------------------------------------------------------------------------------
# Error regions
# --------------------------------------------------------------------------------------------


_MAX_NONZERO = {6: 1, 18: 2, 26: 3}  # connectivity -> most non-zero offset components


def _adjacent(a: tuple[int, ...], b: tuple[int, ...], connectivity: int) -> bool:
    step = [i - j for i, j in zip(a, b, strict=True)]
    nonzero = sum(v != 0 for v in step)
    return 0 < nonzero <= _MAX_NONZERO[connectivity] and max(abs(v) for v in step) <= 1


def _neighbour_plan(connectivity: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The raster-earlier neighbours of a voxel, in the order the labelling checks them.

    Returns ``(offsets (k, 3), rest (k, k), rest_counts (k,))``: once neighbour ``j`` is the
    first of equal value, only ``rest[j, :rest_counts[j]]`` (later in the order and not
    adjacent to ``j``) can belong to another provisional component; the others touch ``j``
    and were united with it already. The order puts neighbours that touch many others first.
    """
    earlier = [
        (dz, dy, dx)
        for dz in (-1, 0)
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if (dz, dy, dx) < (0, 0, 0) and _adjacent((dz, dy, dx), (0, 0, 0), connectivity)
    ]
    order: list[tuple[int, int, int]] = []
    while earlier:
        best = max(
            earlier,
            key=lambda o: (sum(_adjacent(o, p, connectivity) for p in earlier if p != o), o),
        )
        order.append(best)
        earlier.remove(best)
    k = len(order)
    rest = np.zeros((k, k), np.int64)
    counts = np.zeros(k, np.int64)
    for j, offset in enumerate(order):
        later = [i for i in range(j + 1, k) if not _adjacent(order[i], offset, connectivity)]
        rest[j, : len(later)] = later
        counts[j] = len(later)
    return np.array(order, np.int64), rest, counts


_NEIGHBOUR_PLANS = {c: _neighbour_plan(c) for c in (6, 18, 26)}


@numba.njit(cache=True, nogil=True)
def _pad_code(
    code: np.ndarray, padded: np.ndarray, occupied: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``padded`` (flat ``(D+1, H+2, W+2)``) = ``code`` behind a zero plane and a zero frame.

    ``occupied[z * H + y]`` is set non-zero where row ``(z, y)`` holds a non-zero value.
    """
    d, h, w = code.shape
    pw = w + 2
    plane = (h + 2) * pw
    padded[: plane + pw] = 0
    for z in range(d):
        for y in range(h):
            base = (z + 1) * plane + (y + 1) * pw
            padded[base] = 0
            row = code[z, y]
            found = False
            for x in range(w):
                padded[base + 1 + x] = row[x]
                found |= row[x] != 0
            occupied[z * h + y] = found
            padded[base + w + 1 : base + pw + 1] = 0  # this row's end, the next row's start
        padded[(z + 1) * plane + (h + 1) * pw : (z + 2) * plane + pw] = 0


@numba.njit(cache=True, nogil=True)
def _pad_errors(
    prediction: np.ndarray, label: np.ndarray, padded: np.ndarray, occupied: np.ndarray
) -> None:  # pragma: no cover - compiled
    """:func:`_pad_code` of :func:`_error_code`; the masks given as uint8 views of the bools."""
    d, h, w = label.shape
    pw = w + 2
    plane = (h + 2) * pw
    padded[: plane + pw] = 0
    for z in range(d):
        for y in range(h):
            base = (z + 1) * plane + (y + 1) * pw + 1
            padded[base - 1] = 0
            predicted, truth = prediction[z, y], label[z, y]
            out = padded[base : base + w]
            found = np.uint8(0)
            for x in range(w):
                error = predicted[x] ^ truth[x]
                out[x] = error + (error & predicted[x])  # 1 = false negative, 2 = positive
                found |= error
            occupied[z * h + y] = found
            padded[base + w : base + w + 2] = 0  # this row's end, the next row's start
        padded[(z + 1) * plane + (h + 1) * pw : (z + 2) * plane + pw] = 0


@numba.njit(cache=True, nogil=True, inline="always")
def _find(parent: np.ndarray, a: int) -> int:  # pragma: no cover - compiled
    """The root of ``a``'s provisional component (with path halving)."""
    while parent[a] != a:
        parent[a] = parent[parent[a]]
        a = parent[a]
    return a


@numba.njit(cache=True, nogil=True)
def _union_pass(
    padded: np.ndarray,
    shape: tuple[int, int, int],
    offsets: np.ndarray,
    rest: np.ndarray,
    rest_counts: np.ndarray,
    occupied: np.ndarray,
    labels: np.ndarray,
    parent: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """First pass: provisional labels in raster order, equal raster-earlier neighbours united.

    A set's root is always its smallest provisional label, i.e. the label of its first voxel
    in raster order. Rows that ``occupied`` marks empty are only zeroed. Returns the number
    of provisional labels + 1.
    """
    d, h, w = shape
    pw = w + 2
    plane = (h + 2) * pw
    k = offsets.shape[0]
    in_padded = np.empty(k, np.int64)
    in_labels = np.empty(k, np.int64)
    for j in range(k):
        in_padded[j] = offsets[j, 0] * plane + offsets[j, 1] * pw + offsets[j, 2]
        in_labels[j] = (offsets[j, 0] * h + offsets[j, 1]) * w + offsets[j, 2]
    next_label = 1
    for z in range(d):
        for y in range(h):
            base = (z + 1) * plane + (y + 1) * pw + 1
            row = (z * h + y) * w
            if not occupied[z * h + y]:
                labels[row : row + w] = 0
                continue
            for x in range(w):
                i, at = base + x, row + x
                value = padded[i]
                if value == 0:
                    labels[at] = 0
                    continue
                root = 0
                for j in range(k):
                    if padded[i + in_padded[j]] != value:
                        continue
                    root = _find(parent, labels[at + in_labels[j]])
                    for jj in range(rest_counts[j]):
                        q = rest[j, jj]
                        if padded[i + in_padded[q]] == value:
                            other = _find(parent, labels[at + in_labels[q]])
                            if other < root:
                                parent[root] = other
                                root = other
                            elif other > root:
                                parent[other] = root
                    break
                if root == 0:
                    root = next_label
                    parent[root] = root
                    next_label += 1
                labels[at] = root
    return next_label


@numba.njit(cache=True, nogil=True)
def _relabel_pass(
    labels: np.ndarray,
    shape: tuple[int, int, int],
    occupied: np.ndarray,
    parent: np.ndarray,
    next_label: int,
    counts: np.ndarray,
    sums: np.ndarray,
    boxes: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Second pass: final labels 1..n in raster order of first voxels, and their statistics.

    Writes voxel counts, coordinate sums and inclusive bounding boxes of each component
    (row 0 unused) and returns n.
    """
    n = 0
    final_bit = np.uint32(0x80000000)
    for p in range(1, next_label):
        q = parent[p]
        if q == p:  # a root: roots come in raster order of their first voxels
            n += 1
            parent[p] = np.uint32(n) | final_bit
        else:  # q < p already holds its root's final label
            parent[p] = parent[q]
    for p in range(1, next_label):
        parent[p] &= ~final_bit
    parent[0] = 0
    big = np.iinfo(np.int64).max
    for c in range(n + 1):
        counts[c] = 0
        sums[c, 0] = 0.0
        sums[c, 1] = 0.0
        sums[c, 2] = 0.0
        boxes[c, 0] = big
        boxes[c, 1] = -1
        boxes[c, 2] = big
        boxes[c, 3] = -1
        boxes[c, 4] = big
        boxes[c, 5] = -1
    d, h, w = shape
    for z in range(d):
        for y in range(h):
            if not occupied[z * h + y]:
                continue
            row = (z * h + y) * w
            for x in range(w):
                i = row + x
                provisional = labels[i]
                if provisional != 0:
                    c = parent[provisional]
                    labels[i] = c
                    counts[c] += 1
                    sums[c, 0] += z
                    sums[c, 1] += y
                    sums[c, 2] += x
                    boxes[c, 0] = min(boxes[c, 0], z)
                    boxes[c, 1] = max(boxes[c, 1], z)
                    boxes[c, 2] = min(boxes[c, 2], y)
                    boxes[c, 3] = max(boxes[c, 3], y)
                    boxes[c, 4] = min(boxes[c, 4], x)
                    boxes[c, 5] = max(boxes[c, 5], x)
    return n


@numba.njit(cache=True, nogil=True)
def _nearest_voxel(
    components: np.ndarray,
    region: int,
    box: np.ndarray,
    centroid: np.ndarray,
    spacing: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled
    """Find the voxel of ``region`` inside ``box`` nearest ``centroid`` (raster-first on ties)."""
    best = np.empty(3, np.int64)
    best_distance = np.inf
    for z in range(box[0], box[1] + 1):
        dz = ((z - centroid[0]) * spacing[0]) ** 2
        for y in range(box[2], box[3] + 1):
            dzy = dz + ((y - centroid[1]) * spacing[1]) ** 2
            for x in range(box[4], box[5] + 1):
                if components[z, y, x] != region:
                    continue
                distance = dzy + ((x - centroid[2]) * spacing[2]) ** 2
                if distance < best_distance:
                    best_distance = distance
                    best[0] = z
                    best[1] = y
                    best[2] = x
    return best


@dataclass(frozen=True, eq=False)
class _Regions:
    """Connected components of a small-integer code map, with per-component statistics.

    ``components`` labels each region 1..n (0 = no region); row ``i`` of the statistics belongs
    to region ``i`` (row 0 is unused).
    """

    components: np.ndarray
    counts: np.ndarray  # int64 (n + 1,)
    centroids: np.ndarray  # float64 (n + 1, 3)
    boxes: np.ndarray  # int64 (n + 1, 6): zmin, zmax, ymin, ymax, xmin, xmax (inclusive)

    @property
    def n(self) -> int:
        return int(self.counts.shape[0] - 1)

    def box(self, region: int) -> tuple[slice, slice, slice]:
        b = self.boxes[region]
        return slice(b[0], b[1] + 1), slice(b[2], b[3] + 1), slice(b[4], b[5] + 1)

    def ranked(self, candidates: np.ndarray | None = None) -> np.ndarray:
        """Region ids by decreasing size; ties by bounding-box corner (z, y, x), then id."""
        ids = np.arange(1, self.n + 1) if candidates is None else candidates
        b = self.boxes[ids]
        return ids[np.lexsort((ids, b[:, 4], b[:, 2], b[:, 0], -self.counts[ids]))]

    def largest(self, n: int) -> np.ndarray:
        """Return the ids of the ``n`` largest regions (fewer if fewer exist), largest first."""
        if n <= 0 or self.n == 0:
            return np.empty(0, np.int64)
        if n < self.n:
            threshold = np.partition(self.counts[1:], self.n - n)[self.n - n]
            candidates = np.flatnonzero(self.counts >= threshold)
            candidates = candidates[candidates > 0]
            return self.ranked(candidates)[:n]
        return self.ranked()

    def centre(self, region: int, spacing: Sequence[float]) -> np.ndarray:
        """Return the region's voxel nearest to its centroid.

        Physical distance (with ``spacing``); first in raster order on ties; only the region's
        bounding box is inspected.
        """
        return _nearest_voxel(
            self.components,
            region,
            self.boxes[region],
            self.centroids[region],
            np.asarray(spacing, dtype=np.float64),
        )

    def deepest(self, region: int, spacing: Sequence[float]) -> np.ndarray:
        """Return the region's voxel farthest from its boundary.

        Euclidean distance transform with ``spacing``; voxels outside the volume count as
        outside the region, except along an axis of length 1 (a 2D volume is treated as 2D);
        first in raster order on ties.
        """
        box = self.box(region)
        mask = self.components[box] == region
        pad = [(1, 1) if size > 1 else (0, 0) for size in self.components.shape]
        depth = ndimage.distance_transform_edt(np.pad(mask, pad), sampling=spacing)
        best = np.unravel_index(int(np.argmax(depth)), depth.shape)
        return np.asarray(best) - [p[0] for p in pad] + self.boxes[region, 0::2]


def _check_connectivity(connectivity: int) -> None:
    if connectivity not in _NEIGHBOUR_PLANS:
        raise ConfigError(f"connectivity must be 6, 18 or 26, got {connectivity!r}")


def _regions_of_padded(
    padded: np.ndarray, occupied: np.ndarray, shape: tuple[int, int, int], connectivity: int
) -> _Regions:
    """Label a padded code map (see :func:`_pad_code`) and measure its components."""
    size = shape[0] * shape[1] * shape[2]
    labels = np.empty(size, np.uint32)
    parent = np.empty(size + 1, np.uint32)
    plan = _NEIGHBOUR_PLANS[connectivity]
    next_label = _union_pass(padded, shape, *plan, occupied, labels, parent)
    counts = np.empty(next_label, np.int64)
    sums = np.empty((next_label, 3), np.float64)
    boxes = np.empty((next_label, 6), np.int64)
    n = _relabel_pass(labels, shape, occupied, parent, next_label, counts, sums, boxes)
    counts, sums, boxes = counts[: n + 1], sums[: n + 1], boxes[: n + 1]
    centroids = sums / np.maximum(counts, 1)[:, None]
    return _Regions(labels.reshape(shape), counts, centroids, boxes)


def _padded_buffers(shape: tuple[int, ...], dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    """Uninitialised buffers for :func:`_pad_code`: the padded code and the row flags."""
    d, h, w = shape
    return np.empty((d + 1) * (h + 2) * (w + 2), dtype), np.empty(d * h, np.uint8)


def _label_regions(code: np.ndarray, connectivity: int) -> _Regions:
    """Label the connected components of equal non-zero values of ``code``.

    Two-pass union-find labelling in numba (it releases the GIL, so volumes label in parallel
    on threads); components are numbered in raster order of their first voxels, as
    ``cc3d.connected_components`` numbers them. A ``D = 1`` volume is labelled as one 2D
    slice: 26 and 18 mean 8-connectivity in-plane, 6 means 4.
    """
    _check_connectivity(connectivity)
    shape = tuple(code.shape)
    padded, occupied = _padded_buffers(shape, code.dtype)
    _pad_code(code, padded, occupied)
    return _regions_of_padded(padded, occupied, shape, connectivity)  # type: ignore[arg-type]


def _error_code(prediction: np.ndarray, label: np.ndarray) -> np.ndarray:
    """uint8 map: 0 = correct, 1 = false negative, 2 = false positive."""
    error = label != prediction
    return error.view(np.uint8) + (error & prediction).view(np.uint8)


def _error_regions(context: UserContext, connectivity: int) -> _Regions:
    """:func:`_label_regions` of :func:`_error_code`, without building the code map first."""
    _check_connectivity(connectivity)
    shape = context.shape
    padded, occupied = _padded_buffers(shape, np.uint8)
    prediction, label = context.prediction.view(np.uint8), context.label.view(np.uint8)
    _pad_errors(prediction, label, padded, occupied)
    return _regions_of_padded(padded, occupied, shape, connectivity)


def _as_coords(rows: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


# --------------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------------


def requests_noise_hints(fn: F) -> F:
    """Mark a user simulator as giving no information: the env fills its hint maps with noise.

    Sets the function attribute ``noise_hints = True`` (unmarked users have no such attribute,
    which means False).
    """
    fn.noise_hints = True  # type: ignore[attr-defined]
    return fn


def wants_noise_hints(user: str | UserSimulator) -> bool:
    """Tell whether the env should fill the hint maps with noise for ``user`` (e.g. ``"none"``)."""
    return getattr(USERS.get(user), "noise_hints", False) is True


@USERS.register("largest_error")
def largest_error(
    context: UserContext, n_clicks: int, rng: np.random.Generator, *, connectivity: int = 26
) -> np.ndarray:
    """IteR-MRL §4.2: click the centres of the ``n_clicks`` largest error regions.

    False-negative regions (→ object clicks) and false-positive regions (→ background clicks)
    are pooled and ranked by voxel count, largest first; ties go to the region whose bounding
    box starts first in (z, y, x) order. The centre is the region voxel nearest its centroid.
    Fewer clicks if there are fewer regions, none if the prediction is perfect. ``rng`` is
    unused (the noise comes from :func:`place_clicks`).
    """
    return _largest_error_centres(context, n_clicks, connectivity)


def _largest_error_centres(context: UserContext, n_clicks: int, connectivity: int) -> np.ndarray:
    """The centres of the ``n_clicks`` largest error regions (``largest_error``'s clicks)."""
    regions = _error_regions(context, connectivity)
    ids = regions.largest(n_clicks)
    return _as_coords([regions.centre(int(i), context.spacing) for i in ids])


@USERS.register("deepest_point")
def deepest_point(
    context: UserContext, n_clicks: int, rng: np.random.Generator, *, connectivity: int = 26
) -> np.ndarray:
    """RITM-style: click the deepest voxel of each of the ``n_clicks`` largest error regions.

    The deepest voxel is the one farthest from the region's boundary (distance transform with
    the voxel spacing; the volume's border counts as boundary; first in raster order on ties).
    Regions are ranked as in ``largest_error``; ``rng`` is unused.
    """
    regions = _error_regions(context, connectivity)
    ids = regions.largest(n_clicks)
    return _as_coords([regions.deepest(int(i), context.spacing) for i in ids])


def _surface(mask: np.ndarray) -> np.ndarray:
    """Return the voxels of ``mask`` with a face neighbour outside it or outside the volume.

    An axis of length 1 is ignored, so a 2D volume gets its in-plane outline.
    """
    axes = [axis for axis, size in enumerate(mask.shape) if size > 1]
    padded = np.pad(mask, [(1, 1) if axis in axes else (0, 0) for axis in range(3)])
    core = [slice(1, -1) if axis in axes else slice(None) for axis in range(3)]
    interior = mask.copy()
    for axis in axes:
        for shifted in (slice(None, -2), slice(2, None)):
            view = list(core)
            view[axis] = shifted
            interior &= padded[tuple(view)]
    return mask & ~interior


@USERS.register("edge")
def edge(context: UserContext, n_clicks: int, rng: np.random.Generator) -> np.ndarray:
    """MECCA §4.2: clicks on mis-predicted voxels of the object boundary.

    Candidates are ground-truth surface voxels that are predicted background plus
    predicted-surface voxels that are ground-truth background (surface = a face neighbour lies
    outside the mask); ``n_clicks`` of them are drawn uniformly without replacement with
    ``rng``. If no boundary voxel is wrong, any error voxel is a candidate instead.
    """
    prediction, label = context.prediction, context.label
    on_edge = (_surface(label) & ~prediction) | (_surface(prediction) & ~label)
    candidates = np.flatnonzero(on_edge)
    if candidates.size == 0:
        candidates = np.flatnonzero(prediction != label)
    k = min(n_clicks, candidates.size)
    if k == 0:
        return _as_coords([])
    chosen = rng.choice(candidates, size=k, replace=False)
    return np.stack(np.unravel_index(chosen, label.shape), axis=1).astype(np.int64)


@USERS.register("random")
def random_voxels(context: UserContext, n_clicks: int, rng: np.random.Generator) -> np.ndarray:
    """Click distinct uniformly random voxels, labelled with the truth where they land.

    ``n_clicks`` voxels of the whole volume (fewer if the volume is smaller), errors or not.
    Uninformative but never wrong; IteR-MRL's "bad interaction" (Table 6), whose clicks pass a
    wrong message, is ``misleading``.
    """
    size = int(np.prod(context.shape))
    chosen = rng.choice(size, size=min(n_clicks, size), replace=False)
    return np.stack(np.unravel_index(chosen, context.shape), axis=1).astype(np.int64)


@USERS.register("misleading")
def misleading(
    context: UserContext,
    n_clicks: int,
    rng: np.random.Generator,
    *,
    where: str = "random",
    message: str = "error",
    wrong_label_rate: float = 0.0,
) -> IntendedClicks:
    """A user that can pass the wrong message: IteR-MRL's "bad interaction" (Table 6).

    In the papers a click tells the model "this area is wrong"; random clicks on voxels that are
    already right then pass a wrong message. This user clicks ``n_clicks`` distinct voxels drawn
    uniformly with ``rng`` from the whole volume (``where="random"``, as ``random`` does) or only
    from the voxels the prediction already gets right (``where="correct"``; any voxel if none
    is). Each click says ``message`` where it lands (see :class:`IntendedClicks`): ``"error"``
    (default), the opposite of the current prediction, i.e. the wrong label on every voxel
    that was right; ``"truth"``, the ground truth. Then each label is flipped independently with
    probability ``wrong_label_rate``. ``where="random", message="truth"`` with no flips is the
    honest ``random`` user; ``message="truth", wrong_label_rate=r`` lies on a fraction ``r``
    of the clicks wherever they land.

    The placement noise of :func:`place_clicks` still moves the clicks (``click_noise=0`` keeps
    them on the voxels drawn); the message is read where a click lands.
    """
    check_choice("where", where, ("random", "correct"))
    check_choice("message", message, MESSAGES)
    rate = check_number("wrong_label_rate", wrong_label_rate, low=0.0, high=1.0)
    if where == "correct":
        candidates = np.flatnonzero(context.prediction == context.label)
        if candidates.size == 0:
            candidates = np.arange(context.label.size)
    else:
        candidates = np.arange(context.label.size)
    chosen = rng.choice(candidates, size=min(n_clicks, candidates.size), replace=False)
    coords = np.stack(np.unravel_index(chosen, context.shape), axis=1).astype(np.int64)
    flip = np.asarray(rng.random(coords.shape[0]) < rate) if rate > 0 else None
    return IntendedClicks(coords, message=message, flip=flip)


@USERS.register("perturbed")
def perturbed(
    context: UserContext,
    n_clicks: int,
    rng: np.random.Generator,
    *,
    jitter_mm: float = 2.0,
    skip_rate: float = 0.2,
    wrong_label_rate: float = 0.0,
    base: str | UserSimulator = "largest_error",
    base_kwargs: dict[str, Any] | None = None,
) -> IntendedClicks:
    """A less ideal robot user for robustness checks (after Marinov et al., MICCAI 2024).

    Marinov et al. ("Rethinking annotator simulation: realistic evaluation of whole-body PET
    lesion interactive segmentation methods") find that idealised robot users overestimate
    models and make theirs more realistic with click variation and inter-annotator
    disagreement. This user asks ``base`` (default ``largest_error``, with ``base_kwargs``)
    where to click, then skips each click with probability ``skip_rate`` (the annotator does
    not click there), moves each kept click by Gaussian jitter of standard deviation
    ``jitter_mm`` mm per axis (rounded to voxels with the spacing; on top of the env's
    ``click_noise``; clipped into the volume) and flips each label with probability
    ``wrong_label_rate`` (disagreement with the reference). The defaults are ours, not values
    measured in the paper. Report a learner's Dice drop under this user next to
    ``largest_error`` (``segenv evaluate`` does).
    """
    jitter = check_number("jitter_mm", jitter_mm, low=0.0, high=float("inf"))
    skip = check_number("skip_rate", skip_rate, low=0.0, high=1.0)
    rate = check_number("wrong_label_rate", wrong_label_rate, low=0.0, high=1.0)
    base_user = USERS.get(base)
    if base_user is perturbed:
        raise ConfigError("user 'perturbed' cannot perturb itself; pick an honest base user")
    raw = base_user(context, n_clicks, rng, **dict(base_kwargs or {}))
    intent = raw if isinstance(raw, IntendedClicks) else IntendedClicks(np.asarray(raw))
    coords = _validate_user_output(intent.coords, base, n_clicks, context.shape)
    flip = np.zeros(coords.shape[0], bool) if intent.flip is None else intent.flip.copy()
    keep = rng.random(coords.shape[0]) >= skip
    coords, flip = coords[keep], flip[keep]
    if jitter > 0 and coords.size:
        sigma = jitter / np.asarray(context.spacing, dtype=np.float64)
        offsets = np.rint(rng.normal(0.0, 1.0, size=coords.shape) * sigma).astype(np.int64)
        coords = np.clip(coords + offsets, 0, np.asarray(context.shape) - 1)
    if rate > 0:
        flip ^= rng.random(coords.shape[0]) < rate
    return IntendedClicks(coords, message=intent.message, flip=flip)


@USERS.register("none")
@requests_noise_hints
def no_interaction(context: UserContext, n_clicks: int, rng: np.random.Generator) -> np.ndarray:
    """Never click: IteR-MRL's "W/O interaction" (Table 6).

    Marked ``noise_hints = True``, so the env fills the hint maps with random noise instead of
    click maps.
    """
    return _as_coords([])


# --- guided (MECCA §3.5) ---------------------------------------------------------------------


def guided_segment_count(step: int) -> int:
    """Return the guide's supervoxel count at env step ``step``: ``max(10, 100 // (1 + step))``.

    MECCA §3.5 starts at 100 supervoxels and lets the count "gradually decline" without giving
    the schedule; this halving-then-harmonic decay (100, 50, 33, 25, 20, ...) is our choice.
    """
    return max(10, 100 // (1 + int(step)))


def _supervoxels(
    image: np.ndarray, n_segments: int, compactness: float, spacing: Sequence[float]
) -> np.ndarray:
    """SLIC supervoxels (labels ≥ 1) of an ``(M, D, H, W)`` image; a D = 1 image is done in 2D."""
    options: dict[str, Any] = {
        "n_segments": n_segments,
        "compactness": compactness,
        "channel_axis": 0,
        "convert2lab": False,
        "start_label": 1,
        "enforce_connectivity": True,
    }
    if image.shape[1] == 1:
        return slic(image[:, 0], spacing=tuple(spacing)[1:], **options)[None]
    return slic(image, spacing=tuple(spacing), **options)


def advice_regions(
    image: np.ndarray,
    confidence: np.ndarray,
    step: int = 0,
    *,
    n_advice: int = 5,
    n_segments: int | None = None,
    compactness: float = 0.1,
    slic_spacing: Sequence[float] = (2.0, 2.0, 2.0),
    least_confident_first: bool = True,
) -> np.ndarray:
    """MECCA's interaction guide: the supervoxels offered to the user as advice regions.

    The image is split into SLIC supervoxels (``n_segments``, default
    :func:`guided_segment_count` of ``step``; ``compactness`` and ``slic_spacing`` as in
    MECCA §3.5), each scored by the mean of ``confidence`` over it, and the ``n_advice``
    least-confident ones (ties to the lower SLIC label) are offered. MECCA's text says both
    "filter out those areas with low action confidence" and "rank in descending order";
    we read it as *where the learner is least sure*; ``least_confident_first=False`` flips it.

    Args:
        image: float ``(M, D, H, W)``.
        confidence: ``(D, H, W)`` action confidence in [0, 1].
        step: the env step (sets the default supervoxel count).
        n_advice: how many supervoxels to offer.
        n_segments: SLIC's target supervoxel count; None = the step schedule.
        compactness: SLIC compactness.
        slic_spacing: SLIC's voxel spacing along (D, H, W).
        least_confident_first: rank by increasing (True) or decreasing mean confidence.

    Returns:
        int64 ``(D, H, W)``: 0 outside the advice, ``r`` inside the rank-``r`` region (1 = first).
    """
    check_count("n_advice", n_advice, minimum=1)
    segments_wanted = guided_segment_count(step) if n_segments is None else n_segments
    check_count("n_segments", segments_wanted, minimum=1)
    image = np.asarray(image)
    if image.ndim != 4 or image.dtype.kind not in "fiu":
        raise ConfigError(
            f"advice_regions: image must be a numeric (M, D, H, W) array, got {describe(image)}"
        )
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.shape != image.shape[1:]:
        raise ConfigError(
            f"advice_regions: confidence shape {confidence.shape} must match the image volume "
            f"shape {image.shape[1:]}"
        )
    segments = _supervoxels(image, segments_wanted, compactness, slic_spacing)
    sizes = np.bincount(segments.ravel())
    totals = np.bincount(segments.ravel(), weights=confidence.ravel(), minlength=sizes.size)
    present = np.flatnonzero(sizes)
    present = present[present > 0]
    means = totals[present] / sizes[present]
    order = present[np.lexsort((present, means if least_confident_first else -means))]
    rank_of_segment = np.zeros(sizes.size, np.int64)
    offered = order[:n_advice]
    rank_of_segment[offered] = np.arange(1, offered.size + 1)
    return rank_of_segment[segments]


@USERS.register("guided")
def guided(
    context: UserContext,
    n_clicks: int,
    rng: np.random.Generator,
    *,
    n_advice: int = 5,
    n_segments: int | None = None,
    compactness: float = 0.1,
    slic_spacing: Sequence[float] = (2.0, 2.0, 2.0),
    least_confident_first: bool = True,
    connectivity: int = 26,
) -> np.ndarray:
    """MECCA §3.5: the user clicks inside the advice regions of the interaction guide.

    The advice regions come from :func:`advice_regions` (needs ``context.confidence``, the
    learner's action-confidence map). In each region, in rank order, the user clicks the centre
    of the largest error component inside it (components do not cross region borders). With
    more clicks than regions holding an error, a second round takes each region's second
    largest component, and so on. If the advice holds no error at all the user falls back to
    ``largest_error``. At reset (``context.step == 0``) the learner has not acted yet, so
    without a confidence map the initial clicks are ``largest_error``'s (MECCA's 25 initial
    clicks come before any guidance). Cost: dominated by SLIC (~0.1–0.3 s at 30×55×55).
    """
    if context.confidence is None and context.step == 0:
        return _largest_error_centres(context, n_clicks, connectivity)
    if context.confidence is None:
        raise ConfigError(
            "user='guided' needs a confidence map: set UserContext.confidence to the learner's "
            "action-confidence map (D, H, W) in [0, 1] (MECCA's confidence network supplies it)"
        )
    rank = advice_regions(
        context.image,
        context.confidence,
        context.step,
        n_advice=n_advice,
        n_segments=n_segments,
        compactness=compactness,
        slic_spacing=slic_spacing,
        least_confident_first=least_confident_first,
    )
    error = _error_code(context.prediction, context.label)
    # one code per (advice region, error class) so that components stay inside their region
    code = np.where((rank > 0) & (error > 0), 2 * rank - 2 + error, 0).astype(np.uint16)
    regions = _label_regions(code, connectivity)
    if regions.n == 0:
        return _largest_error_centres(context, n_clicks, connectivity)
    region_rank = np.zeros(regions.n + 1, np.int64)
    region_rank[regions.components.ravel()] = rank.ravel()
    ids = regions.ranked()  # largest first
    ids = ids[np.argsort(region_rank[ids], kind="stable")]  # grouped by advice rank
    group = region_rank[ids]
    first_of_group = np.searchsorted(group, group)
    round_index = np.arange(ids.size) - first_of_group  # 0 = largest in its advice region
    ids = ids[np.lexsort((group, round_index))][:n_clicks]
    return _as_coords([regions.centre(int(i), context.spacing) for i in ids])


# --------------------------------------------------------------------------------------------
# Placement and the entry point
# --------------------------------------------------------------------------------------------


def place_clicks(
    intended: np.ndarray,
    label: np.ndarray,
    rng: RngLike = None,
    *,
    noise: int = 3,
    step: int = 0,
) -> Clicks:
    """Move intended clicks by a user's imprecision and label them with the ground truth.

    Each click moves by independent integer noise, uniform in ``[-noise, noise]`` per axis
    (IteR-MRL: ``[-3, 3]^3``), then is clipped into the volume (a ``D = 1`` volume keeps
    ``z = 0``). Its label is the ground truth where it lands. ``noise=0`` draws nothing.

    Args:
        intended: int ``(k, 3)`` voxel indices ``(z, y, x)`` inside the volume.
        label: bool ``(D, H, W)`` ground truth.
        rng: seed or generator for the noise.
        noise: the maximum displacement per axis, in voxels.
        step: the env step recorded with the clicks.

    Returns:
        The placed :class:`Clicks`.
    """
    noise = check_count("noise", noise)
    step = check_count("step", step)
    label = np.asarray(label)
    if label.ndim != 3:
        raise ConfigError(f"place_clicks: label must be (D, H, W), got {describe(label)}")
    intended = np.asarray(intended)
    if intended.size == 0:
        return Clicks.empty()
    if intended.dtype.kind not in "iu" or intended.ndim != 2 or intended.shape[1] != 3:
        raise InputTypeError(
            f"place_clicks: intended must be integer (k, 3) voxel indices, got {describe(intended)}"
        )
    coords = intended.astype(np.int64)
    if noise:
        coords = coords + np.random.default_rng(rng).integers(
            -noise, noise, size=coords.shape, endpoint=True
        )
    np.clip(coords, 0, np.asarray(label.shape) - 1, out=coords)
    labels = label[coords[:, 0], coords[:, 1], coords[:, 2]].astype(bool)
    return Clicks(coords, labels, np.full(coords.shape[0], step, np.int64))


def _user_name(user: str | UserSimulator) -> str:
    return user if isinstance(user, str) else getattr(user, "__name__", repr(user))


def _validate_user_output(
    raw: object, user: str | UserSimulator, n_clicks: int, shape: tuple[int, int, int]
) -> np.ndarray:
    name = _user_name(user)
    fix = "a user simulator must return int64 (k, 3) (z, y, x) voxel indices with k <= n_clicks"
    try:
        coords = np.asarray(raw)
    except Exception as error:  # pragma: no cover - exotic objects
        raise InputTypeError(f"user {name!r} returned {raw!r}; {fix}") from error
    if coords.size == 0:
        return np.empty((0, 3), np.int64)
    if coords.dtype.kind not in "iu":
        raise InputTypeError(
            f"user {name!r} returned {describe(coords)}; {fix} (round floats with "
            "np.rint(...).astype(np.int64))"
        )
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ConfigError(f"user {name!r} returned {describe(coords)}; {fix}")
    if coords.shape[0] > n_clicks:
        raise ConfigError(
            f"user {name!r} returned {coords.shape[0]} clicks but n_clicks={n_clicks}; {fix}"
        )
    outside = (coords < 0).any(axis=1) | (coords >= np.asarray(shape)).any(axis=1)
    if outside.any():
        raise ConfigError(
            f"user {name!r} returned click {coords[outside][0].tolist()} outside the volume "
            f"of shape {shape}; {fix}"
        )
    return coords.astype(np.int64, copy=False)


def simulate_clicks(
    user: str | UserSimulator,
    context: UserContext,
    n_clicks: int,
    rng: RngLike = None,
    *,
    noise: int = 3,
    step: int | None = None,
    **user_params: Any,
) -> Clicks:
    """One round of simulated interaction: ask ``user`` where to click, then place the clicks.

    Args:
        user: a name registered in :data:`USERS` or a user-simulator callable.
        context: what the user sees.
        n_clicks: the most clicks this round (IteR-MRL: 5 per step; MECCA: 25 at step 0).
        rng: seed or generator, shared by the user's choice and the placement noise.
        noise: the placement noise, in voxels per axis (see :func:`place_clicks`).
        step: the env step stamped on the clicks; None = ``context.step``.
        **user_params: keyword options of the user (e.g. ``n_advice=5`` for ``"guided"``).

    Returns:
        The new :class:`Clicks`, labelled with the ground truth where they land unless the
        user returned :class:`IntendedClicks` that say otherwise.
    """
    n_clicks = check_count("n_clicks", n_clicks)
    noise = check_count("noise", noise)
    if not isinstance(context, UserContext):
        raise InputTypeError(f"context must be a UserContext, got {describe(context)}")
    simulator = USERS.get(user)
    generator = np.random.default_rng(rng)
    raw = simulator(context, n_clicks, generator, **user_params)
    intent = raw if isinstance(raw, IntendedClicks) else None
    intended = _validate_user_output(
        intent.coords if intent is not None else raw, user, n_clicks, context.shape
    )
    stamp = context.step if step is None else step
    placed = place_clicks(intended, context.label, generator, noise=noise, step=stamp)
    if intent is None or len(placed) == 0:
        return placed
    return _say(placed, intent, context)


def _say(placed: Clicks, intent: IntendedClicks, context: UserContext) -> Clicks:
    """Relabel placed clicks with what a misleading user says where they landed."""
    z, y, x = placed.coords.T
    labels = placed.labels if intent.message == "truth" else ~context.prediction[z, y, x]
    if intent.flip is not None:
        labels = labels ^ intent.flip
    return Clicks(placed.coords, labels, placed.steps)
