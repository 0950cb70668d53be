"""Tests for segenv.hints: geodesic / Euclidean / Gaussian hint maps and their validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from segenv.errors import ConfigError, DataError, InputTypeError
from segenv.hints import (
    DEFAULT_ITERATIONS,
    HINT_ENCODERS,
    euclidean_encoder,
    gaussian_encoder,
    geodesic_distance,
    geodesic_distance_exact,
    geodesic_encoder,
    make_hint_encoder,
)


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


def chamfer26(shape: tuple[int, int, int], seed: tuple[int, int, int]) -> np.ndarray:
    """Hand formula of the 26-neighbour path length on a unit grid: with |Δ| sorted
    a ≥ b ≥ c, take c 3-axis steps, b - c 2-axis steps and a - b 1-axis steps."""
    delta = np.abs(np.indices(shape) - np.array(seed)[:, None, None, None])
    c, b, a = np.sort(delta, axis=0)
    return c * math.sqrt(3) + (b - c) * math.sqrt(2) + (a - b)


# --- geodesic distance: hand values ------------------------------------------------------


def test_single_row_matches_hand_costs() -> None:
    # Only x edges exist: flat steps cost sqrt(0.1), the +3 step sqrt(0.1 + 0.9 * 9).
    image = np.array([0.0, 0.0, 0.0, 3.0, 3.0], dtype=np.float32).reshape(1, 1, 5)
    flat, edge = math.sqrt(0.1), math.sqrt(8.2)
    expected = np.cumsum([0.0, flat, flat, edge, flat]).reshape(1, 1, 5)
    seed = np.array([[0, 0, 0]])
    np.testing.assert_allclose(geodesic_distance_exact(image, seed, lam=0.9), expected, rtol=1e-12)
    np.testing.assert_allclose(geodesic_distance(image, seed, lam=0.9), expected, rtol=3e-3)


def test_single_row_uses_spacing() -> None:
    image = np.array([0.0, 0.0, 0.0, 3.0, 3.0], dtype=np.float32).reshape(1, 1, 5)
    flat, edge = math.sqrt(0.1 * 4), math.sqrt(0.4 + 8.1)  # x spacing 2 mm
    expected = np.cumsum([0.0, flat, flat, edge, flat]).reshape(1, 1, 5)
    seed = np.array([[0, 0, 0]])
    spacing = (1.0, 1.0, 2.0)
    np.testing.assert_allclose(geodesic_distance_exact(image, seed, spacing), expected)
    np.testing.assert_allclose(geodesic_distance(image, seed, spacing), expected, rtol=3e-3)


def test_multimodal_cost_is_l2_norm_over_modalities() -> None:
    image = np.zeros((2, 1, 1, 2), dtype=np.float32)
    image[0, 0, 0, 1], image[1, 0, 0, 1] = 3.0, 4.0  # |ΔI| = 5
    expected = math.sqrt(0.1 + 0.9 * 25.0)
    seed = np.array([[0, 0, 0]])
    assert geodesic_distance_exact(image, seed)[0, 0, 1] == pytest.approx(expected)
    assert geodesic_distance(image, seed)[0, 0, 1] == pytest.approx(expected, rel=3e-3)


@pytest.mark.parametrize("seed", [(0, 0, 0), (1, 2, 3), (2, 0, 4)])
def test_lam0_is_26_neighbour_chamfer(seed: tuple[int, int, int]) -> None:
    shape = (3, 4, 5)
    image = np.random.default_rng(0).normal(size=shape)  # ignored when lam = 0
    expected = chamfer26(shape, seed)
    np.testing.assert_allclose(geodesic_distance_exact(image, [seed], lam=0.0), expected)
    np.testing.assert_allclose(geodesic_distance(image, [seed], lam=0.0), expected, rtol=3e-3)


def test_lam0_anisotropic_hand_values() -> None:
    image = np.zeros((2, 2, 2), dtype=np.float32)
    distance = geodesic_distance(image, [(0, 0, 0)], (2.0, 1.0, 1.0), lam=0.0)
    assert distance[1, 0, 0] == pytest.approx(2.0, rel=3e-3)
    assert distance[1, 1, 0] == pytest.approx(math.sqrt(5.0), rel=3e-3)  # one diagonal step
    assert distance[1, 1, 1] == pytest.approx(math.sqrt(6.0), rel=3e-3)


def test_lam1_flat_image_is_zero_everywhere() -> None:
    image = np.ones((3, 4, 5), dtype=np.float32)
    assert np.all(geodesic_distance_exact(image, [(1, 1, 1)], lam=1.0) == 0.0)
    assert np.all(geodesic_distance(image, [(1, 1, 1)], lam=1.0) == 0.0)


def test_strong_edge_raises_the_distance() -> None:
    shape = (5, 9, 9)
    bright = np.zeros(shape, dtype=np.float32)
    bright[..., 5:] = 3.0
    seed = [(2, 4, 1)]
    flat = geodesic_distance(np.zeros(shape, dtype=np.float32), seed)
    walled = geodesic_distance(bright, seed)
    np.testing.assert_allclose(walled[..., :5], flat[..., :5], rtol=3e-3)
    # crossing costs ≥ sqrt(0.1 + 8.1) - sqrt(0.1 * 3) ≈ 2.32 more than the longest flat step
    assert np.all(walled[..., 5:] - flat[..., 5:] > 2.3)


# --- geodesic distance: accuracy against Dijkstra -----------------------------------------


@pytest.mark.parametrize(
    ("shape", "spacing", "lam", "iterations"),
    [
        ((12, 14, 16), (1.0, 1.0, 1.0), 0.9, 1),
        ((12, 14, 16), (3.0, 1.0, 0.7), 0.9, 1),
        ((12, 14, 16), (1.0, 1.0, 1.0), 0.5, 1),
        ((1, 20, 24), (1.0, 1.0, 1.0), 0.9, 1),
        ((1, 20, 24), (1.0, 0.5, 1.5), 0.99, 1),
        ((10, 12, 14), (1.0, 1.0, 1.0), 1.0, 4),
        ((12, 14, 16), (3.0, 1.0, 0.7), 1.0, None),
        ((1, 20, 24), (1.0, 0.5, 1.5), 1.0, None),
    ],
)
def test_fast_transform_within_one_percent_of_dijkstra(
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    lam: float,
    iterations: int | None,
) -> None:
    image = textured_image(shape)
    seeds = random_seeds(shape, 4)
    exact = geodesic_distance_exact(image, seeds, spacing, lam=lam)
    options = {} if iterations is None else {"iterations": iterations}
    fast = geodesic_distance(image, seeds, spacing, lam=lam, **options)
    assert fast.dtype == np.float32 and exact.dtype == np.float64
    assert mean_relative_error(fast, exact) < 0.01
    assert np.all(fast >= exact * (1 - 3e-3) - 1e-6)  # sweeps overestimate (cost rounding aside)
    assert np.all(fast[tuple(seeds.T)] == 0.0)


def random_image(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """White Gaussian noise: the hardest case for sweeps (paths meander most)."""
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


@pytest.mark.parametrize("lam", [0.0, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("make_image", [random_image, textured_image])
def test_sweeps_until_no_change_reach_the_exact_distance(make_image, lam: float) -> None:
    shape = (12, 24, 24)
    image, seeds = make_image(shape), random_seeds(shape, 5)
    exact = geodesic_distance_exact(image, seeds, lam=lam)
    encode = geodesic_encoder(image, lam=lam, scale=1.0)
    distance = -np.log(np.maximum(encode(seeds).astype(np.float64), 1e-300))
    converged = geodesic_distance(image, seeds, lam=lam)
    # only the 16-bit cost rounding is left (~0.03 %), far below the bar of 1 %
    assert mean_relative_error(converged, exact) < 1e-3
    assert 1 <= encode.last_iterations < DEFAULT_ITERATIONS  # stopped by convergence
    np.testing.assert_allclose(distance, converged, rtol=1e-4, atol=1e-4)
    # another iteration changes nothing: the sweeps stopped at a fixed point
    more = geodesic_distance(image, seeds, lam=lam, iterations=encode.last_iterations + 3)
    np.testing.assert_array_equal(more, converged)


def test_one_iteration_alone_is_far_off_at_lam1() -> None:
    # why the sweeps repeat: the DeepIGeoS form (lam = 1) meanders; one pass is 8-30 % off
    shape = (12, 24, 24)
    image, seeds = random_image(shape), random_seeds(shape, 5)
    exact = geodesic_distance_exact(image, seeds, lam=1.0)
    assert mean_relative_error(geodesic_distance(image, seeds, lam=1.0, iterations=1), exact) > 0.05
    assert mean_relative_error(geodesic_distance(image, seeds, lam=1.0), exact) < 1e-3


def test_zero_cost_edges_do_not_drift() -> None:
    # lam = 1 on a flat region: x edges cost 0, and float32 (d - P) + P rounding must not
    # lower the distances sweep after sweep (the sweeps would never see "no change")
    image = np.zeros((3, 5, 40), dtype=np.float32)
    image[:, :, 20:] = 1.0
    image[:, :, :5] = 0.37
    distance = geodesic_distance(image, [(1, 2, 10)], lam=1.0)
    np.testing.assert_array_equal(distance[..., 5:20], 0.0)
    np.testing.assert_allclose(distance[..., 20:], 1.0, rtol=1e-6)
    np.testing.assert_allclose(distance[..., :5], 0.37, rtol=1e-6)
    encode = geodesic_encoder(image, lam=1.0)
    encode(np.array([[1, 2, 10]]))
    assert encode.last_iterations <= 3


@pytest.mark.parametrize("shape", [(3, 4, w) for w in (1, 2, 3, 4, 5, 7, 8, 9, 13)] + [(2, 1, 6)])
def test_narrow_volumes_do_not_leak_through_the_padding(shape: tuple[int, int, int]) -> None:
    # Row loops run in whole 8-lane vectors past the row end into padding and the next row.
    image = textured_image(shape)
    seeds = random_seeds(shape, 2)
    exact = geodesic_distance_exact(image, seeds)
    fast = geodesic_distance(image, seeds, iterations=3)
    assert np.all(fast >= exact * (1 - 3e-3) - 1e-6)
    assert mean_relative_error(fast, exact) < 0.01


def test_fast_transform_multimodal_within_one_percent() -> None:
    shape = (10, 12, 14)
    image = np.stack([textured_image(shape, 0), textured_image(shape, 5)])
    seeds = random_seeds(shape, 3)
    exact = geodesic_distance_exact(image, seeds)
    assert mean_relative_error(geodesic_distance(image, seeds), exact) < 0.01


def test_more_iterations_only_lower_the_distances() -> None:
    shape = (10, 12, 14)
    image, seeds = textured_image(shape), random_seeds(shape, 3)
    exact = geodesic_distance_exact(image, seeds, lam=1.0)
    one, two, four = (geodesic_distance(image, seeds, lam=1.0, iterations=k) for k in (1, 2, 4))
    assert np.all(two <= one) and np.all(four <= two)
    assert mean_relative_error(four, exact) < mean_relative_error(one, exact)


def test_seed_mask_equals_coords_and_no_seed_is_infinite() -> None:
    shape = (4, 5, 6)
    image = textured_image(shape)
    seeds = np.array([[0, 1, 2], [3, 4, 5]])
    mask = np.zeros(shape, dtype=bool)
    mask[tuple(seeds.T)] = True
    np.testing.assert_array_equal(geodesic_distance(image, mask), geodesic_distance(image, seeds))
    assert np.all(np.isinf(geodesic_distance(image, np.zeros(shape, dtype=bool))))
    assert np.all(np.isinf(geodesic_distance_exact(image, np.zeros((0, 3), dtype=int))))


# --- encoders ----------------------------------------------------------------------------


def test_registry_has_the_three_encodings() -> None:
    assert HINT_ENCODERS.names() == ["euclidean", "gaussian", "geodesic"]
    assert HINT_ENCODERS.get("geodesic") is geodesic_encoder


@pytest.mark.parametrize("name", ["geodesic", "euclidean", "gaussian"])
@pytest.mark.parametrize("shape", [(6, 7, 8), (1, 9, 10)])
def test_maps_in_unit_interval_with_one_at_clicks(name: str, shape: tuple[int, int, int]) -> None:
    image = textured_image(shape)
    encode = make_hint_encoder(name, image, (1.0, 1.0, 1.0))
    clicks = random_seeds(shape, 3)
    hint = encode(clicks)
    assert hint.shape == shape and hint.dtype == np.float32
    assert np.all((hint >= 0.0) & (hint <= 1.0))
    np.testing.assert_allclose(hint[tuple(clicks.T)], 1.0)
    assert hint.min() < 1.0


@pytest.mark.parametrize("name", ["geodesic", "euclidean", "gaussian"])
@pytest.mark.parametrize(
    "no_clicks", [np.zeros((0, 3), dtype=np.int64), [], np.zeros((0, 3), dtype=float)]
)
def test_no_clicks_gives_zeros(name: str, no_clicks: object) -> None:
    encode = make_hint_encoder(name, textured_image((3, 4, 5)))
    hint = encode(no_clicks)  # type: ignore[arg-type]
    assert hint.shape == (3, 4, 5) and hint.dtype == np.float32
    assert not hint.any()


@pytest.mark.parametrize(
    ("name", "params"),
    [("geodesic", {"lam": 0.0}), ("euclidean", {}), ("gaussian", {"kernel_size": 4})],
)
def test_max_of_two_encodings_equals_encoding_of_union(name: str, params: dict) -> None:
    shape = (6, 7, 8)
    encode = make_hint_encoder(name, textured_image(shape), (2.0, 1.0, 1.0), **params)
    first, second = np.array([[1, 2, 3]]), np.array([[4, 5, 6], [0, 6, 0]])
    union = encode(np.concatenate([first, second]))
    np.testing.assert_allclose(np.maximum(encode(first), encode(second)), union, atol=1e-6)


def test_encoder_returns_fresh_arrays() -> None:
    encode = geodesic_encoder(textured_image((4, 5, 6)))
    first = encode(np.array([[0, 0, 0]]))
    kept = first.copy()
    encode(np.array([[3, 4, 5]]))
    np.testing.assert_array_equal(first, kept)


def test_geodesic_hint_is_exp_of_distance() -> None:
    shape = (6, 7, 8)
    image, clicks = textured_image(shape), random_seeds(shape, 2)
    spacing = (2.0, 1.0, 1.0)
    distance = geodesic_distance(image, clicks, spacing, lam=0.8, iterations=2)
    hint = geodesic_encoder(image, spacing, lam=0.8, scale=2.5, iterations=2)(clicks)
    np.testing.assert_allclose(hint, np.exp(-distance / 2.5), rtol=2e-5, atol=1e-7)


def test_geodesic_hint_stops_at_a_strong_edge() -> None:
    image = np.zeros((5, 20, 20), dtype=np.float32)
    image[..., 10:] = 3.0
    hint = geodesic_encoder(image)(np.array([[2, 10, 6]]))
    before, after = hint[2, 10, 9], hint[2, 10, 10]
    assert after < 0.2 * before
    assert hint[2, 10, 1] > 0.1  # five voxels away in flat tissue the hint is still visible


def test_tiny_scale_underflows_to_zero_without_nan() -> None:
    hint = geodesic_encoder(textured_image((4, 5, 6)), scale=1e-3)(np.array([[0, 0, 0]]))
    assert np.isfinite(hint).all() and hint[0, 0, 0] == 1.0 and hint[3, 4, 5] == 0.0


def test_euclidean_matches_scipy_edt_and_hand_value() -> None:
    shape, spacing, scale = (6, 7, 8), (2.0, 1.0, 0.5), 3.0
    clicks = np.array([[0, 0, 0], [4, 6, 7]])
    mask = np.ones(shape, dtype=bool)
    mask[tuple(clicks.T)] = False
    expected = np.exp(-ndimage.distance_transform_edt(mask, sampling=spacing) / scale)
    hint = euclidean_encoder(np.zeros(shape), spacing, scale=scale)(clicks)
    np.testing.assert_allclose(hint, expected, rtol=2e-5, atol=1e-7)
    assert hint[1, 2, 2] == pytest.approx(math.exp(-1.0), rel=1e-5)  # sqrt(4 + 4 + 1) = 3 mm


@pytest.mark.parametrize("n_clicks", [64, 65])  # direct kernel, then the scipy EDT path
def test_euclidean_many_clicks(n_clicks: int) -> None:
    shape, spacing = (5, 12, 13), (1.5, 1.0, 1.0)
    rng = np.random.default_rng(3)
    flat = rng.choice(np.prod(shape), size=n_clicks, replace=False)
    clicks = np.stack(np.unravel_index(flat, shape), axis=1)
    mask = np.ones(shape, dtype=bool)
    mask[tuple(clicks.T)] = False
    expected = np.exp(-ndimage.distance_transform_edt(mask, sampling=spacing) / 4.0)
    hint = euclidean_encoder(np.zeros(shape), spacing)(clicks)
    np.testing.assert_allclose(hint, expected, rtol=2e-5, atol=1e-7)


def test_gaussian_hand_values() -> None:
    hint = gaussian_encoder(np.zeros((9, 9, 11)))(np.array([[4, 4, 4]]))
    two_sigma2 = 2 * (8 / 6) ** 2  # default sigma = kernel_size / 6
    assert hint[4, 4, 4] == 1.0
    assert hint[4, 4, 5] == pytest.approx(math.exp(-1 / two_sigma2), rel=1e-6)  # exp(-9/32)
    assert hint[5, 5, 5] == pytest.approx(math.exp(-3 / two_sigma2), rel=1e-6)
    assert hint[4, 4, 8] == pytest.approx(math.exp(-4.5), rel=1e-6)  # window face, offset 4
    assert hint[4, 4, 9] == 0.0  # outside the 8-voxel kernel
    assert hint[8, 8, 8] == pytest.approx(math.exp(-13.5), rel=1e-5)  # window corner


def test_gaussian_custom_sigma_border_and_max_combination() -> None:
    encode = gaussian_encoder(np.zeros((1, 6, 9)), kernel_size=4, sigma=2.0)
    hint = encode(np.array([[0, 0, 2], [0, 0, 6]]))
    assert hint[0, 0, 2] == 1.0 and hint[0, 0, 6] == 1.0
    assert hint[0, 1, 2] == pytest.approx(math.exp(-1 / 8), rel=1e-6)
    assert hint[0, 0, 4] == pytest.approx(math.exp(-4 / 8), rel=1e-6)  # 2 from both clicks
    assert hint[0, 0, 3] == pytest.approx(math.exp(-1 / 8), rel=1e-6)  # max(1 away, 3 away)
    assert hint[0, 3, 2] == 0.0  # outside the window of half-width 2
    assert hint[0, 0, 0] == pytest.approx(math.exp(-4 / 8), rel=1e-6)  # window clipped at border


def test_make_hint_encoder_accepts_a_factory() -> None:
    def constant(image: np.ndarray, spacing: object, *, value: float = 0.5):
        return lambda coords: np.full(np.shape(image), value, dtype=np.float32)

    encode = make_hint_encoder(constant, np.zeros((2, 3, 4)), value=0.25)
    assert np.all(encode(np.zeros((0, 3), dtype=int)) == 0.25)


# --- validation --------------------------------------------------------------------------


IMAGE = np.zeros((3, 4, 5), dtype=np.float32)


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"lam": 1.5}, ConfigError),
        ({"lam": -0.1}, ConfigError),
        ({"lam": "0.5"}, InputTypeError),
        ({"lam": True}, InputTypeError),
        ({"lam": float("nan")}, ConfigError),
        ({"scale": 0.0}, ConfigError),
        ({"scale": -1.0}, ConfigError),
        ({"iterations": 0}, ConfigError),
        ({"iterations": 1.5}, InputTypeError),
        ({"colour": 1}, ConfigError),
    ],
)
def test_geodesic_rejects_bad_parameters(params: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        make_hint_encoder("geodesic", IMAGE, **params)


@pytest.mark.parametrize(
    ("name", "params", "error"),
    [
        ("euclidean", {"scale": 0}, ConfigError),
        ("gaussian", {"kernel_size": 0}, ConfigError),
        ("gaussian", {"kernel_size": 2.5}, InputTypeError),
        ("gaussian", {"sigma": 0.0}, ConfigError),
        ("gaussian", {"lam": 0.5}, ConfigError),
        ("geodesc", {}, ConfigError),
    ],
)
def test_other_encoders_reject_bad_parameters(
    name: str, params: dict, error: type[Exception]
) -> None:
    with pytest.raises(error):
        make_hint_encoder(name, IMAGE, **params)


def test_error_messages_name_the_problem() -> None:
    with pytest.raises(ConfigError, match="Did you mean 'geodesic'"):
        make_hint_encoder("geodesc", IMAGE)
    with pytest.raises(ConfigError, match="kernel_size"):
        make_hint_encoder("gaussian", IMAGE, lam=0.5)
    with pytest.raises(ConfigError, match=r"lam must be in \[0, 1\].*1.5"):
        geodesic_encoder(IMAGE, lam=1.5)


@pytest.mark.parametrize(
    ("image", "spacing", "error"),
    [
        (np.full((3, 4, 5), np.nan, dtype=np.float32), (1, 1, 1), DataError),
        (np.zeros((4, 5)), (1, 1, 1), DataError),
        (np.zeros((0, 4, 5)), (1, 1, 1), DataError),
        (np.array([["a"]]), (1, 1, 1), InputTypeError),
        (IMAGE, (1.0, 1.0), ConfigError),
        (IMAGE, (1.0, 0.0, 1.0), ConfigError),
        (IMAGE, "abc", InputTypeError),
    ],
)
@pytest.mark.parametrize("name", ["geodesic", "euclidean", "gaussian"])
def test_factories_reject_bad_images_and_spacing(
    name: str, image: np.ndarray, spacing: object, error: type[Exception]
) -> None:
    with pytest.raises(error):
        make_hint_encoder(name, image, spacing)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("coords", "error"),
    [
        (np.array([[0.0, 1.0, 2.0]]), InputTypeError),
        (np.array([[0, 1, 5]]), ConfigError),
        (np.array([[-1, 0, 0]]), ConfigError),
        (np.array([0, 1, 2]), ConfigError),
        (np.array([[0, 1]]), ConfigError),
    ],
)
@pytest.mark.parametrize("name", ["geodesic", "euclidean", "gaussian"])
def test_encoders_reject_bad_clicks(name: str, coords: np.ndarray, error: type[Exception]) -> None:
    encode = make_hint_encoder(name, IMAGE)
    with pytest.raises(error):
        encode(coords)


def test_distance_functions_validate_seeds() -> None:
    with pytest.raises(ConfigError, match="seed mask"):
        geodesic_distance(IMAGE, np.zeros((2, 2, 2), dtype=bool))
    with pytest.raises(ConfigError):
        geodesic_distance_exact(IMAGE, np.array([[3, 0, 0]]))
    with pytest.raises(ConfigError):
        geodesic_distance(IMAGE, [(0, 0, 0)], lam=2.0)
