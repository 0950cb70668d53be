"""Min-cut / graph-cut refinement with the clicks as hard seeds (Boykov–Jolly), a baseline.

IteR-MRL Table 2's "Min-Cut" row: at every step the segmentation is the minimum cut of a graph
whose unary terms come from the current probability ``p`` (``-log p`` to be foreground,
``-log(1-p)`` to be background, ``p`` clipped to ``[0.01, 0.99]``), whose pairwise terms
between face neighbours are ``λ · exp(-‖ΔI‖² / 2σ²) / distance`` (intensity-contrast weights on
the normalised image, summed over modalities), and whose clicks are hard seeds. The max-flow is
``scipy.sparse.csgraph.maximum_flow`` (Dinic) on integer capacities; the cut is the set of
voxels reachable from the source in the residual graph. Building the graph is vectorised.

As a policy (:class:`GraphCutPolicy`) it moves every voxel by the action set's largest step
towards its label in the cut, so with the ``paper`` actions ``p`` follows the cut within a step
or two (a voxel at p = 0 needs two +0.4 steps to cross 0.5).

The boundary weight ``λ`` must suit the data: with λ = 2 (right for 64×64 slices) the cut
removed the whole object of 16×32×32 volumes (Dice 75 → 35 at the first step). A small 3D
object has far more boundary per voxel than a 2D one (4πr² against πr² per 4πr³/3, over six
face neighbours instead of four), so the same λ makes cutting it away cheaper than keeping it —
graph cut's shrinking bias. :meth:`GraphCutPolicy.tuned` therefore picks λ on training episodes
(the best Dice after one step among :data:`LAMBDAS`) and the contrast scale σ from each image
(GrabCut's rule: ``σ² = mean ‖ΔI‖²`` over neighbour pairs), as one tunes any baseline.
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from segenv.errors import ConfigError
from segenv.interaction import Clicks

from .common.evaluation import state_channels

SCALE = 1000.0  # capacities are rounded to integers after this scaling
SEED_CAPACITY = 10**7
LAMBDAS = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0)
"""Boundary weights :meth:`GraphCutPolicy.tuned` chooses from."""


def _neighbour_edges(
    image: np.ndarray, spacing: tuple[float, ...], lam: float, sigma: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Face-neighbour pairs (flat indices) and their contrast weights, one axis at a time."""
    shape = image.shape[1:]
    index = np.arange(int(np.prod(shape))).reshape(shape)
    firsts, seconds, weights = [], [], []
    for axis, size in enumerate(shape):
        if size < 2:
            continue
        head = [slice(None)] * len(shape)
        tail = [slice(None)] * len(shape)
        head[axis], tail[axis] = slice(None, -1), slice(1, None)
        difference = image[(slice(None), *head)] - image[(slice(None), *tail)]
        contrast = np.square(difference).sum(axis=0)
        weight = lam * np.exp(-contrast / (2.0 * sigma**2)) / spacing[axis]
        firsts.append(index[tuple(head)].ravel())
        seconds.append(index[tuple(tail)].ravel())
        weights.append(weight.ravel())
    return np.concatenate(firsts), np.concatenate(seconds), np.concatenate(weights)


def contrast_scale(image: np.ndarray) -> float:
    """GrabCut's σ: the root mean squared intensity difference of face neighbours.

    ``image`` is ``(M, D, H, W)``; axes of length 1 are skipped. Never below 1e-3.
    """
    squares = [
        np.square(np.diff(image, axis=axis)).sum(axis=0).ravel()
        for axis in range(1, image.ndim)
        if image.shape[axis] > 1
    ]
    if not squares:
        return 1.0
    return max(float(np.sqrt(np.concatenate(squares).mean())), 1e-3)


