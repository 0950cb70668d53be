import warnings

import numpy as np
import pytest

from segenv.data.case import make_case
from segenv.errors import ConfigError, DataError
from segenv.initialisers import (
    INITIALISERS,
    appearance_logit,
    initial_probability,
    signed_distance,
)
from segenv.metrics import dice


@pytest.fixture
def case():
    label = np.zeros((12, 32, 32), dtype=bool)
    zz, yy, xx = np.ogrid[:12, :32, :32]
    label[((zz - 6) / 5) ** 2 + ((yy - 16) / 10) ** 2 + ((xx - 16) / 9) ** 2 <= 1] = True
    return make_case(np.random.default_rng(0).normal(size=label.shape), label)


def test_constant_and_background(case):
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(initial_probability("constant", case, rng), 0.5)
    np.testing.assert_array_equal(
        initial_probability("constant", case, rng, value=0.2), np.float32(0.2)
    )
    np.testing.assert_array_equal(initial_probability("background", case, rng), 0.0)
    with pytest.raises(ConfigError, match="value"):
        initial_probability("constant", case, rng, value=1.5)


@pytest.mark.parametrize("target", [0.6, 0.75, 0.9])
def test_degraded_truth_hits_target_dice(case, target):
    p0 = initial_probability("degraded_truth", case, np.random.default_rng(1), target_dice=target)
    assert p0.dtype == np.float32 and p0.min() >= 0 and p0.max() <= 1
    assert dice(p0 >= 0.5, case.label) == pytest.approx(target, abs=0.011)
    assert ((p0 > 0.05) & (p0 < 0.95)).any()  # soft, not a binary mask


def test_degraded_truth_is_seeded(case):
    a = initial_probability("degraded_truth", case, np.random.default_rng(5))
    b = initial_probability("degraded_truth", case, np.random.default_rng(5))
    c = initial_probability("degraded_truth", case, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_signed_distance_hand_values():
    mask = np.zeros((1, 1, 7), dtype=bool)
    mask[0, 0, 2:5] = True
    np.testing.assert_allclose(signed_distance(mask)[0, 0], [-2, -1, 1, 2, 1, -1, -2])


def test_callable_and_bad_outputs(case):
    rng = np.random.default_rng(0)
    out = initial_probability(lambda c, r: np.full(c.shape, 0.3), case, rng)
    np.testing.assert_allclose(out, 0.3)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        initial_probability(lambda c, r: np.full(c.shape, 2.0), case, rng)
    with pytest.raises(DataError, match="NaN"):
        initial_probability(lambda c, r: np.full(c.shape, np.nan), case, rng)
    with pytest.raises(ConfigError, match="shape"):
        initial_probability(lambda c, r: np.zeros((2, 2)), case, rng)
    with pytest.raises(ConfigError, match="target_dice"):
        initial_probability("degraded_truth", case, rng, target_dice=0.0)
    assert "degraded_truth" in INITIALISERS


# ----------------------------------------------------------------- image-aware starts


@pytest.fixture
def ambiguous_case():
    """A ball whose left half has no contrast to the tissue, and a look-alike blob far away."""
    zz, yy, xx = np.ogrid[:16, :40, :40]
    label = ((zz - 8) / 6) ** 2 + ((yy - 20) / 9) ** 2 + ((xx - 14) / 9) ** 2 <= 1
    lookalike = ((zz - 8) / 3) ** 2 + ((yy - 20) / 4) ** 2 + ((xx - 33) / 4) ** 2 <= 1
    image = np.random.default_rng(0).normal(0.0, 0.3, size=label.shape)
    image[label & (xx >= 14)] += 3.0  # the right half is bright: easy
    image[lookalike] += 3.0  # tissue that looks like the object
    return make_case(image.astype(np.float32), label), xx >= 14, lookalike


@pytest.mark.parametrize("target", [0.4, 0.6, 0.8, 0.9])  # 0.4, 0.6: below appearance alone
def test_image_aware_hits_target_dice_with_balanced_errors(ambiguous_case, target):
    case, _, _ = ambiguous_case
    p0 = initial_probability("image_aware", case, np.random.default_rng(0), target_dice=target)
    prediction = p0 >= 0.5
    assert p0.dtype == np.float32 and 0 <= p0.min() and p0.max() <= 1
    assert dice(prediction, case.label) == pytest.approx(target, abs=0.011)
    missed = np.count_nonzero(case.label & ~prediction)
    false = np.count_nonzero(prediction & ~case.label)
    assert missed == pytest.approx(false, abs=2)  # the predicted volume is the object's


def test_image_aware_errors_sit_where_the_image_is_ambiguous(ambiguous_case):
    case, bright_half, lookalike = ambiguous_case
    prediction = initial_probability("image_aware", case, np.random.default_rng(0)) >= 0.5
    missed = case.label & ~prediction
    false = prediction & ~case.label
    # nearly every missed voxel is in the half without contrast; the look-alike is taken
    assert np.count_nonzero(missed & ~bright_half) >= 0.9 * np.count_nonzero(missed)
    assert np.count_nonzero(false & lookalike) >= 0.8 * np.count_nonzero(lookalike)
    # the smooth-noise start errs regardless of the image: its misses are in both halves
    smooth = initial_probability("degraded_truth", case, np.random.default_rng(0)) >= 0.5
    smooth_missed = case.label & ~smooth
    assert np.count_nonzero(smooth_missed & bright_half) >= 0.2 * np.count_nonzero(smooth_missed)


def test_image_aware_is_a_function_of_the_case(ambiguous_case):
    case, _, _ = ambiguous_case
    a = initial_probability("image_aware", case, np.random.default_rng(1))
    b = initial_probability("image_aware", case, np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)  # like a network's output: same case, same start
    a[:] = 0.0  # the caller owns its copy; the cached start is untouched
    c = initial_probability("degraded_truth", case, np.random.default_rng(3), mode="image")
    np.testing.assert_array_equal(b, c)


def test_appearance_logit_hand_case():
    label = np.zeros((1, 1, 12), dtype=bool)
    label[0, 0, 4:8] = True
    image = np.where(label, 2.0, 0.0)[None].astype(np.float32)
    image[0, 0, 0, ::2] += 0.1  # some spread in both classes
    logit = appearance_logit(image, label, smoothing=0.01, shell=2.0)
    assert (logit[label] > 0).all() and (logit[~label] < 0).all()
    assert np.abs(logit).max() <= 20.0


def test_degraded_truth_mode_and_image_aware_parameters_are_checked(case):
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="mode='blobs'"):
        initial_probability("degraded_truth", case, rng, mode="blobs")
    with pytest.raises(ConfigError, match="temperature"):
        initial_probability("image_aware", case, rng, temperature=0.0)
    with pytest.raises(ConfigError, match="target_dice"):
        initial_probability("image_aware", case, rng, target_dice=1.5)


def test_smooth_degraded_truth_has_a_stable_sigmoid(case):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # np.exp overflowed here for very sharp starts
        p0 = initial_probability("degraded_truth", case, np.random.default_rng(0), temperature=1e-4)
    assert p0.min() >= 0.0 and p0.max() <= 1.0 and np.isfinite(p0).all()
