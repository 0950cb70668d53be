"""The simulated user's connected-component labelling against cc3d and a direct computation."""

import numpy as np
import pytest

from segenv.errors import ConfigError
from segenv.interaction import UserContext, _error_code, _error_regions, _label_regions

cc3d = pytest.importorskip("cc3d")


def cc3d_labels(code, connectivity):
    """cc3d's labelling with the env's conventions (a D = 1 volume is one 2D slice)."""
    if code.shape[0] == 1:
        planar = 4 if connectivity == 6 else 8
        labels, n = cc3d.connected_components(
            code[0], connectivity=planar, return_N=True, out_dtype=np.uint32
        )
    else:
        labels, n = cc3d.connected_components(
            code, connectivity=connectivity, return_N=True, out_dtype=np.uint32
        )
    return labels.reshape(code.shape), n


def random_code(rng, shape, values, dtype):
    density = rng.random()
    present = rng.random(shape) < density
    return (present * rng.integers(1, values + 1, shape)).astype(dtype)


def context_of(prediction, label):
    shape = label.shape
    return UserContext(
        prediction=prediction,
        label=label,
        image=np.zeros((1, *shape), np.float32),
        probability=prediction.astype(np.float32),
        step=0,
    )


@pytest.mark.parametrize("connectivity", [6, 18, 26])
def test_components_and_their_numbering_match_cc3d(connectivity):
    rng = np.random.default_rng(connectivity)
    for trial in range(60):
        shape = tuple(int(s) for s in rng.integers(1, 12, 3))
        if trial % 4 == 0:
            shape = (1, *shape[1:])  # a 2D volume
        values, dtype = (2, np.uint8) if trial % 2 else (6, np.uint16)
        code = random_code(rng, shape, values, dtype)
        expected, n = cc3d_labels(code, connectivity)
        regions = _label_regions(code, connectivity)
        assert regions.n == n
        np.testing.assert_array_equal(regions.components, expected)
        assert regions.components.flags.c_contiguous


def test_statistics_are_those_of_the_components():
    rng = np.random.default_rng(0)
    code = random_code(rng, (7, 9, 11), 2, np.uint8)
    regions = _label_regions(code, 26)
    assert regions.n > 3
    for c in range(1, regions.n + 1):
        where = np.argwhere(regions.components == c)
        assert regions.counts[c] == len(where)
        np.testing.assert_array_equal(regions.centroids[c], where.mean(axis=0))
        low, high = where.min(axis=0), where.max(axis=0)
        np.testing.assert_array_equal(regions.boxes[c], np.stack([low, high], 1).ravel())


def test_error_regions_label_the_error_code():
    rng = np.random.default_rng(1)
    for shape in [(5, 8, 9), (1, 12, 10), (3, 1, 7)]:
        prediction, label = rng.random(shape) < 0.5, rng.random(shape) < 0.4
        direct = _error_regions(context_of(prediction, label), 26)
        via_code = _label_regions(_error_code(prediction, label), 26)
        np.testing.assert_array_equal(direct.components, via_code.components)
        np.testing.assert_array_equal(direct.counts, via_code.counts)
        np.testing.assert_array_equal(direct.boxes, via_code.boxes)


def test_no_errors_means_no_regions():
    label = np.zeros((3, 4, 5), bool)
    label[1, 1, 1] = True
    regions = _error_regions(context_of(label.copy(), label), 26)
    assert regions.n == 0
    assert not regions.components.any()


def test_a_bad_connectivity_raises():
    with pytest.raises(ConfigError, match="connectivity must be 6, 18 or 26"):
        _label_regions(np.zeros((2, 2, 2), np.uint8), 8)
