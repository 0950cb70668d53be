"""Hint maps (SPEC §7, IteR-MRL eq 1): clicks of one class turned into a ``(D, H, W)`` map.

For the clicks ``j`` of one class (object or background) the hint of voxel ``i`` is
``h_i = T(min_j M(x_i, x_j))``, with ``M`` a distance and ``T`` a decreasing map onto [0, 1]:
``h = 1`` at a click, smaller farther away, and a map with no click is all 0 ("no hint").
Because ``T`` is decreasing, hints accumulate over steps by ``np.maximum(old, encode(new))``;
an encoder encodes one click set.

Encoders are built by *factories* registered in :data:`HINT_ENCODERS`: a factory takes the
image once per episode (the geodesic one precomputes its edge costs there) and returns a
:data:`HintEncoder`, called at every step with the new clicks of one class::

    encode = make_hint_encoder("geodesic", case.image, case.spacing, lam=0.9)
    object_hint = encode(np.array([[4, 20, 31]]))  # (z, y, x) -> float32 (D, H, W)

Encodings:

- ``geodesic`` (default, DeepIGeoS): the shortest-path distance on the 26-neighbour voxel
  graph whose edge ``i–j`` with spatial offset ``o`` (mm, from the spacing) costs
  ``c_ij = sqrt((1 - lam) |o|² + lam |I_i - I_j|²)``, ``|I_i - I_j|`` the L2 norm over the
  modalities (GeodisTK's convention: ``lam = 0`` is the Euclidean chamfer distance,
  ``lam = 1`` the pure intensity-gradient distance), mapped by ``T(d) = exp(-d / scale)``.
- ``euclidean``: the Euclidean distance in mm to the nearest click, ``T(d) = exp(-d / scale)``.
- ``gaussian`` (MECCA): a Gaussian of ``kernel_size`` voxels on each click, combined by max.

:func:`geodesic_distance` is the fast transform (raster sweeps repeated until no distance
changes, see its docstring) and :func:`geodesic_distance_exact` the Dijkstra reference it is
tested against. The batched env's torch backend runs the same transform on tensors
(``segenv/envs/_torch_hints.py``).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types, uintp
from numba.extending import intrinsic
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from segenv.errors import ConfigError, DataError, InputTypeError, describe
from segenv.registry import Registry
from segenv.validation import check_count

__all__ = [
    "HINT_ENCODERS",
    "EuclideanHintEncoder",
    "GaussianHintEncoder",
    "GeodesicHintEncoder",
    "HintEncoder",
    "HintEncoderFactory",
    "euclidean_encoder",
    "gaussian_encoder",
    "geodesic_distance",
    "geodesic_distance_exact",
    "geodesic_encoder",
    "make_hint_encoder",
]

HintEncoder = Callable[[np.ndarray], np.ndarray]
"""Clicks of one class, int ``(n, 3)`` in (z, y, x), ``n`` may be 0 → float32 ``(D, H, W)`` in
[0, 1]."""

_Real = float | np.floating[Any]  # scalars inside the numba kernels

HintEncoderFactory = Callable[..., HintEncoder]
"""``factory(image, spacing, **params) -> HintEncoder``; ``image`` float32 ``(M, D, H, W)``."""

HINT_ENCODERS: Registry[HintEncoderFactory] = Registry(
    "hint encoding", "hints", "segenv.hints.HINT_ENCODERS"
)

DEFAULT_LAMBDA = 0.9
DEFAULT_GEODESIC_SCALE = 1.5
DEFAULT_EUCLIDEAN_SCALE = 4.0
DEFAULT_ITERATIONS = 32  # the cap; the sweeps stop at the first iteration that changes nothing
DEFAULT_KERNEL_SIZE = 8

# The 13 neighbour offsets (dz, dy, dx) that precede a voxel in raster (z, y, x) order; the
# other 13 are their negatives. Index k = 3 (dy + 1) + (dx + 1) for dz = -1 (k < 9), then
# 9 + (dx + 1) for (0, -1, dx), then (0, 0, -1) last (handled by the row prefix sums).
_HALF_OFFSETS = np.array(
    [(-1, dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    + [(0, -1, dx) for dx in (-1, 0, 1)]
    + [(0, 0, -1)],
    dtype=np.int64,
)
_PLANE_EDGES = 12  # the offsets stored as per-voxel costs; the x edge lives in prefix sums
_SIGNIFICANT = np.float32(1.0 - 2.0**-20)  # a decrease below this factor is float rounding
_EXP_UNDERFLOW = 87.0  # exp(-t) for t above this is below float32's normal range: 0


# ----------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------


def _as_image(image: object, name: str = "image") -> np.ndarray:
    """Validate ``image`` and return it as C-contiguous float32 ``(M, D, H, W)``."""
    array = np.asarray(image)
    if array.dtype.kind not in "fiub":
        raise InputTypeError(f"{name} must be a numeric array, got {describe(image)}")
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or min(array.shape) < 1:
        raise DataError(
            f"{name} must be a non-empty (D, H, W) or (M, D, H, W) array, got {describe(image)}"
        )
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        raise DataError(
            f"{name} has NaN/Inf values ({describe(image)}); replace them (np.nan_to_num) first"
        )
    return array


def _as_spacing(spacing: object) -> tuple[float, float, float]:
    """Validate ``spacing``: three positive finite mm values along (D, H, W)."""
    try:
        values = tuple(float(s) for s in spacing)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise InputTypeError(
            f"spacing must be three numbers (mm along D, H, W), got {spacing!r}"
        ) from None
    if len(values) != 3 or not all(math.isfinite(s) and s > 0 for s in values):
        raise ConfigError(
            f"spacing must be three positive finite numbers (mm along D, H, W), got {spacing!r}"
        )
    return values  # type: ignore[return-value]


def _as_real(value: object, name: str) -> float:
    """``value`` as a finite float, rejecting bools and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputTypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(float(value)):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return float(value)


def _check_lam(lam: object) -> float:
    """Validate the geodesic weight ``lam`` in [0, 1]."""
    value = _as_real(lam, "lam")
    if not 0.0 <= value <= 1.0:
        raise ConfigError(
            f"lam must be in [0, 1] (0 = Euclidean, 1 = pure intensity gradient), got {lam!r}"
        )
    return value


