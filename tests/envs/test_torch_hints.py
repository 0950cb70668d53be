"""The torch geodesic transform (segenv.envs._torch_hints) against Dijkstra and the numba one."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

torch = pytest.importorskip("torch")

from segenv.envs._torch_hints import (  # noqa: E402
    geodesic_costs,
    geodesic_distance_torch,
    geodesic_sweeps,
    hints_from_distance,
    new_distances,
)
from segenv.errors import ConfigError  # noqa: E402
from segenv.hints import (  # noqa: E402
    DEFAULT_ITERATIONS,
    geodesic_distance,
    geodesic_distance_exact,
    geodesic_encoder,
)

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def random_image(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """White Gaussian noise: the hardest case for sweeps (paths meander most)."""
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def textured_image(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """Smoothed Gaussian noise (MRI-like texture) plus a bright ellipsoid (a +3 step edge)."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.normal(size=shape), 1.0)
    grid = np.indices(shape, dtype=float)
    centre = np.array(shape, dtype=float)[:, None, None, None] / 2
    radii = np.maximum(np.array(shape, dtype=float) / 4, 1.0)[:, None, None, None]
    blob = (((grid - centre) / radii) ** 2).sum(axis=0) < 1
    return (noise + 3.0 * blob).astype(np.float32)


def random_seeds(shape: tuple[int, int, int], n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, size, n) for size in shape], axis=1)


def mean_relative_error(fast: np.ndarray, exact: np.ndarray) -> float:
    positive = exact > 0
    return float(np.mean(np.abs(fast[positive] - exact[positive]) / exact[positive]))


