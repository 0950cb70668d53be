"""Tests of the procedural synthetic cases: statistics and contracts, not pixels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from segenv.data import CaseSource, SyntheticSource, make_synthetic_case, synthetic_splits
from segenv.data.synthetic import SPLIT_STRIDE
from segenv.errors import ConfigError, InputTypeError

SMALL = (12, 32, 32)


def best_threshold_dice(image: np.ndarray, label: np.ndarray) -> float:
    """Best Dice of ``image >= t`` over every threshold t (exact sweep via a descending sort)."""
    order = np.argsort(-image.ravel(), kind="stable")
    true_positives = np.cumsum(label.ravel()[order])
    predicted = np.arange(1, true_positives.size + 1)
    return float((2 * true_positives / (predicted + label.sum())).max())


def test_best_threshold_dice_helper_on_a_hand_example():
    image = np.array([0.9, 0.8, 0.1, 0.7])
    label = np.array([True, False, False, True])
    # t = 0.9: {0} → 2·1/(1+2) = 2/3; t = 0.8: {0,1} → 2/4; t = 0.7: {0,1,3} → 4/5; t = 0.1: 4/6
    assert best_threshold_dice(image, label) == pytest.approx(0.8)


# --------------------------------------------------------------------------- one case


def test_same_seed_gives_identical_case_and_another_seed_differs():
    first = make_synthetic_case(SMALL, 7, num_modalities=2)
    again = make_synthetic_case(SMALL, np.random.default_rng(7), num_modalities=2)
    other = make_synthetic_case(SMALL, 8, num_modalities=2)
    np.testing.assert_array_equal(first.image, again.image)
    np.testing.assert_array_equal(first.label, again.label)
    assert not np.array_equal(first.image, other.image)
    assert not np.array_equal(first.label, other.label)


@pytest.mark.parametrize("shape", [(30, 55, 55), (1, 64, 64), (12, 20, 64), (40, 12, 30)])
def test_dtype_shape_finite_and_z_normalised(shape):
    case = make_synthetic_case(shape, 3, num_modalities=2, spacing=(2.0, 1.0, 0.5), name="x")
    assert case.image.dtype == np.float32 and case.image.shape == (2, *shape)
    assert case.label.dtype == bool and case.label.shape == shape
    assert np.isfinite(case.image).all()
    assert case.label.any()
    assert case.spacing == (2.0, 1.0, 0.5) and case.name == "x"
    for channel in case.image:
        assert abs(float(channel.mean(dtype=np.float64))) < 1e-4
        assert float(channel.std(dtype=np.float64)) == pytest.approx(1.0, abs=1e-3)


def test_default_geometry_is_2d_friendly_and_works_anisotropic():
    flat = make_synthetic_case((1, 64, 64), 0, difficulty=1.0, num_parts=2)
    assert ndimage.label(flat.label)[1] == 2
    big = make_synthetic_case((64, 128, 128), 0)
    assert big.image.shape == (1, 64, 128, 128)
    assert 0.02 < big.label.mean() < 0.08


def test_default_foreground_fraction_is_in_documented_range():
    # documented: object_size ~ U(0.03, 0.08) and, at this shape, 85-100 % of it is realised
    fractions = [make_synthetic_case(rng=seed).label.mean() for seed in range(6)]
    assert all(0.025 <= f <= 0.08 for f in fractions)
    assert np.ptp(fractions) > 0.005  # sizes vary between cases


def test_object_size_sets_the_foreground_fraction():
    sizes = (0.01, 0.04, 0.1)
    fractions = [make_synthetic_case(SMALL, 5, object_size=s).label.mean() for s in sizes]
    for size, fraction in zip(sizes, fractions, strict=True):
        assert 0.85 * size <= fraction <= 1.05 * size
    assert fractions[0] < fractions[1] < fractions[2]


@pytest.mark.parametrize("num_parts", [1, 2, 3, 4])
@pytest.mark.parametrize("difficulty", [0.0, 1.0])
def test_num_parts_gives_that_many_connected_components(num_parts, difficulty):
    for seed in range(2):
        case = make_synthetic_case(
            rng=seed, difficulty=difficulty, num_parts=num_parts, object_size=0.06
        )
        assert ndimage.label(case.label)[1] == num_parts  # face connectivity
        assert ndimage.label(case.label, np.ones((3, 3, 3)))[1] == num_parts  # 26-connectivity


@pytest.mark.parametrize("shape", [(30, 55, 55), (1, 64, 64), (12, 20, 64)])
def test_label_keeps_a_margin_from_every_border(shape):
    margins = np.array([min(3, n // 6) for n in shape])  # documented: min(3, n // 6)
    for seed in range(3):
        index = np.argwhere(make_synthetic_case(shape, seed, difficulty=1.0).label)
        assert (index.min(axis=0) >= margins).all()
        assert (index.max(axis=0) <= np.array(shape) - 1 - margins).all()


def test_contrast_knob_increases_object_versus_background_difference():
    differences = []
    for contrast in (0.0, 2.0, 5.0):
        case = make_synthetic_case(SMALL, 11, contrast=contrast, difficulty=0.5)
        image, label = case.image[0], case.label
        differences.append(image[label].mean() - image[~label].mean())
    assert differences[0] < differences[1] < differences[2]


def test_explicit_knob_does_not_change_the_other_random_draws():
    low = make_synthetic_case(SMALL, 4, contrast=1.0, noise=0.1, blur=0.0)
    high = make_synthetic_case(SMALL, 4, contrast=5.0, noise=2.0, blur=2.0)
    np.testing.assert_array_equal(low.label, high.label)


def test_best_threshold_dice_drops_with_difficulty():
    def mean_dice(difficulty: float) -> float:
        cases = [make_synthetic_case(rng=seed, difficulty=difficulty) for seed in range(5)]
        return float(np.mean([best_threshold_dice(c.image[0], c.label) for c in cases]))

    easy, medium, hard = mean_dice(0.0), mean_dice(0.5), mean_dice(1.0)
    assert easy > 0.95  # difficulty 0: a threshold almost solves it
    assert medium < 0.87  # difficulty 0.5: it must not
    assert hard < medium < easy


def test_two_modalities_are_different_correlated_contrasts():
    two = make_synthetic_case(SMALL, 2, num_modalities=2, difficulty=0.3)
    one = make_synthetic_case(SMALL, 2, num_modalities=1, difficulty=0.3)
    flair, t1 = two.image
    assert not np.allclose(flair, t1)
    lesion = two.label
    assert flair[lesion].mean() > flair[~lesion].mean()  # FLAIR-like: bright lesion
    assert t1[lesion].mean() < np.median(t1[~lesion])  # T1-like: dark lesion
    np.testing.assert_array_equal(two.image[0], one.image[0])  # extra channels add, not change


def test_many_modalities_and_tiny_objects():
    case = make_synthetic_case(SMALL, 0, num_modalities=6, object_size=1e-5)
    assert case.image.shape[0] == 6 and case.label.sum() >= 1


@pytest.mark.parametrize(
    "knobs",
    [
        {"difficulty": -0.1},
        {"difficulty": 1.5},
        {"difficulty": float("nan")},
        {"contrast": -1.0},
        {"noise": -0.5},
        {"bias_field": -0.1},
        {"blur": -1.0},
        {"blur": float("inf")},
        {"object_size": 0.0},
        {"object_size": 0.5},
        {"num_parts": 0},
        {"num_parts": 7},
        {"num_modalities": 0},
        {"shape": (30, 55)},
        {"shape": (0, 55, 55)},
        {"shape": (1, 4, 64)},
        {"shape": (30.5, 55, 55)},
        {"shape": "30x55x55"},
        {"spacing": (1.0, 1.0)},
        {"spacing": (0.0, 1.0, 1.0)},
        {"shape": (1, 8, 8), "num_parts": 6, "object_size": 0.25},  # parts cannot fit apart
    ],
)
def test_bad_knobs_raise_config_error(knobs):
    with pytest.raises(ConfigError):
        make_synthetic_case(**{"rng": 0, **knobs})


@pytest.mark.parametrize(
    "knobs", [{"difficulty": "hard"}, {"num_parts": 2.5}, {"contrast": True}, {"name": 3}]
)
def test_wrongly_typed_knobs_raise_input_type_error(knobs):
    with pytest.raises(InputTypeError):
        make_synthetic_case(rng=0, **knobs)


def test_error_message_names_the_knob_and_the_value():
    with pytest.raises(ConfigError, match=r"difficulty must be in \[0, 1\], got 2"):
        make_synthetic_case(difficulty=2)


# --------------------------------------------------------------------------- sources


def test_source_case_i_is_the_case_of_seed_start_plus_i():
    source = SyntheticSource(SMALL, num_cases=3, start_seed=40, difficulty=0.2, noise=0.3)
    assert isinstance(source, CaseSource) and len(source) == 3
    expected = make_synthetic_case(SMALL, 41, difficulty=0.2, noise=0.3)
    np.testing.assert_array_equal(source[1].image, expected.image)
    np.testing.assert_array_equal(source[1].label, expected.label)
    assert source[1].name == "synthetic-41"
    np.testing.assert_array_equal(source[-1].label, source[2].label)
    assert [case.name for case in source] == ["synthetic-40", "synthetic-41", "synthetic-42"]
    assert list(source.seeds) == [40, 41, 42]


def test_source_caches_and_protects_its_cases():
    source = SyntheticSource(SMALL, num_cases=3, cache_size=1)
    first = source[0]
    assert source[0] is first
    with pytest.raises(ValueError, match="read-only"):
        first.image[0, 0, 0, 0] = 1.0
    source[1]  # evicts case 0
    again = source[0]
    assert again is not first
    np.testing.assert_array_equal(again.image, first.image)


def test_source_index_errors():
    source = SyntheticSource(SMALL, num_cases=2)
    with pytest.raises(IndexError):
        source[2]
    with pytest.raises(IndexError):
        source[-3]
    with pytest.raises(InputTypeError):
        source["0"]  # type: ignore[index]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"num_cases": 0},
        {"start_seed": -1},
        {"cache_size": -1},
        {"difficulty": 2.0},
        {"colour": "red"},
    ],
)
def test_source_validates_eagerly(kwargs):
    with pytest.raises(ConfigError):
        SyntheticSource(SMALL, **kwargs)


def test_splits_are_disjoint_reproducible_and_cover_train():
    splits = synthetic_splits(SMALL, num_train1=3, num_train2=2, num_test=2, seed=0)
    other = synthetic_splits(SMALL, num_train1=3, num_train2=2, num_test=2, seed=1)
    seeds = [set(source.seeds) for source in (*splits, *other)]
    for i, first in enumerate(seeds):
        for second in seeds[i + 1 :]:
            assert not first & second
    assert splits.test.start_seed == SPLIT_STRIDE
    assert set(splits.train.seeds) == seeds[0] | seeds[1]
    again = synthetic_splits(SMALL, num_train1=3, num_train2=2, num_test=2, seed=0)
    np.testing.assert_array_equal(splits.test[1].image, again.test[1].image)
    np.testing.assert_array_equal(splits.train[3].label, splits.train2[0].label)


def test_splits_pass_knobs_and_validate_sizes():
    splits = synthetic_splits(SMALL, num_train1=1, num_train2=1, num_test=1, num_modalities=2)
    assert splits.test[0].image.shape[0] == 2
    with pytest.raises(ConfigError):
        synthetic_splits(SMALL, num_train1=0)
    with pytest.raises(ConfigError):
        synthetic_splits(SMALL, num_train1=SPLIT_STRIDE, num_train2=1)