def _check_positive(value: object, name: str) -> float:
    """Validate a finite number > 0."""
    number = _as_real(value, name)
    if number <= 0:
        raise ConfigError(f"{name} must be > 0, got {value!r}")
    return number


def _as_coords(coords: object, shape: tuple[int, int, int], name: str = "coords") -> np.ndarray:
    """Validate click coordinates: integer ``(n, 3)`` (z, y, x) inside ``shape``; n may be 0."""
    array = np.asarray(coords)
    if array.size == 0:
        return np.zeros((0, 3), dtype=np.intp)
    if array.dtype.kind not in "iu":
        raise InputTypeError(
            f"{name} must be integer voxel indices (z, y, x), got {describe(coords)}; "
            "round and cast them, e.g. np.rint(c).astype(int)"
        )
    if array.ndim != 2 or array.shape[1] != 3:
        raise ConfigError(
            f"{name} must have shape (n, 3) in (z, y, x) order, got {describe(coords)}"
        )
    limits = np.asarray(shape)
    outside = ((array < 0) | (array >= limits)).any(axis=1)
    if outside.any():
        raise ConfigError(
            f"{name} {array[outside][:3].tolist()} lie outside the volume of shape {shape}; "
            "clicks must be voxel indices 0 <= c < shape"
        )
    return array.astype(np.intp, copy=False)


def _as_seeds(seeds: object, shape: tuple[int, int, int]) -> np.ndarray:
    """Seeds given as a bool mask of ``shape`` or as coordinates → int ``(n, 3)``."""
    array = np.asarray(seeds)
    if array.dtype == bool and array.shape == shape:
        return np.argwhere(array).astype(np.intp)
    if array.dtype == bool:
        raise ConfigError(f"a seed mask must have the volume shape {shape}, got {describe(seeds)}")
    return _as_coords(array, shape, "seeds")


# ----------------------------------------------------------------------------------------
# Numba kernels
# ----------------------------------------------------------------------------------------


# Edge costs are stored in 16 bits: a non-negative float32 with its sign bit dropped and
# its mantissa rounded to 8 bits (bits 15..30). Exact for 0 and +inf, relative rounding
# ≤ 2⁻⁹, and decoding is a shift: portable integer ops, unlike LLVM's float16 (whose
# conversions need F16C or a runtime library).
_COST_SHIFT = 15
_COST_INF = np.uint16(0x7F800000 >> _COST_SHIFT)  # +inf: the cost of edges to the padding


@intrinsic
def _cost_to_float32(typingctx: Any, bits: Any) -> Any:
    """Decode a 16-bit stored cost into float32 (shift left 15, reinterpret the bits)."""
    signature = types.float32(types.uint16)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        wide = builder.zext(args[0], ir.IntType(32))
        shifted = builder.shl(wide, ir.Constant(ir.IntType(32), _COST_SHIFT))
        return builder.bitcast(shifted, ir.FloatType())

    return signature, codegen


@intrinsic
def _float32_to_cost(typingctx: Any, value: Any) -> Any:
    """Encode a float32 ≥ 0 in 16 bits, rounding the dropped mantissa bits to nearest even."""
    signature = types.uint16(types.float32)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        i32 = ir.IntType(32)
        bits = builder.bitcast(args[0], i32)
        odd = builder.and_(builder.lshr(bits, ir.Constant(i32, _COST_SHIFT)), ir.Constant(i32, 1))
        half = ir.Constant(i32, (1 << (_COST_SHIFT - 1)) - 1)
        rounded = builder.add(builder.add(bits, half), odd)
        return builder.trunc(builder.lshr(rounded, ir.Constant(i32, _COST_SHIFT)), ir.IntType(16))

    return signature, codegen


@njit(cache=True, nogil=True, inline="always")
def _min(a: _Real, b: _Real) -> _Real:  # pragma: no cover - compiled
    return a if a < b else b


