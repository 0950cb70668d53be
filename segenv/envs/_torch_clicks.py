"""The ``largest_error`` user of :mod:`segenv.interaction` on batched torch tensors (CPU or CUDA).

Finds, for N volumes at once, the same intended clicks as
:func:`segenv.interaction.largest_error`, exactly: the error regions (connected components of
the false negatives and, separately, of the false positives, 26-connectivity by default; a
``D = 1`` volume is one 2D slice) ranked by voxel count, ties to the region whose bounding box
starts first in (z, y, x) order, then to the one whose first voxel comes first in raster order;
a region's click is its voxel nearest its centroid (with the spacing), the first in raster
order on ties.

The components come from iterative label propagation with pointer jumping (FastSV-style):
every error voxel starts as its own parent (its raster index); each round takes the minimum
parent over its same-class neighbours (one min-pooling of the whole batch), hooks the parent
of each voxel onto that minimum (a scatter-min) and halves paths twice (gathers), until no
parent changes. Then every voxel's parent is its component's first voxel in raster order,
which numbers the components as the reference does. Sizes, bounding boxes, centroids and the
voxel nearest each centroid are scatter-adds and scatter-mins over the voxels. Python loops run
over rounds only; one device→host sync per round (has anything changed?).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from segenv.errors import ConfigError

__all__ = ["error_regions", "largest_error_clicks"]

_CONNECTIVITIES = (6, 18, 26)


def error_regions(
    prediction: torch.Tensor, label: torch.Tensor, connectivity: int = 26
) -> tuple[torch.Tensor, torch.Tensor]:
    """Label the error regions of a batch.

    Args:
        prediction: bool ``(N, D, H, W)``.
        label: bool ``(N, D, H, W)`` ground truth.
        connectivity: 6, 18 or 26 (in 3D; a ``D = 1`` volume is labelled in-plane).

    Returns:
        ``(code, root)``: uint8 ``(N, V)`` error code per voxel (0 = correct, 1 = false
        negative, 2 = false positive) and int64 ``(N, V)`` the raster index of the first
        voxel of each error voxel's region (``V`` elsewhere); ``V = D·H·W``.
    """
    if connectivity not in _CONNECTIVITIES:
        raise ConfigError(f"connectivity must be 6, 18 or 26, got {connectivity!r}")
    n = prediction.shape[0]
    shape = tuple(prediction.shape[1:])
    volume = shape[0] * shape[1] * shape[2]
    wrong = prediction != label
    code = (wrong.to(torch.uint8) + (wrong & prediction).to(torch.uint8)).reshape(n, volume)
    # parents as floats for the pooling: exact below 2**24 voxels in float32
    dtype = torch.float32 if volume < 2**24 else torch.float64
    index = torch.arange(volume, device=prediction.device).expand(n, volume)
    outside = float(volume)
    errors = code > 0
    parent = torch.where(errors, index.to(dtype), outside)
    safe = torch.where(errors, index, 0)  # gather positions for voxels without a parent
    by_class = (code == 1, code == 2)
    while True:
        lowest = _neighbour_min(parent, by_class, shape, connectivity, outside)
        # hook: the parent of every voxel takes the smallest label seen next to it
        hooked = torch.minimum(parent, lowest)
        target = torch.where(errors, parent.to(torch.int64), safe)
        hooked.scatter_reduce_(1, target, lowest, reduce="amin")
        for _ in range(2):  # shortcut: parent = parent[parent]
            pointer = torch.where(errors, hooked.to(torch.int64), safe)
            hooked = torch.minimum(hooked, hooked.gather(1, pointer))
        if torch.equal(hooked, parent):
            break
        parent = hooked
    root = torch.where(errors, parent.to(torch.int64), volume)
    return code, root


def _neighbour_min(
    parent: torch.Tensor,
    by_class: tuple[torch.Tensor, torch.Tensor],
    shape: tuple[int, ...],
    connectivity: int,
    outside: float,
) -> torch.Tensor:
    """The smallest parent among each voxel's same-class neighbours and itself, ``(N, V)``."""
    n = parent.shape[0]
    channels = torch.stack([torch.where(mask, parent, outside) for mask in by_class], dim=1)
    grid = channels.reshape(n, 2, *shape)
    if connectivity == 26:
        pooled = -F.max_pool3d(-grid, kernel_size=3, stride=1, padding=1)
    else:
        padded = F.pad(grid, (1, 1, 1, 1, 1, 1), value=outside)
        d, h, w = shape
        pooled = grid.clone()
        limit = 1 if connectivity == 6 else 2
        for dz in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    steps = abs(dz) + abs(dy) + abs(dx)
                    if steps == 0 or steps > limit:
                        continue
                    window = padded[
                        :, :, 1 + dz : 1 + dz + d, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w
                    ]
                    torch.minimum(pooled, window, out=pooled)
    pooled = pooled.reshape(n, 2, -1)
    lowest = torch.where(by_class[0], pooled[:, 0], pooled[:, 1])
    return torch.where(by_class[0] | by_class[1], lowest, outside)


