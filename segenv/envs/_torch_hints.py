"""The geodesic hint transform of :mod:`segenv.hints` on batched torch tensors (CPU or CUDA).

The same graph (26 neighbours, edge ``i–j`` with offset ``o`` in mm costs
``sqrt((1 - lam) |o|² + lam |I_i - I_j|²)``) and the same raster-sweep scheme as the numba
transform (:func:`segenv.hints.geodesic_distance`), laid out for a GPU as FastGeodis does it:
an iteration sweeps the volume along each axis, forwards then backwards, and a sweep visits
the planes across that axis in order, relaxing every voxel of a plane over its 9 edges to the
previous plane (the 3×3 neighbours) in one vectorised operation per plane, for the whole
batch at once. An edge with a non-zero step along some axis is relaxed, in both directions,
by that axis' two sweeps; so an iteration that changes no distance leaves every edge
satisfying the triangle inequality, and the distances are then the exact shortest paths
(of the float32 costs). Iterations repeat until one changes nothing, at most
``max_iterations`` (the numba transform's cap), with one device→host sync per iteration.

The costs are float32 (the numba transform rounds them to 16 bits), so converged distances
agree with the numba ones to ~2⁻⁹ relative and with :func:`segenv.hints.geodesic_distance_exact`
to float32 rounding. Python loops run over iterations, axes and planes, never over voxels.

Only the batched env (and its tests and benchmarks) imports this module: it needs torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from segenv.errors import ConfigError
from segenv.hints import DEFAULT_ITERATIONS, DEFAULT_LAMBDA

__all__ = [
    "GeodesicCosts",
    "geodesic_costs",
    "geodesic_distance_torch",
    "geodesic_sweeps",
    "hints_from_distance",
]

# The 9 in-plane steps (da, db) to the next plane, k = 3 (da + 1) + (db + 1).
_STEPS = [(da, db) for da in (-1, 0, 1) for db in (-1, 0, 1)]


@dataclass
class GeodesicCosts:
    """The edge costs of N images, one tensor per sweep axis.

    ``axes[a]`` is float32 ``(N, n_a - 1, 9, P + 2, Q + 2)`` for axis ``a`` (0 = D, 1 = H,
    2 = W) of length ``n_a`` and the other two axes (P, Q) in order: entry
    ``[:, p, k, i, j]`` is the cost of the edge from the voxel at padded in-plane position
    ``(i, j)`` of plane ``p`` to the voxel ``(i + da_k, j + db_k)`` of plane ``p + 1``;
    +inf where either end lies in the one-voxel padding. An axis of length 1 has no such
    edges (``n_a - 1 = 0`` planes).
    """

    axes: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    shape: tuple[int, int, int]

    @property
    def num_volumes(self) -> int:
        """N, the number of images."""
        return int(self.axes[0].shape[0])

    def assign(self, rows: torch.Tensor, other: GeodesicCosts) -> None:
        """Overwrite the costs of volumes ``rows`` with ``other``'s (in order), in place."""
        for mine, theirs in zip(self.axes, other.axes, strict=True):
            mine.index_copy_(0, rows, theirs)


def geodesic_costs(
    images: torch.Tensor, spacings: torch.Tensor | Sequence[float], lam: float = DEFAULT_LAMBDA
) -> GeodesicCosts:
    """The 26-neighbour edge costs of a batch of images.

    Args:
        images: float ``(N, M, D, H, W)`` (M modalities), finite.
        spacings: voxel sizes in mm along (D, H, W): ``(N, 3)`` per image, or three numbers.
        lam: weight of the intensity term in [0, 1].

    Returns:
        The costs, float32 on the images' device.
    """
    if images.ndim != 5:
        raise ConfigError(f"images must be (N, M, D, H, W), got shape {tuple(images.shape)}")
    if not 0.0 <= lam <= 1.0:
        raise ConfigError(f"lam must be in [0, 1], got {lam!r}")
    n, _, d, h, w = images.shape
    device = images.device
    sizes = torch.as_tensor(spacings, dtype=torch.float64, device=device).reshape(-1, 3)
    sizes = sizes.expand(n, 3)
    padded = F.pad(images.to(torch.float32), (2, 2, 2, 2, 2, 2), mode="replicate")
    lam32 = torch.tensor(lam, dtype=torch.float32, device=device)
    axes = []
    for axis in range(3):
        length = (d, h, w)[axis]
        others = [o for o in range(3) if o != axis]
        p, q = ((d, h, w)[o] for o in others)
        # planes across the axis: (N, M, length + 4, P + 4, Q + 4), two voxels of padding
        planes = padded.permute(0, 1, 2 + axis, 2 + others[0], 2 + others[1])
        here = planes[:, :, 2 : length + 1, 1 : p + 3, 1 : q + 3]  # planes 0..n-2, padded 1
        costs = torch.empty((n, max(length - 1, 0), 9, p + 2, q + 2), device=device)
        for k, (da, db) in enumerate(_STEPS):
            there = planes[:, :, 3 : length + 2, 1 + da : p + 3 + da, 1 + db : q + 3 + db]
            gradient2 = torch.sub(here, there).square_().sum(dim=1)
            offset = torch.stack(
                [
                    sizes[:, axis],
                    da * sizes[:, others[0]],
                    db * sizes[:, others[1]],
                ],
                dim=1,
            )
            weight = ((1.0 - lam) * offset.square().sum(dim=1)).to(torch.float32)
            # float32 in numba's order: sqrt(weight + lam * gradient²)
            cost = torch.mul(gradient2, lam32).add_(weight.reshape(n, 1, 1, 1)).sqrt_()
            costs[:, :, k] = cost
        mask = _valid_edges(p, q, device)
        costs.masked_fill_(~mask.reshape(1, 1, 9, p + 2, q + 2), float("inf"))
        axes.append(costs)
    return GeodesicCosts((axes[0], axes[1], axes[2]), (d, h, w))


