import numpy as np
import pytest

from segenv.actions import ACTION_SETS, apply_action, resolve_action_set, validate_action
from segenv.errors import ConfigError, InputTypeError


def test_paper_set_is_default_six_actions_without_zero():
    deltas = resolve_action_set("paper")
    np.testing.assert_allclose(deltas, [-0.4, -0.2, -0.1, 0.1, 0.2, 0.4])
    assert deltas.dtype == np.float32
    assert 0.0 not in deltas


def test_hold_set_is_the_paper_set_plus_zero():
    hold = resolve_action_set("0.1+0.2+0.4+hold")
    np.testing.assert_allclose(np.setdiff1d(hold, resolve_action_set("paper")), [0.0])
    p = np.array([0.95, 0.0], dtype=np.float32)
    np.testing.assert_allclose(apply_action(p, np.array([3, 3]), hold), p)  # index 3 holds


@pytest.mark.parametrize("name", sorted(ACTION_SETS))
def test_named_sets_are_symmetric(name):
    deltas = resolve_action_set(name)
    np.testing.assert_allclose(np.sort(deltas), np.sort(-deltas))


def test_apply_action_hand_computed_with_clipping():
    deltas = resolve_action_set("paper")
    p = np.array([0.5, 0.95, 0.05, 0.3], dtype=np.float32)
    a = np.array([5, 4, 0, 3])  # +0.4, +0.2, -0.4, +0.1
    np.testing.assert_allclose(apply_action(p, a, deltas), [0.9, 1.0, 0.0, 0.4], atol=1e-6)


def test_apply_action_does_not_modify_input():
    p = np.full(3, 0.5, dtype=np.float32)
    apply_action(p, np.array([0, 1, 2]), resolve_action_set("paper"))
    np.testing.assert_array_equal(p, 0.5)


def test_custom_action_set_and_errors():
    np.testing.assert_allclose(resolve_action_set((-0.3, 0.3)), [-0.3, 0.3])
    with pytest.raises(ConfigError, match="unknown action set"):
        resolve_action_set("0.3")
    with pytest.raises(ConfigError, match="within"):
        resolve_action_set((-2.0, 2.0))
    with pytest.raises(ConfigError, match="duplicate"):
        resolve_action_set((0.1, 0.1))
    with pytest.raises(ConfigError, match="at least two"):
        resolve_action_set((0.1,))


def test_validate_action_errors_name_problem():
    shape = (2, 3)
    assert validate_action(np.zeros(shape, dtype=np.int64), shape, 6).shape == shape
    with pytest.raises(ConfigError, match=r"shape \(3, 2\)"):
        validate_action(np.zeros((3, 2), dtype=np.int64), shape, 6)
    with pytest.raises(ConfigError, match=r"\[0, 6\)"):
        validate_action(np.full(shape, 6), shape, 6)
    with pytest.raises(ConfigError, match=r"\[0, 6\)"):
        validate_action(np.full(shape, -1), shape, 6)
    with pytest.raises(InputTypeError, match="integer"):
        validate_action(np.full(shape, 0.5), shape, 6)
    # integral floats are accepted (e.g. from a float buffer)
    assert validate_action(np.full(shape, 2.0), shape, 6).dtype.kind == "i"
