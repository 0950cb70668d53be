import numpy as np
import pytest

from segenv.data.case import make_case
from segenv.errors import ConfigError, DataError
from segenv.initialisers import (
    INITIALISERS,
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