def _valid_edges(p: int, q: int, device: torch.device) -> torch.Tensor:
    """Bool ``(9, P + 2, Q + 2)``: both ends of edge k at padded position (i, j) are real."""
    i = torch.arange(p + 2, device=device).reshape(1, -1, 1)
    j = torch.arange(q + 2, device=device).reshape(1, 1, -1)
    da = torch.tensor([s[0] for s in _STEPS], device=device).reshape(9, 1, 1)
    db = torch.tensor([s[1] for s in _STEPS], device=device).reshape(9, 1, 1)
    inside = (i >= 1) & (i <= p) & (j >= 1) & (j <= q)
    target = (i + da >= 1) & (i + da <= p) & (j + db >= 1) & (j + db <= q)
    return inside & target


def geodesic_sweeps(
    costs: GeodesicCosts,
    dist: torch.Tensor,
    max_iterations: int = DEFAULT_ITERATIONS,
    *,
    fused: bool | None = None,
) -> torch.Tensor:
    """Relax padded distances in place until no distance changes (at most ``max_iterations``).

    Args:
        costs: the edge costs of N images.
        dist: float32 ``(N, C, D + 2, H + 2, W + 2)``: C seed sets per image (they share its
            costs), 0 at the seeds, +inf elsewhere and in the one-voxel padding.
        max_iterations: the most iterations (each: the six axis sweeps), ≥ 1.
        fused: relax a plane in 3 kernels (an add, a reduction over the 9 neighbours as one
            strided view, a minimum; fewest launches: the default on CUDA) or in 19
            elementwise ones (faster on a CPU: the default there). Same results, bit for bit.

    Returns:
        int64 ``(N, C)`` on the device: the iterations run for each seed set until the first
        that changed none of its distances (or ``max_iterations``), as the numba transform
        counts them.
    """
    if max_iterations < 1:
        raise ConfigError(f"max_iterations must be >= 1, got {max_iterations!r}")
    n, c = dist.shape[:2]
    used = torch.full((n, c), max_iterations, dtype=torch.int64, device=dist.device)
    running = torch.ones((n, c), dtype=torch.bool, device=dist.device)
    fused = dist.is_cuda if fused is None else fused
    before = torch.empty_like(dist) if max_iterations > 1 else None
    for iteration in range(max_iterations):
        if before is not None:
            before.copy_(dist)
        for axis in range(3):
            _sweep_axis(costs.axes[axis], dist.movedim(2 + axis, 2), fused)
        if before is None:
            break
        changed = (dist != before).flatten(2).any(dim=2)
        settled = running & ~changed
        used.masked_fill_(settled, iteration + 1)
        running &= changed
        if not bool(running.any()):  # one sync per iteration
            break
    return used


def _sweep_axis(costs: torch.Tensor, planes: torch.Tensor, fused: bool) -> None:
    """Both sweeps along one axis; ``planes`` is ``(N, C, n + 2, P + 2, Q + 2)`` (a view)."""
    count = costs.shape[1]  # n - 1 edge planes
    if count == 0:
        return
    for p in range(count):  # forwards: plane p + 2 (padded) from plane p + 1
        _relax_forward(planes[:, :, p + 1], costs[:, p], planes[:, :, p + 2, 1:-1, 1:-1], fused)
    for p in range(count - 1, -1, -1):  # backwards: plane p + 1 from plane p + 2
        _relax_backward(planes[:, :, p + 2], costs[:, p], planes[:, :, p + 1, 1:-1, 1:-1], fused)


