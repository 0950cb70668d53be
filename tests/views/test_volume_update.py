import numpy as np
import pytest

from segenv.actions import apply_action
from segenv.errors import InputTypeError
from segenv.rewards import cross_entropy
from segenv.views.volume_update import update_volume

DELTAS = np.array([-0.4, -0.2, -0.1, 0.1, 0.2, 0.4], dtype=np.float32)


def outputs(shape):
    return {
        "current": np.zeros(shape, np.float32),
        "ce_current": np.zeros(shape, np.float32),
        "gain": np.zeros(shape, np.float32),
        "prediction": np.zeros(shape, bool),
    }


def test_worked_example():
    previous = np.full((1, 1, 2), 0.5, dtype=np.float32)
    label = np.array([[[True, False]]])
    action = np.array([[[5, 5]]])  # +0.4: both voxels go to 0.9
    out = outputs(previous.shape)
    counts = update_volume(
        previous, action, DELTAS, label, 1e-6, ce_previous=cross_entropy(previous, label), **out
    )
    assert counts == (2, 1)  # both predicted foreground, one of them truly
    np.testing.assert_allclose(out["current"], 0.9)
    np.testing.assert_allclose(out["gain"][0, 0], [0.6931 - 0.1054, 0.6931 - 2.3026], atol=1e-4)
    assert out["prediction"].all()


def test_matches_the_reference_numpy_arithmetic_bit_for_bit():
    rng = np.random.default_rng(0)
    shape = (3, 7, 9)
    previous = rng.random(shape, dtype=np.float32)
    previous[0, 0, :3] = [0.0, 1.0, 0.5]  # clipping and the threshold
    label = rng.random(shape) < 0.4
    action = rng.integers(0, 6, shape)
    ce_previous = cross_entropy(previous, label)
    out = outputs(shape)
    counts = update_volume(previous, action, DELTAS, label, 1e-6, ce_previous=ce_previous, **out)
    current = apply_action(previous, action, DELTAS)
    np.testing.assert_array_equal(out["current"], current)
    np.testing.assert_array_equal(out["ce_current"], cross_entropy(current, label))
    np.testing.assert_array_equal(out["gain"], ce_previous - cross_entropy(current, label))
    np.testing.assert_array_equal(out["prediction"], current >= 0.5)
    assert counts == (np.count_nonzero(current >= 0.5), np.count_nonzero((current >= 0.5) & label))


@pytest.mark.parametrize("bad", [-1, 6])
def test_an_index_out_of_range_writes_nothing(bad):
    previous = np.full((1, 2, 2), 0.5, dtype=np.float32)
    action = np.array([[[0, 1], [2, bad]]])
    out = outputs(previous.shape)
    label = np.zeros((1, 2, 2), bool)
    assert update_volume(previous, action, DELTAS, label, 1e-6, ce_previous=previous, **out) is None
    assert not out["current"].any() and not out["gain"].any()


def test_a_non_contiguous_output_raises():
    previous = np.full((1, 2, 2), 0.5, dtype=np.float32)
    out = outputs((1, 2, 4))
    out = {key: value[..., ::2] for key, value in out.items()}
    with pytest.raises(InputTypeError, match="C-contiguous"):
        update_volume(
            previous,
            np.zeros((1, 2, 2), int),
            DELTAS,
            np.zeros((1, 2, 2), bool),
            1e-6,
            ce_previous=previous,
            **out,
        )