@njit(cache=True, nogil=True)
def _fill_edge_costs(
    padded: np.ndarray,
    weights: np.ndarray,
    lam: float,
    costs: np.ndarray,
    prefix: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Fill 16-bit edge costs ``(PD, 12, PH*PW)`` and the x prefix sums ``(PD, PH*PW)``.

    ``padded`` is the image ``(M, D+2, H+2, W+2)``; ``weights[k] = (1 - lam) |o_k|²``.
    Costs are stored at the later voxel of each edge; ``costs`` arrives filled with +inf,
    which edges touching the padding keep.
    """
    lam32 = np.float32(lam)
    m_count, pd, ph, pw = padded.shape
    w = pw - 2
    gradient2 = np.empty(w, dtype=np.float32)
    for z in range(1, pd - 1):
        for y in range(1, ph - 1):
            p = y * pw + 1
            for k in range(_PLANE_EDGES + 1):
                if k < 9:
                    nz, ny, dx = z - 1, y + k // 3 - 1, k % 3 - 1
                elif k < _PLANE_EDGES:
                    nz, ny, dx = z, y - 1, k - 10
                else:  # the x edge (0, 0, -1)
                    nz, ny, dx = z, y, -1
                if nz == 0 or ny == 0 or ny == ph - 1:
                    continue  # the neighbour row is padding: every edge stays +inf
                gradient2[:] = 0.0
                for m in range(m_count):
                    here = padded[m, z, y, 1 : w + 1]
                    there = padded[m, nz, ny, 1 + dx : w + 1 + dx]
                    for x in range(w):
                        diff = here[x] - there[x]
                        gradient2[x] += diff * diff
                weight = np.float32(weights[k])
                if k < _PLANE_EDGES:
                    row = costs[z, k, p : p + w]
                    for x in range(w):
                        cost = np.sqrt(weight + lam32 * gradient2[x])
                        row[x] = _float32_to_cost(cost)  # type: ignore[call-arg]
                    if dx != 0:  # the first (dx = -1) or last (dx = +1) voxel faces padding
                        row[0 if dx < 0 else w - 1] = _COST_INF
                else:
                    total = 0.0  # float64 running sum; x = 1 (the first voxel) keeps 0
                    for x in range(1, w):
                        total += np.sqrt(weight + lam32 * gradient2[x])
                        prefix[z, p + x] = total


@njit(cache=True, nogil=True, inline="always")
def _relax3(
    dst: np.ndarray, src: np.ndarray, cost_a: np.ndarray, cost_b: np.ndarray, cost_c: np.ndarray
) -> bool:  # pragma: no cover - compiled
    """``dst[i] = min(dst[i], src[i] + a[i], src[i+1] + b[i], src[i+2] + c[i])``, vectorised.

    Returns whether any value of ``dst`` decreased. No bounds checks: ``src`` must hold
    ``dst.size + 2`` values and the costs ``dst.size``.
    """
    lowered = False  # a bool: an integer flag is widened to int64 and halves the vector width
    for ii in range(dst.size):
        i = uintp(ii)  # unsigned: no negative-index wraparound, so LLVM vectorises
        old = dst[i]
        best = old
        best = _min(best, src[i] + _cost_to_float32(cost_a[i]))  # type: ignore[call-arg]
        best = _min(best, src[i + 1] + _cost_to_float32(cost_b[i]))
        best = _min(best, src[i + 2] + _cost_to_float32(cost_c[i]))
        dst[i] = best
        lowered = lowered | (best < old)
    return lowered


@njit(cache=True, nogil=True, inline="always")
def _relax9(
    dst: np.ndarray,
    src0: np.ndarray,
    src1: np.ndarray,
    src2: np.ndarray,
    costs0: tuple[np.ndarray, np.ndarray, np.ndarray],
    costs1: tuple[np.ndarray, np.ndarray, np.ndarray],
    costs2: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> bool:  # pragma: no cover - compiled
    """:func:`_relax3` over three source rows at once (one pass over ``dst``)."""
    lowered = False
    a0, b0, c0 = costs0
    a1, b1, c1 = costs1
    a2, b2, c2 = costs2
    for ii in range(dst.size):
        i = uintp(ii)
        old = dst[i]
        best = old
        best = _min(best, src0[i] + _cost_to_float32(a0[i]))  # type: ignore[call-arg]
        best = _min(best, src0[i + 1] + _cost_to_float32(b0[i]))
        best = _min(best, src0[i + 2] + _cost_to_float32(c0[i]))
        best = _min(best, src1[i] + _cost_to_float32(a1[i]))
        best = _min(best, src1[i + 1] + _cost_to_float32(b1[i]))
        best = _min(best, src1[i + 2] + _cost_to_float32(c1[i]))
        best = _min(best, src2[i] + _cost_to_float32(a2[i]))
        best = _min(best, src2[i + 1] + _cost_to_float32(b2[i]))
        best = _min(best, src2[i + 2] + _cost_to_float32(c2[i]))
        dst[i] = best
        lowered = lowered | (best < old)
    return lowered


@njit(cache=True, nogil=True, inline="always")
def _relax_row_from_plane(
    dist: np.ndarray, costs: np.ndarray, z: int, y: int, h: int, step: int, pw: int, n: int
) -> bool:  # pragma: no cover - compiled
    """Relax row ``y`` of plane ``z`` over its 9 edges to plane ``z - step`` (step = ±1).

    Neighbour rows in the padding are skipped (their edges cost +inf). Returns whether a
    value decreased (in the row, or in the lanes past its end, see :func:`_vector_length`).
    """
    b = y * pw + 1
    dst = dist[z, b : b + n]
    if 1 < y < h:  # all three source rows are real: one fused pass
        if step == 1:
            here, before = costs[z], dist[z - 1]
            a = b - pw - 1
            return _relax9(
                dst,
                before[a : a + n + 2],
                before[a + pw : a + pw + n + 2],
                before[a + 2 * pw : a + 2 * pw + n + 2],
                (here[0, b : b + n], here[1, b : b + n], here[2, b : b + n]),
                (here[3, b : b + n], here[4, b : b + n], here[5, b : b + n]),
                (here[6, b : b + n], here[7, b : b + n], here[8, b : b + n]),
            )
        there, after = costs[z + 1], dist[z + 1]
        a0, a1, a2 = b + pw - 1, b - 1, b - pw - 1  # source rows y + 1, y, y - 1 (dy = -1, 0, 1)
        return _relax9(
            dst,
            after[a0 : a0 + n + 2],
            after[a1 : a1 + n + 2],
            after[a2 : a2 + n + 2],
            (there[2, a0 : a0 + n], there[1, a0 + 1 : a0 + n + 1], there[0, a0 + 2 : a0 + n + 2]),
            (there[5, a1 : a1 + n], there[4, a1 + 1 : a1 + n + 1], there[3, a1 + 2 : a1 + n + 2]),
            (there[8, a2 : a2 + n], there[7, a2 + 1 : a2 + n + 1], there[6, a2 + 2 : a2 + n + 2]),
        )
    lowered = False
    for dy in range(-1, 2):
        if not 1 <= y + step * dy <= h:
            continue
        k = 3 * (dy + 1)
        if step == 1:  # edges stored at plane z, neighbour (z-1, y+dy, x-1..x+1)
            a = b + dy * pw - 1
            here = costs[z]
            lowered |= _relax3(
                dst,
                dist[z - 1, a : a + n + 2],
                here[k, b : b + n],
                here[k + 1, b : b + n],
                here[k + 2, b : b + n],
            )
        else:  # edges stored at plane z+1, neighbour (z+1, y-dy, x+1..x-1)
            a = b - dy * pw - 1
            there = costs[z + 1]
            lowered |= _relax3(
                dst,
                dist[z + 1, a : a + n + 2],
                there[k + 2, a : a + n],
                there[k + 1, a + 1 : a + n + 1],
                there[k, a + 2 : a + n + 2],
            )
    return lowered


@njit(cache=True, nogil=True, inline="always")
def _vector_length(w: int) -> int:  # pragma: no cover - compiled
    """Row length for the vector loops: ``w`` rounded up to whole 8-lane vectors.

    The extra lanes run into the padding and the next row, which is harmless (padding edges
    cost +inf; any relaxation of a real voxel is valid) and avoids a slow scalar remainder;
    a change there marks the next row changed too. Rows of fewer than 5 voxels keep ``w``
    so the slices stay inside the plane.
    """
    rounded = (w + 7) // 8 * 8
    return rounded if rounded <= 2 * w + 2 else w


@njit(cache=True, nogil=True, inline="always")
def _chain_row(
    plane: np.ndarray, prefix: np.ndarray, b: int, w: int, right: bool, flag: bool
) -> bool:  # pragma: no cover - compiled
    """Chain the x edges of the row starting at ``b`` towards +x (``right``) or -x.

    Uses the row prefix sums ``P`` of the x-edge costs: towards +x,
    ``d[x] = min(d[x], P[x] + min_{j<x} (d[j] - P[j]))``, a loop whose only dependency is
    a 1-cycle ``min``; towards -x, ``d[x] = min(d[x], -P[x] + min_{j>x} (d[j] + P[j]))``.
    A voxel never meets its own ``(d - P) + P``, which float32 can round below ``d``: along
    zero-cost edges (``lam = 1`` on a flat region) such ulps would otherwise drift down at
    every sweep. With ``flag``, returns whether a value decreased by more than float32
    rounding (a few ulps); without, False (the caller marks the row changed anyway, and the
    loop is a third shorter).
    """
    lowered = False
    run: _Real = np.float32(np.inf)
    step = 1 if right else -1
    start = b if right else b + w - 1
    sign = np.float32(step)
    if flag:
        for k in range(w):
            i = uintp(start + step * k)
            old, p = plane[i], sign * prefix[i]
            new = _min(old, run + p)
            plane[i] = new
            lowered |= new < old * _SIGNIFICANT
            run = _min(run, old - p)
    else:
        for k in range(w):
            i = uintp(start + step * k)
            old, p = plane[i], sign * prefix[i]
            plane[i] = _min(old, run + p)
            run = _min(run, old - p)
    return lowered


# Row bookkeeping of the sweeps: ``versions[z, y]`` counts the changes of row (z, y); a
# relaxation of a row records the versions of its source rows in ``seen[kind, z, y]`` and
# is skipped while they are unchanged (it could lower nothing: the row only decreased since).
_SEEN_PLANE_BEFORE, _SEEN_PLANE_AFTER, _SEEN_ROW_ABOVE, _SEEN_ROW_BELOW = 0, 1, 2, 3
_SEEN_CHAIN_RIGHT, _SEEN_CHAIN_LEFT = 4, 5
_SEEN_KINDS = 6


@njit(cache=True, nogil=True, inline="always")
def _mark_changed(
    versions: np.ndarray, z: int, y: int, h: int, spill: bool
) -> None:  # pragma: no cover - compiled
    """Row (z, y) changed; so did row y + 1 when the vector lanes run into it."""
    versions[z, y] += 1
    if spill and y < h:
        versions[z, y + 1] += 1


@njit(cache=True, nogil=True)
def _sweep_plane(
    dist: np.ndarray,
    costs: np.ndarray,
    prefix: np.ndarray,
    versions: np.ndarray,
    seen: np.ndarray,
    z: int,
    step: int,
    d: int,
    h: int,
    w: int,
) -> bool:  # pragma: no cover - compiled
    """Relax plane ``z`` from plane ``z - step`` and sweep it in-plane twice.

    The first sweep runs rows towards +y (memory order: on large volumes, where the costs
    come from L3 or RAM, that is what the hardware prefetcher follows best, measured 2x+
    faster than rows backwards); each row is relaxed over its 9 edges to the plane before
    (in the sweep direction) and its 3 edges to the previous row, then its x edges are
    chained towards +x (``step = 1``) or -x. The second sweep runs rows towards -y with the
    other x direction. Relaxations whose source rows did not change since their last run
    are skipped (see ``versions``). Returns whether any distance decreased.
    """
    pw = w + 2
    n = _vector_length(w)
    spill = n > w + 2
    plane = dist[z]
    source = z - step
    cross = _SEEN_PLANE_BEFORE if step == 1 else _SEEN_PLANE_AFTER
    any_lowered = False
    for second in range(2):
        right = (step == 1) != (second == 1)
        chain = _SEEN_CHAIN_RIGHT if right else _SEEN_CHAIN_LEFT
        for index in range(h):
            y = index + 1 if second == 0 else h - index
            b = y * pw + 1
            lowered = False
            if second == 0 and 1 <= source <= d:
                total = versions[source, y - 1] + versions[source, y] + versions[source, y + 1]
                if total != seen[cross, z, y]:
                    seen[cross, z, y] = total
                    lowered |= _relax_row_from_plane(dist, costs, z, y, h, step, pw, n)
            if second == 0 and y > 1:  # edges stored at row y, to row y - 1
                if versions[z, y - 1] != seen[_SEEN_ROW_ABOVE, z, y]:
                    seen[_SEEN_ROW_ABOVE, z, y] = versions[z, y - 1]
                    a = b - pw - 1
                    lowered |= _relax3(
                        plane[b : b + n],
                        plane[a : a + n + 2],
                        costs[z, 9, b : b + n],
                        costs[z, 10, b : b + n],
                        costs[z, 11, b : b + n],
                    )
            elif second == 1 and y < h:  # edges stored at row y + 1, to row y
                if versions[z, y + 1] != seen[_SEEN_ROW_BELOW, z, y]:
                    seen[_SEEN_ROW_BELOW, z, y] = versions[z, y + 1]
                    a = b + pw - 1
                    lowered |= _relax3(
                        plane[b : b + n],
                        plane[a : a + n + 2],
                        costs[z, 11, a : a + n],
                        costs[z, 10, a + 1 : a + n + 1],
                        costs[z, 9, a + 2 : a + n + 2],
                    )
            if lowered:
                _mark_changed(versions, z, y, h, spill)
                any_lowered = True
            if versions[z, y] != seen[chain, z, y]:
                # a row just marked changed needs no second mark: skip the chain's own flag
                if _chain_row(plane, prefix[z], b, w, right, not lowered) and not lowered:
                    versions[z, y] += 1
                    any_lowered = True
                seen[chain, z, y] = versions[z, y]
    return any_lowered


@njit(cache=True, nogil=True)
def _geodesic_sweeps(
    dist: np.ndarray,
    costs: np.ndarray,
    prefix: np.ndarray,
    shape: tuple,
    max_iterations: int,
    versions: np.ndarray,
    seen: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Relax ``dist`` (padded ``(D+2, (H+2)(W+2))``, 0 at seeds, inf elsewhere) in place.

    Per iteration: planes in +z order, each relaxed from the plane before and swept in-plane
    towards (+y, +x) then (-y, -x); then planes in -z order, each relaxed from the plane
    after and swept towards (+y, -x) then (-y, +x), so all four in-plane diagonal orders
    are used once (for D = 1 these four sweeps are the whole iteration). Iterations repeat
    until one lowers no distance, at most ``max_iterations``; returns how many ran.
    ``versions`` (``(D+2, H+2)``, 1 on the rows holding a seed, else 0) and ``seen``
    (``(6, D+2, H+2)``, zeros) hold the row bookkeeping: the rows before the first seed are
    still +inf and are skipped, and so are, in later iterations, the rows whose sources
    did not change.
    """
    d, h, w = shape
    for iteration in range(max_iterations):
        lowered = False
        for z in range(1, d + 1):
            lowered |= _sweep_plane(dist, costs, prefix, versions, seen, z, 1, d, h, w)
        for z in range(d, 0, -1):
            lowered |= _sweep_plane(dist, costs, prefix, versions, seen, z, -1, d, h, w)
        if not lowered:
            return iteration + 1
    return max_iterations


@njit(cache=True, nogil=True, inline="always")
def _exp_neg(t: _Real) -> _Real:  # pragma: no cover - compiled
    """``exp(-t)`` for t ≥ 0 in vectorisable float32 arithmetic.

    ``exp(-t) = exp(-t/64)^64``: a degree-6 Taylor polynomial, then six squarings; 0 for
    t ≥ 87, and ``t`` clamped first so no squaring produces a (slow) subnormal. Absolute
    error < 3e-6, relative error < 1.1e-5 for t ≤ 20 (measured against float64).
    """
    y: _Real = _min(np.float32(t), np.float32(_EXP_UNDERFLOW)) * np.float32(-1.0 / 64.0)
    p: _Real = np.float32(1.0 / 720.0)
    p = p * y + np.float32(1.0 / 120.0)
    p = p * y + np.float32(1.0 / 24.0)
    p = p * y + np.float32(1.0 / 6.0)
    p = p * y + np.float32(0.5)
    p = p * y + np.float32(1.0)
    p = p * y + np.float32(1.0)
    for _ in range(6):
        p = p * p
    return p if t < _EXP_UNDERFLOW else np.float32(0.0)


@njit(cache=True, nogil=True)
def _hint_from_padded(dist: np.ndarray, factor: float, out: np.ndarray) -> None:  # pragma: no cover
    """``out[z, y, x] = exp(-factor * dist[z+1, (y+1)(W+2) + x+1])``."""
    d, h, w = out.shape
    pw = w + 2
    f = np.float32(factor)
    for z in range(d):
        plane = dist[z + 1]
        for y in range(h):
            row = out[z, y]
            b = (y + 1) * pw + 1
            for x in range(w):
                row[x] = _exp_neg(plane[b + x] * f)


@njit(cache=True, nogil=True)
def _euclidean_hint(
    dz2: np.ndarray, dy2: np.ndarray, dx2: np.ndarray, inv_scale: float, out: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``out = exp(-sqrt(min_c dz2[c,z] + dy2[c,y] + dx2[c,x]) * inv_scale)``."""
    n, d = dz2.shape
    h, w = dy2.shape[1], dx2.shape[1]
    f = np.float32(inv_scale)
    for z in range(d):
        for y in range(h):
            row = out[z, y]
            row[:] = np.inf
            # Two clicks per pass: ``row[x] = min(row[x], v)`` alone compiles to a masked
            # store, which is several times slower than this plain one on x86.
            for c in range(0, n, 2):
                c2 = min(c + 1, n - 1)
                base, base2 = dz2[c, z] + dy2[c, y], dz2[c2, z] + dy2[c2, y]
                cx, cx2 = dx2[c], dx2[c2]
                for xx in range(w):
                    x = uintp(xx)
                    row[x] = _min(_min(row[x], base + cx[x]), base2 + cx2[x])
            for xx in range(w):
                x = uintp(xx)
                row[x] = _exp_neg(np.sqrt(row[x]) * f)


# ----------------------------------------------------------------------------------------
# Geodesic distance
# ----------------------------------------------------------------------------------------


class _GeodesicGraph:
    """The 26-neighbour edge costs of one image, precomputed for repeated transforms.

    Layout: volumes padded by one voxel on every side (padding distances stay +inf), planes
    flattened to ``(H+2)(W+2)``; 16-bit costs of the 12 non-x edges per voxel, and the row
    prefix sums of the x-edge costs in float32.
    """

    def __init__(self, image: np.ndarray, spacing: tuple[float, float, float], lam: float):
        _, d, h, w = image.shape
        self.shape = (d, h, w)
        spacing_array = np.asarray(spacing)
        weights = (1.0 - lam) * ((_HALF_OFFSETS * spacing_array) ** 2).sum(axis=1)
        padded = np.pad(image, ((0, 0), (1, 1), (1, 1), (1, 1)), mode="edge")
        plane = (h + 2) * (w + 2)
        self.costs = np.full((d + 2, _PLANE_EDGES, plane), _COST_INF, dtype=np.uint16)
        self.prefix = np.zeros((d + 2, plane), dtype=np.float32)
        _fill_edge_costs(padded, weights, lam, self.costs, self.prefix)

    def new_distance_buffer(self) -> np.ndarray:
        """Allocate a padded distance buffer ``(D+2, (H+2)(W+2))``."""
        d, h, w = self.shape
        return np.empty((d + 2, (h + 2) * (w + 2)), dtype=np.float32)

    def transform(self, dist: np.ndarray, coords: np.ndarray, max_iterations: int) -> int:
        """Fill ``dist`` with the distances to ``coords`` (n ≥ 1); returns the sweep pairs run."""
        d, h, w = self.shape
        dist.fill(np.inf)
        dist[coords[:, 0] + 1, (coords[:, 1] + 1) * (w + 2) + coords[:, 2] + 1] = 0.0
        versions = np.zeros((d + 2, h + 2), dtype=np.int32)
        versions[coords[:, 0] + 1, coords[:, 1] + 1] = 1
        seen = np.zeros((_SEEN_KINDS, d + 2, h + 2), dtype=np.int32)
        return int(
            _geodesic_sweeps(
                dist, self.costs, self.prefix, self.shape, max_iterations, versions, seen
            )
        )

    def unpad(self, dist: np.ndarray) -> np.ndarray:
        """Return the real voxels of a padded buffer, ``(D, H, W)``."""
        d, h, w = self.shape
        return dist.reshape(d + 2, h + 2, w + 2)[1:-1, 1:-1, 1:-1]


def geodesic_distance(
    image: np.ndarray,
    seeds_mask_or_coords: np.ndarray,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    *,
    lam: float = DEFAULT_LAMBDA,
    iterations: int = DEFAULT_ITERATIONS,
) -> np.ndarray:
    """Geodesic distance to the nearest seed on the 26-neighbour graph (fast raster sweeps).

    Edge ``i–j`` (26-neighbours, offset ``o`` in mm) costs
    ``sqrt((1 - lam) |o|² + lam |I_i - I_j|²)``, ``|·|`` the L2 norm over modalities; the
    distance is the cheapest path cost. Each iteration visits the planes in +z order, each
    relaxed over its 9 edges to the plane before and then swept in-plane in raster orders
    (+y, +x) and (-y, -x), then in -z order with in-plane orders (+y, -x) and (-y, +x); an
    in-plane sweep relaxes each row over its 3 edges to the previous row and chains its x
    edges as a prefix minimum over running cost sums (vectorised except that chain). Every
    value is the cost of an actual path, so sweeps can only overestimate.

    Iterations repeat until one changes no distance (then every edge satisfies the triangle
    inequality: the distances are exact for the stored costs), at most ``iterations``. A
    row's relaxation is skipped while the rows it reads did not change since it last ran, so
    the later iterations, which change little, cost a fraction of the first. Iterations
    needed (textured and white-noise volumes, 12×24×24 to 64×128×128): 1 for lam = 0, 3-5
    for lam = 0.5-0.9, 6-26 for lam = 1, where paths meander most. One iteration alone is
    within ~0.15 % of exact at lam = 0.9 on textured volumes but 8-30 % off at lam = 1.
    Costs are stored in 16 bits (relative rounding ≤ 2⁻⁹ per edge): converged distances are
    within a few 0.01 % of :func:`geodesic_distance_exact` (mean relative error).

    Speed of one encoder call (5 seeds, lam = 0.9, one core of a shared AMD EPYC VM):
    ~1.5 ms at 30×55×55 (5 iterations; one iteration alone ~0.75 ms) and 45-70 ms at
    64×128×128 (8 iterations; one alone ~19 ms), where it is memory-bound;
    ``benchmarks/hints_speed.py`` measures it.

    Args:
        image: float ``(D, H, W)`` or ``(M, D, H, W)``, finite (z-normalised is the intended
            range: costs add up in float32).
        seeds_mask_or_coords: bool mask ``(D, H, W)`` or integer ``(n, 3)`` (z, y, x) coords.
        spacing: voxel size in mm along (D, H, W).
        lam: weight of the intensity term in [0, 1].
        iterations: the most (+z, -z) sweep pairs, ≥ 1 (the sweeps stop at the first that
            changes nothing); 1 is the single-pass transform.

    Returns:
        float32 ``(D, H, W)`` distances (0 at the seeds; +inf everywhere when there is none).
    """
    pixels = _as_image(image)
    shape = pixels.shape[1:]
    coords = _as_seeds(seeds_mask_or_coords, shape)
    iterations = check_count("iterations", iterations, minimum=1)
    graph = _GeodesicGraph(pixels, _as_spacing(spacing), _check_lam(lam))
    if len(coords) == 0:
        return np.full(shape, np.inf, dtype=np.float32)
    dist = graph.new_distance_buffer()
    graph.transform(dist, coords, iterations)
    return graph.unpad(dist).copy()


def geodesic_distance_exact(
    image: np.ndarray,
    coords: np.ndarray,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    *,
    lam: float = DEFAULT_LAMBDA,
) -> np.ndarray:
    """Compute the exact geodesic distance by Dijkstra (scipy.sparse.csgraph), for reference.

    Same graph and costs as :func:`geodesic_distance`, computed in float64 with an
    independent implementation; meant for tests, benchmarks and users who want to verify.
    It builds the 13 N edges explicitly, so it is slow and memory-hungry: fine for small
    volumes (≲ 10⁵ voxels take well under a second), not for every step of an episode.

    Args:
        image: float ``(D, H, W)`` or ``(M, D, H, W)``, finite.
        coords: integer ``(n, 3)`` (z, y, x) seed coordinates, or a bool seed mask.
        spacing: voxel size in mm along (D, H, W).
        lam: weight of the intensity term in [0, 1].

    Returns:
        float64 ``(D, H, W)`` distances (+inf everywhere when there is no seed).
    """
    pixels = _as_image(image).astype(np.float64)
    shape = pixels.shape[1:]
    seeds = _as_seeds(coords, shape)
    sizes = _as_spacing(spacing)
    lam = _check_lam(lam)
    if len(seeds) == 0:
        return np.full(shape, np.inf)
    index = np.arange(int(np.prod(shape))).reshape(shape)
    rows, cols, weights = [], [], []
    for offset in _HALF_OFFSETS:
        here = tuple(slice(max(0, -o), n - max(0, o)) for o, n in zip(offset, shape, strict=True))
        there = tuple(slice(max(0, o), n - max(0, -o)) for o, n in zip(offset, shape, strict=True))
        gradient2 = ((pixels[(slice(None), *here)] - pixels[(slice(None), *there)]) ** 2).sum(0)
        length2 = float(((offset * np.asarray(sizes)) ** 2).sum())
        rows.append(index[here].ravel())
        cols.append(index[there].ravel())
        weights.append(np.sqrt((1.0 - lam) * length2 + lam * gradient2).ravel())
    graph = coo_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))),
        shape=(index.size, index.size),
    ).tocsr()  # explicit zero costs (lam = 1, flat image) stay edges in csgraph
    sources = np.ravel_multi_index(tuple(seeds.T), shape)
    return dijkstra(graph, directed=False, indices=sources, min_only=True).reshape(shape)


# ----------------------------------------------------------------------------------------
# Encoders
# ----------------------------------------------------------------------------------------


class GeodesicHintEncoder:
    """``exp(-geodesic distance / scale)`` to the clicks; see :func:`geodesic_encoder`.

    Holds the image's precomputed edge costs and a scratch buffer: one encoder per episode,
    not to be called from several threads at once. ``last_iterations`` is the number of
    sweep pairs its last call ran (0 before the first call with a click).
    """

    def __init__(
        self,
        image: np.ndarray,
        spacing: tuple[float, float, float],
        lam: float,
        scale: float,
        iterations: int,
    ) -> None:
        self.lam, self.scale, self.iterations = lam, scale, iterations
        self.last_iterations = 0
        self._graph = _GeodesicGraph(image, spacing, lam)
        self.shape = self._graph.shape
        self._dist = self._graph.new_distance_buffer()

    def __call__(self, coords: np.ndarray) -> np.ndarray:
        """Encode one click set, int ``(n, 3)`` → float32 ``(D, H, W)`` in [0, 1]."""
        clicks = _as_coords(coords, self.shape)
        out = np.zeros(self.shape, dtype=np.float32)
        if len(clicks):
            self.last_iterations = self._graph.transform(self._dist, clicks, self.iterations)
            _hint_from_padded(self._dist, 1.0 / self.scale, out)
        return out

    def spawn(self) -> GeodesicHintEncoder:
        """A new encoder of the same image and parameters, with its own scratch buffer.

        The edge costs are shared (they are only read), so episodes on one image can skip
        recomputing them, and the two encoders may be called from different threads.
        """
        twin = object.__new__(GeodesicHintEncoder)
        twin.lam, twin.scale, twin.iterations = self.lam, self.scale, self.iterations
        twin.last_iterations = 0
        twin._graph, twin.shape = self._graph, self.shape
        twin._dist = self._graph.new_distance_buffer()
        return twin

    def __repr__(self) -> str:
        return (
            f"GeodesicHintEncoder(shape={self.shape}, lam={self.lam}, scale={self.scale}, "
            f"iterations={self.iterations})"
        )


class EuclideanHintEncoder:
    """``exp(-Euclidean distance in mm / scale)`` to the clicks; see :func:`euclidean_encoder`."""

    _DIRECT_MAX_CLICKS = 64  # beyond this, scipy's O(N) distance transform is cheaper

    def __init__(
        self, shape: tuple[int, int, int], spacing: tuple[float, float, float], scale: float
    ) -> None:
        self.shape, self.spacing, self.scale = shape, spacing, scale

    def __call__(self, coords: np.ndarray) -> np.ndarray:
        """Encode one click set, int ``(n, 3)`` → float32 ``(D, H, W)`` in [0, 1]."""
        clicks = _as_coords(coords, self.shape)
        out = np.zeros(self.shape, dtype=np.float32)
        if len(clicks) == 0:
            return out
        if len(clicks) > self._DIRECT_MAX_CLICKS:
            mask = np.ones(self.shape, dtype=bool)
            mask[tuple(clicks.T)] = False
            distance = ndimage.distance_transform_edt(mask, sampling=self.spacing)
            return np.exp(-distance / self.scale).astype(np.float32)
        squares = [
            ((np.arange(n)[None, :] - clicks[:, axis, None]) * self.spacing[axis]) ** 2
            for axis, n in enumerate(self.shape)
        ]
        dz2, dy2, dx2 = (np.ascontiguousarray(s, dtype=np.float32) for s in squares)
        _euclidean_hint(dz2, dy2, dx2, 1.0 / self.scale, out)
        return out

    def __repr__(self) -> str:
        return f"EuclideanHintEncoder(shape={self.shape}, scale={self.scale})"


class GaussianHintEncoder:
    """A truncated Gaussian on each click, combined by max; see :func:`gaussian_encoder`."""

    def __init__(self, shape: tuple[int, int, int], kernel_size: int, sigma: float) -> None:
        self.shape, self.kernel_size, self.sigma = shape, kernel_size, sigma
        self.radius = kernel_size // 2
        offsets = np.arange(-self.radius, self.radius + 1)
        self._profile = np.exp(-(offsets**2) / (2.0 * sigma**2))

    def __call__(self, coords: np.ndarray) -> np.ndarray:
        """Encode one click set, int ``(n, 3)`` → float32 ``(D, H, W)`` in [0, 1]."""
        clicks = _as_coords(coords, self.shape)
        out = np.zeros(self.shape, dtype=np.float32)
        r = self.radius
        for click in clicks:
            box, factors = [], []
            for c, n in zip(click, self.shape, strict=True):
                lo, hi = max(0, c - r), min(n, c + r + 1)
                box.append(slice(lo, hi))
                factors.append(self._profile[lo - c + r : hi - c + r])
            fz, fy, fx = factors
            values = (fz[:, None, None] * fy[None, :, None] * fx[None, None, :]).astype(np.float32)
            window = out[tuple(box)]
            np.maximum(window, values, out=window)
        return out

    def __repr__(self) -> str:
        return (
            f"GaussianHintEncoder(shape={self.shape}, kernel_size={self.kernel_size}, "
            f"sigma={self.sigma:.4g})"
        )


@HINT_ENCODERS.register("geodesic")
def geodesic_encoder(
    image: np.ndarray,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    *,
    lam: float = DEFAULT_LAMBDA,
    scale: float = DEFAULT_GEODESIC_SCALE,
    iterations: int = DEFAULT_ITERATIONS,
) -> HintEncoder:
    """Geodesic hints ``h = exp(-d / scale)``, ``d`` from :func:`geodesic_distance`.

    Default ``scale = 1.5``: on a z-normalised image with lam = 0.9, a step inside flat
    tissue (neighbour differences ≈ 0.1) costs ≈ sqrt(0.1 + 0.9·0.01) ≈ 0.33, ≈ 0.35 per mm
    along real paths, so the hint is ≈ 0.5 three voxels from a click, ≈ 0.3 at five and
    ≈ 0.1 at ten (a visible 5–10 voxel spread); a strong edge (a step of 3) costs
    ≈ sqrt(0.1 + 0.9·9) ≈ 2.86 on its own and multiplies the hint beyond it by
    exp(-2.86 / 1.5) ≈ 0.15: the hint stops at the edge. (Measured on smoothed Gaussian
    noise plus a +3 blob; a smaller scale tightens both.)

    Args:
        image: float ``(D, H, W)`` or ``(M, D, H, W)``, finite, fixed for the episode (its
            edge costs are precomputed here).
        spacing: voxel size in mm along (D, H, W).
        lam: weight of the intensity term in [0, 1] (0 = Euclidean, 1 = pure gradient).
        scale: distance at which the hint falls to 1/e, > 0.
        iterations: the most raster sweep pairs, ≥ 1; they stop at the first that changes
            no distance (see :func:`geodesic_distance`).

    Returns:
        The encoder, int ``(n, 3)`` clicks → float32 ``(D, H, W)`` in [0, 1].
    """
    return GeodesicHintEncoder(
        _as_image(image),
        _as_spacing(spacing),
        _check_lam(lam),
        _check_positive(scale, "scale"),
        check_count("iterations", iterations, minimum=1),
    )


@HINT_ENCODERS.register("euclidean")
def euclidean_encoder(
    image: np.ndarray,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    *,
    scale: float = DEFAULT_EUCLIDEAN_SCALE,
) -> HintEncoder:
    """Euclidean hints ``h = exp(-d / scale)``, ``d`` the distance in mm to the nearest click.

    Default ``scale = 4`` mm spreads like the geodesic default in flat tissue: ≈ 0.3 at
    5 mm and ≈ 0.1 at 10 mm, but ignores edges. The image only supplies the shape.

    Args:
        image: ``(D, H, W)`` or ``(M, D, H, W)``.
        spacing: voxel size in mm along (D, H, W).
        scale: distance in mm at which the hint falls to 1/e, > 0.

    Returns:
        The encoder, int ``(n, 3)`` clicks → float32 ``(D, H, W)`` in [0, 1].
    """
    shape = _as_image(image).shape[1:]
    return EuclideanHintEncoder(shape, _as_spacing(spacing), _check_positive(scale, "scale"))


@HINT_ENCODERS.register("gaussian")
def gaussian_encoder(
    image: np.ndarray,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    *,
    kernel_size: int = DEFAULT_KERNEL_SIZE,
    sigma: float | None = None,
) -> HintEncoder:
    """MECCA's hints: a 3D Gaussian "of kernel size 8 voxels" on each click, combined by max.

    ``h = max_j exp(-|x_i - x_j|² / (2 sigma²))`` in voxel units (as in MECCA; ``spacing``
    is accepted for a uniform factory signature and ignored), truncated to 0 outside the
    cube of half-width ``kernel_size // 2`` around each click (offsets -4..4 for 8: a
    centred window is odd). Default ``sigma = kernel_size / 6``, so the window spans ±3σ
    and the hint at its face is exp(-4.5) ≈ 0.011.

    Args:
        image: ``(D, H, W)`` or ``(M, D, H, W)``; only its shape is used.
        spacing: ignored (voxel units).
        kernel_size: window size in voxels, ≥ 1.
        sigma: Gaussian width in voxels, > 0; None for ``kernel_size / 6``.

    Returns:
        The encoder, int ``(n, 3)`` clicks → float32 ``(D, H, W)`` in [0, 1].
    """
    shape = _as_image(image).shape[1:]
    _as_spacing(spacing)
    size = check_count("kernel_size", kernel_size, minimum=1)
    width = size / 6.0 if sigma is None else _check_positive(sigma, "sigma")
    return GaussianHintEncoder(shape, size, width)


def make_hint_encoder(
    name_or_factory: str | HintEncoderFactory,
    image: np.ndarray,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    **params: Any,
) -> HintEncoder:
    """Build the hint encoder ``name_or_factory`` for one image (once per episode).

    Args:
        name_or_factory: a name registered in :data:`HINT_ENCODERS` or a factory callable
            ``factory(image, spacing, **params) -> HintEncoder``.
        image: float ``(D, H, W)`` or ``(M, D, H, W)``.
        spacing: voxel size in mm along (D, H, W).
        **params: the factory's keyword parameters (e.g. ``lam``, ``scale``).

    Returns:
        The encoder, int ``(n, 3)`` clicks → float32 ``(D, H, W)`` in [0, 1].
    """
    factory = HINT_ENCODERS.get(name_or_factory)
    _check_params(factory, params, name_or_factory)
    encoder = factory(image, spacing, **params)
    if not callable(encoder):
        raise InputTypeError(
            f"hint encoder factory {name_or_factory!r} returned {describe(encoder)}, not a "
            "callable; a factory must return encode(coords) -> (D, H, W) map"
        )
    return encoder


def _check_params(factory: Callable[..., Any], params: dict[str, Any], label: object) -> None:
    """Reject keyword parameters the factory does not take, listing the ones it does."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # builtins without a signature: let the call decide
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    accepted = [
        name
        for name, p in list(parameters.items())[2:]
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ConfigError(
            f"hint encoding {label!r} got unknown parameter(s) {unknown}; it accepts "
            f"{accepted or 'no parameters'} (pass them in hint_kwargs)"
        )