def _relax_forward(
    source: torch.Tensor, costs: torch.Tensor, target: torch.Tensor, fused: bool
) -> None:
    """``target[i, j] = min(target, min_k source[i + 1 - da_k, j + 1 - db_k] + cost_k[...])``.

    ``source`` ``(N, C, P + 2, Q + 2)`` is the previous plane, ``costs`` ``(N, 9, P + 2, Q + 2)``
    its edges to the next plane (stored at their source voxel), ``target`` the next plane's
    real voxels ``(N, C, P, Q)``. Edge k's candidates are the window of ``source + cost_k``
    shifted by ``(-da_k, -db_k)``: element ``(i, j)`` is ``sums[k, i + 2 - a, j + 2 - c]``
    with ``k = 3a + c``.
    """
    sums = source.unsqueeze(2) + costs.unsqueeze(1)  # (N, C, 9, P + 2, Q + 2), contiguous
    p, q = target.shape[-2:]
    if fused:  # the 9 windows as one strided view, reduced in one kernel
        n, c = sums.shape[:2]
        sn, sc, sk, si, sj = sums.stride()
        windows = sums.as_strided(
            (n, c, p, q, 3, 3),
            (sn, sc, si, sj, 3 * sk - si, sk - sj),
            sums.storage_offset() + 2 * si + 2 * sj,
        )
        torch.minimum(target, windows.amin(dim=(-2, -1)), out=target)
        return
    for k in range(9):  # on a CPU 9 elementwise minima beat a reduction over 3×3 strides
        a, c = divmod(k, 3)
        torch.minimum(target, sums[:, :, k, 2 - a : 2 - a + p, 2 - c : 2 - c + q], out=target)


def _relax_backward(
    source: torch.Tensor, costs: torch.Tensor, target: torch.Tensor, fused: bool
) -> None:
    """``target[i, j] = min(target, min_k source[i + 1 + da_k, j + 1 + db_k] + cost_k[i+1, j+1])``.

    ``source`` ``(N, C, P + 2, Q + 2)`` is the next plane, ``costs`` ``(N, 9, P + 2, Q + 2)``
    the edges from the previous plane (the target's) to it.
    """
    p, q = target.shape[-2:]
    if fused:  # one broadcast sum over the 3×3 neighbourhoods, one reduction
        neighbours = source.unfold(2, 3, 1).unfold(3, 3, 1)  # (N, C, P, Q, 3, 3), a view
        edge = costs[:, :, 1:-1, 1:-1].permute(0, 2, 3, 1).unflatten(-1, (3, 3)).unsqueeze(1)
        torch.minimum(target, (neighbours + edge).amin(dim=(-2, -1)), out=target)
        return
    candidate = torch.empty_like(target)
    for k in range(9):
        a, c = divmod(k, 3)
        torch.add(source[:, :, a : a + p, c : c + q], costs[:, None, k, 1:-1, 1:-1], out=candidate)
        torch.minimum(target, candidate, out=target)


def hints_from_distance(dist: torch.Tensor, scale: float) -> torch.Tensor:
    """``exp(-d / scale)`` of the real voxels of padded distances ``(..., D + 2, H + 2, W + 2)``."""
    real = dist[..., 1:-1, 1:-1, 1:-1]
    return torch.exp(real * float(np.float32(-1.0 / scale)))


def new_distances(
    num_volumes: int, num_sets: int, shape: tuple[int, int, int], device: torch.device
) -> torch.Tensor:
    """A padded distance buffer ``(N, C, D + 2, H + 2, W + 2)`` of +inf."""
    d, h, w = shape
    return torch.full((num_volumes, num_sets, d + 2, h + 2, w + 2), float("inf"), device=device)


def geodesic_distance_torch(
    image: np.ndarray | torch.Tensor,
    coords: np.ndarray | torch.Tensor,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    *,
    lam: float = DEFAULT_LAMBDA,
    iterations: int = DEFAULT_ITERATIONS,
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, int]:
    """One volume's geodesic distance to int ``(n, 3)`` seeds, like :func:`geodesic_distance`.

    Args:
        image: ``(D, H, W)`` or ``(M, D, H, W)``.
        coords: int ``(n ≥ 1, 3)`` (z, y, x) seeds.
        spacing: voxel size in mm along (D, H, W).
        lam: weight of the intensity term in [0, 1].
        iterations: the most sweep iterations; they stop at the first that changes nothing.
        device: where to compute.

    Returns:
        float32 ``(D, H, W)`` distances on ``device`` and the iterations run.
    """
    pixels = torch.as_tensor(image, dtype=torch.float32, device=device)
    if pixels.ndim == 3:
        pixels = pixels.unsqueeze(0)
    seeds = torch.as_tensor(coords, dtype=torch.int64, device=device).reshape(-1, 3)
    if len(seeds) == 0:
        raise ConfigError("geodesic_distance_torch needs at least one seed")
    costs = geodesic_costs(pixels.unsqueeze(0), spacing, lam)
    dist = new_distances(1, 1, costs.shape, pixels.device)
    dist[0, 0, seeds[:, 0] + 1, seeds[:, 1] + 1, seeds[:, 2] + 1] = 0.0
    used = geodesic_sweeps(costs, dist, iterations)
    return dist[0, 0, 1:-1, 1:-1, 1:-1], int(used[0, 0])