@pytest.mark.parametrize("lam", [0.0, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("make_image", [random_image, textured_image])
def test_converges_to_the_exact_distance(make_image, lam: float) -> None:
    # the bar: within 1 % mean relative error of Dijkstra; converged, only float32 is left
    shape = (12, 24, 24)
    image, seeds = make_image(shape), random_seeds(shape, 5)
    exact = geodesic_distance_exact(image, seeds, lam=lam)
    distance, used = geodesic_distance_torch(image, seeds, lam=lam)
    assert distance.dtype == torch.float32 and tuple(distance.shape) == shape
    assert mean_relative_error(distance.numpy(), exact) < 1e-5
    np.testing.assert_allclose(distance.numpy(), exact, rtol=1e-5, atol=1e-5)
    assert 1 <= used < DEFAULT_ITERATIONS
    assert np.all(distance.numpy()[tuple(seeds.T)] == 0.0)


@pytest.mark.parametrize(
    ("shape", "spacing", "lam"),
    [
        ((7, 9, 11), (3.0, 1.0, 0.7), 0.9),
        ((1, 20, 24), (1.0, 0.5, 1.5), 1.0),
        ((5, 1, 13), (1.0, 1.0, 1.0), 0.9),
        ((3, 4, 1), (1.0, 2.0, 1.0), 0.5),
    ],
)
def test_spacing_flat_and_thin_volumes(shape, spacing, lam: float) -> None:
    image, seeds = textured_image(shape), random_seeds(shape, 3)
    exact = geodesic_distance_exact(image, seeds, spacing, lam=lam)
    distance, _ = geodesic_distance_torch(image, seeds, spacing, lam=lam)
    np.testing.assert_allclose(distance.numpy(), exact, rtol=1e-5, atol=1e-5)


def test_multimodal_costs_use_the_l2_norm() -> None:
    shape = (6, 8, 9)
    image = np.stack([textured_image(shape, 0), textured_image(shape, 5)])
    seeds = random_seeds(shape, 3)
    exact = geodesic_distance_exact(image, seeds)
    distance, _ = geodesic_distance_torch(image, seeds)
    np.testing.assert_allclose(distance.numpy(), exact, rtol=1e-5, atol=1e-5)


def test_one_iteration_is_a_capped_run_and_lam1_needs_more() -> None:
    shape = (12, 24, 24)
    image, seeds = random_image(shape), random_seeds(shape, 5)
    exact = geodesic_distance_exact(image, seeds, lam=1.0)
    one, used = geodesic_distance_torch(image, seeds, lam=1.0, iterations=1)
    assert used == 1 and mean_relative_error(one.numpy(), exact) > 0.02
    assert np.all(one.numpy() >= exact - 1e-5)  # sweeps only overestimate


@pytest.mark.parametrize("lam", [0.9, 1.0])
def test_hints_match_the_numba_encoder(lam: float) -> None:
    # the numba costs are rounded to 16 bits: the hints agree to a few 1e-4
    shape = (8, 16, 16)
    image, seeds = textured_image(shape), random_seeds(shape, 4)
    expected = geodesic_encoder(image, lam=lam, scale=1.5)(seeds)
    costs = geodesic_costs(torch.from_numpy(image)[None, None], (1.0, 1.0, 1.0), lam)
    dist = new_distances(1, 1, shape, torch.device("cpu"))
    dist[0, 0, seeds[:, 0] + 1, seeds[:, 1] + 1, seeds[:, 2] + 1] = 0.0
    geodesic_sweeps(costs, dist)
    hints = hints_from_distance(dist, 1.5)[0, 0].numpy()
    np.testing.assert_allclose(hints, expected, atol=2e-3)
    assert np.abs(hints - expected).mean() < 2e-4
    numba = geodesic_distance(image, seeds, lam=lam)
    np.testing.assert_allclose(-1.5 * np.log(np.maximum(hints, 1e-30)), numba, rtol=5e-3)


def test_a_batch_with_shared_costs_equals_one_by_one() -> None:
    # N images x C seed sets: each set's distances are those of a run on its own
    shape = (5, 9, 10)
    images = np.stack([textured_image(shape, s) for s in (0, 1, 2)])[:, None]
    costs = geodesic_costs(
        torch.from_numpy(images), torch.tensor([[1.0, 1, 1], [2, 1, 1], [1, 1, 3]])
    )
    dist = new_distances(3, 2, shape, torch.device("cpu"))
    seeds = [[random_seeds(shape, 2, seed=3 * i + c) for c in range(2)] for i in range(3)]
    for i in range(3):
        for c in range(2):
            s = seeds[i][c] + 1
            dist[i, c, s[:, 0], s[:, 1], s[:, 2]] = 0.0
    dist[2, 1] = float("inf")  # a set without seeds stays +inf
    used = geodesic_sweeps(costs, dist)
    assert used.shape == (3, 2) and int(used[2, 1]) == 1
    assert torch.isinf(dist[2, 1]).all()
    spacings = [(1.0, 1.0, 1.0), (2.0, 1.0, 1.0), (1.0, 1.0, 3.0)]
    for i in range(3):
        for c in range(2 if i < 2 else 1):
            alone, _ = geodesic_distance_torch(images[i, 0], seeds[i][c], spacings[i])
            torch.testing.assert_close(dist[i, c, 1:-1, 1:-1, 1:-1], alone, rtol=0, atol=0)


@pytest.mark.parametrize("lam", [0.5, 1.0])
def test_fused_and_elementwise_relaxations_agree_bit_for_bit(lam: float) -> None:
    # CUDA runs the fused form (fewest kernels), a CPU the elementwise one: both here
    shape = (6, 11, 13)
    images = np.stack([random_image(shape, s) for s in (0, 1)])[:, None]
    costs = geodesic_costs(torch.from_numpy(images), (1.0, 2.0, 0.5), lam)
    results = []
    for fused in (True, False):
        dist = new_distances(2, 2, shape, torch.device("cpu"))
        for i in range(2):
            for c in range(2):
                s = random_seeds(shape, 3, seed=2 * i + c) + 1
                dist[i, c, s[:, 0], s[:, 1], s[:, 2]] = 0.0
        used = geodesic_sweeps(costs, dist, fused=fused)
        results.append((dist, used))
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])


def test_bad_arguments_raise() -> None:
    image = textured_image((3, 4, 5))
    with pytest.raises(ConfigError, match="lam"):
        geodesic_distance_torch(image, [[0, 0, 0]], lam=1.5)
    with pytest.raises(ConfigError, match="seed"):
        geodesic_distance_torch(image, np.zeros((0, 3), int))
    with pytest.raises(ConfigError, match="max_iterations"):
        costs = geodesic_costs(torch.zeros(1, 1, 3, 4, 5), (1.0, 1.0, 1.0))
        geodesic_sweeps(costs, new_distances(1, 1, (3, 4, 5), torch.device("cpu")), 0)
    with pytest.raises(ConfigError, match="images"):
        geodesic_costs(torch.zeros(3, 4, 5), (1.0, 1.0, 1.0))


@pytest.mark.gpu
@CUDA
@pytest.mark.parametrize("lam", [0.9, 1.0])
def test_cuda_matches_cpu_and_dijkstra(lam: float) -> None:
    shape = (12, 24, 24)
    image, seeds = random_image(shape), random_seeds(shape, 5)
    exact = geodesic_distance_exact(image, seeds, lam=lam)
    on_cpu, used_cpu = geodesic_distance_torch(image, seeds, lam=lam)
    on_gpu, used_gpu = geodesic_distance_torch(image, seeds, lam=lam, device="cuda")
    assert on_gpu.is_cuda and used_gpu == used_cpu
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=1e-6, atol=1e-6)
    assert mean_relative_error(on_gpu.cpu().numpy(), exact) < 1e-5