def largest_error_clicks(
    prediction: torch.Tensor,
    label: torch.Tensor,
    n_clicks: int,
    spacings: torch.Tensor,
    connectivity: int = 26,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The intended clicks of :func:`segenv.interaction.largest_error` for a batch.

    Args:
        prediction: bool ``(N, D, H, W)``, ``p >= 0.5``.
        label: bool ``(N, D, H, W)`` ground truth.
        n_clicks: the most clicks per volume, ≥ 1.
        spacings: float64 ``(N, 3)`` voxel sizes in mm along (D, H, W).
        connectivity: 6, 18 or 26.

    Returns:
        ``(coords, counts)``: int64 ``(N, n_clicks, 3)`` (z, y, x), largest region first, and
        int64 ``(N,)`` how many of each volume's rows are clicks (the regions, at most
        ``n_clicks``); both on the device.
    """
    if n_clicks < 1:
        raise ConfigError(f"n_clicks must be >= 1, got {n_clicks!r}")
    n = prediction.shape[0]
    d, h, w = (int(s) for s in prediction.shape[1:])
    volume = d * h * w
    device = prediction.device
    code, root = error_regions(prediction, label, connectivity)
    errors = code > 0
    target = torch.where(errors, root, volume)  # a spare slot V collects the correct voxels
    index = torch.arange(volume, device=device)
    z, y, x = index // (h * w), index // w % h, index % w

    def scatter_sum(values: torch.Tensor) -> torch.Tensor:
        out = torch.zeros((n, volume + 1), dtype=values.dtype, device=device)
        return out.scatter_add_(1, target, values.expand(n, volume))[:, :volume]

    def scatter_min(values: torch.Tensor) -> torch.Tensor:
        out = torch.full((n, volume + 1), volume, dtype=values.dtype, device=device)
        return out.scatter_reduce_(1, target, values.expand(n, volume), reduce="amin")[:, :volume]

    counts = scatter_sum(torch.ones((), dtype=torch.int64, device=device))
    is_root = counts > 0  # a region's statistics sit at its first voxel
    regions = is_root.sum(dim=1)
    # ranking key: largest first, then the bounding box's corner (z of the first voxel, the
    # smallest y, the smallest x), then the first voxel's raster index (the region's number)
    corner = (z * h + scatter_min(y)) * w + scatter_min(x)
    k = min(n_clicks, volume)
    last = torch.iinfo(torch.int64).max
    key = (volume - counts) * volume + corner
    if volume <= 2_000_000:  # (V - count, corner, index) packs into one int64
        key = torch.where(is_root, key * volume + index, last)
        chosen = torch.topk(key, k, dim=1, largest=False, sorted=True).indices
    else:  # a stable sort keeps equal keys in index order
        chosen = torch.sort(torch.where(is_root, key, last), dim=1, stable=True).indices[:, :k]
    # centroids (float64, as the reference sums the coordinates) and the nearest voxel
    sizes = counts.clamp(min=1).to(torch.float64)
    centroid = [scatter_sum(axis.to(torch.float64)) / sizes for axis in (z, y, x)]  # at the roots
    safe_root = torch.where(errors, root, 0)
    distance = torch.zeros((n, volume), dtype=torch.float64, device=device)
    for axis, coordinate in enumerate((z, y, x)):
        offset = (coordinate.to(torch.float64) - centroid[axis].gather(1, safe_root)) * spacings[
            :, axis : axis + 1
        ]
        distance = distance + offset * offset
    distance = torch.where(errors, distance, torch.inf)
    best = torch.full((n, volume + 1), torch.inf, dtype=torch.float64, device=device)
    best.scatter_reduce_(1, target, distance, reduce="amin")
    nearest = errors & (distance == best.gather(1, target))
    candidate = torch.where(nearest, index, volume)
    first = torch.full((n, volume + 1), volume, dtype=torch.int64, device=device)
    first.scatter_reduce_(1, target, candidate, reduce="amin")
    voxel = first.gather(1, chosen).clamp(max=volume - 1)
    coords = torch.stack([voxel // (h * w), voxel // w % h, voxel % w], dim=2)
    return coords, torch.clamp(regions, max=k)