def graph_cut(
    image: np.ndarray,
    probability: np.ndarray,
    clicks: Clicks,
    *,
    lam: float = 2.0,
    sigma: float | str = 0.5,
    spacing: tuple[float, ...] = (1.0, 1.0, 1.0),
) -> np.ndarray:
    """The minimum-cut foreground of a volume.

    Args:
        image: float ``(M, D, H, W)`` normalised image.
        probability: ``(D, H, W)`` current foreground probability (the unary terms).
        clicks: Object clicks become foreground seeds, background clicks background seeds.
        lam: Weight of the pairwise (boundary) term.
        sigma: Intensity scale of the contrast weights (in image units), or ``"auto"``:
            :func:`contrast_scale` of the image.
        spacing: Voxel spacing along (D, H, W) (pairwise weights divide by it).

    Returns:
        bool ``(D, H, W)``.
    """
    if sigma == "auto":
        sigma = contrast_scale(np.asarray(image, dtype=np.float64))
    if isinstance(sigma, str) or lam < 0 or sigma <= 0:
        raise ConfigError(
            f"need lam >= 0 and sigma > 0 (or 'auto'), got lam={lam!r}, sigma={sigma!r}"
        )
    shape = probability.shape
    if image.shape[1:] != shape:
        raise ConfigError(f"image {image.shape} and probability {shape} shapes do not match")
    count = int(np.prod(shape))
    source, sink = count, count + 1
    p = np.clip(probability.astype(np.float64).ravel(), 0.01, 0.99)
    to_background = -np.log1p(-p)  # cut s→i: voxel i ends up background
    to_foreground = -np.log(p)  # cut i→t: voxel i ends up foreground
    seeds = np.ravel_multi_index(tuple(clicks.coords.T), shape) if len(clicks) else np.zeros(0, int)
    source_capacity = np.round(SCALE * to_background).astype(np.int64)
    sink_capacity = np.round(SCALE * to_foreground).astype(np.int64)
    source_capacity[seeds[clicks.labels]] = SEED_CAPACITY
    sink_capacity[seeds[clicks.labels]] = 0
    sink_capacity[seeds[~clicks.labels]] = SEED_CAPACITY
    source_capacity[seeds[~clicks.labels]] = 0
    first, second, weight = _neighbour_edges(image.astype(np.float64), spacing, lam, sigma)
    pair_capacity = np.maximum(np.round(SCALE * weight), 1).astype(np.int64)
    voxels = np.arange(count)
    rows = np.concatenate([np.full(count, source), voxels, first, second])
    cols = np.concatenate([voxels, np.full(count, sink), second, first])
    data = np.concatenate([source_capacity, sink_capacity, pair_capacity, pair_capacity])
    keep = data > 0
    graph = sparse.csr_matrix(
        (data[keep].astype(np.int32), (rows[keep], cols[keep])), shape=(count + 2, count + 2)
    )
    flow = maximum_flow(graph, source, sink, method="dinic").flow
    residual = (graph - flow).tocsr()
    residual.data = (residual.data > 0).astype(np.int8)
    residual.eliminate_zeros()
    reachable = breadth_first_order(residual, source, directed=True, return_predecessors=False)
    foreground = np.zeros(count + 2, bool)
    foreground[reachable] = True
    return foreground[:count].reshape(shape)


class GraphCutPolicy:
    """Min-cut refinement as a :data:`~.common.evaluation.Policy` (needs the env for the clicks)."""

    def __init__(self, *, lam: float = 2.0, sigma: float | str = 0.5) -> None:
        self.lam = lam
        self.sigma = sigma

    @classmethod
    def tuned(
        cls,
        env: gym.Env,
        *,
        episodes: int = 8,
        candidates: Sequence[float] = LAMBDAS,
        seed: int = 0,
    ) -> GraphCutPolicy:
        """σ from each image and the λ of ``candidates`` with the best mean Dice after one step.

        ``env`` should serve training cases; its first ``episodes`` cases are used.
        """
        if episodes < 1 or not candidates:
            raise ConfigError(f"need episodes >= 1 and candidates, got {episodes}, {candidates}")
        num_cases = len(env.unwrapped.dataset)  # type: ignore[attr-defined]
        scores = {}
        for lam in candidates:
            policy, total = cls(lam=lam, sigma="auto"), 0.0
            for episode in range(episodes):
                options = {"case_index": episode % num_cases}
                observation, _ = env.reset(seed=seed + episode, options=options)
                _, _, _, _, info = env.step(policy(observation, env))
                total += float(info["dice"])
            scores[lam] = total / episodes
        return cls(lam=max(scores, key=scores.__getitem__), sigma="auto")

    def __call__(self, observation: np.ndarray, env: gym.Env) -> np.ndarray:
        """Largest step towards the min-cut label of every voxel."""
        unwrapped = env.unwrapped
        volume_shape = unwrapped.volume_shape  # type: ignore[attr-defined]
        image, probability, _, _ = state_channels(observation, env)
        image = image.reshape(len(image), *volume_shape)
        probability = probability.reshape(volume_shape)
        spacing = tuple(unwrapped.case.spacing)  # type: ignore[attr-defined]
        segmentation = graph_cut(
            image,
            probability,
            unwrapped.clicks,  # type: ignore[attr-defined]
            lam=self.lam,
            sigma=self.sigma,
            spacing=spacing,
        ).reshape(observation.shape[1:])
        deltas = np.asarray(unwrapped.deltas)  # type: ignore[attr-defined]
        return np.where(segmentation, int(np.argmax(deltas)), int(np.argmin(deltas)))
