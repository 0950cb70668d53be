import math

import numpy as np
import pytest

from segenv.errors import ConfigError
from segenv.rewards import (
    REWARDS,
    RewardInputs,
    compute_reward,
    cross_entropy,
    discounted_return,
    focal_cross_entropy,
)


def make_inputs(previous, current, label, confidence=None, eps=1e-6):
    previous = np.asarray(previous, dtype=np.float32)
    current = np.asarray(current, dtype=np.float32)
    label = np.asarray(label, dtype=bool)
    return RewardInputs(
        previous=previous,
        current=current,
        label=label,
        ce_previous=cross_entropy(previous, label, eps),
        ce_current=cross_entropy(current, label, eps),
        confidence=None if confidence is None else np.asarray(confidence, dtype=np.float32),
        eps=eps,
    )


def test_cross_entropy_hand_values():
    ce = cross_entropy(np.array([0.9, 0.9, 0.5]), np.array([True, False, True]))
    np.testing.assert_allclose(ce, [-math.log(0.9), -math.log(0.1), math.log(2)], rtol=1e-6)


def test_cross_entropy_clips_with_eps():
    ce = cross_entropy(np.array([0.0, 1.0, 1.0]), np.array([True, False, True]), eps=1e-6)
    # float32: 1 - 1e-6 rounds to 0.99999899, so the last value is 1.013e-6, not 1.0e-6
    np.testing.assert_allclose(
        ce, [-math.log(1e-6), -math.log(1e-6), -math.log(1 - 1e-6)], atol=2e-8
    )
    assert np.isfinite(ce).all()
    ce_eps = cross_entropy(np.array([0.0]), np.array([True]), eps=1e-3)
    np.testing.assert_allclose(ce_eps, [-math.log(1e-3)], rtol=1e-5)


def test_relative_reward_worked_example():
    inputs = make_inputs([0.5, 0.5, 0.2], [0.9, 0.9, 0.2], [True, False, True])
    reward = compute_reward("relative", inputs)
    np.testing.assert_allclose(
        reward, [math.log(2) + math.log(0.9), math.log(2) + math.log(0.1), 0.0], atol=1e-6
    )
    assert reward[0] == pytest.approx(0.5878, abs=1e-4)
    assert reward[1] == pytest.approx(-1.6094, abs=1e-4)


def test_relative_reward_at_clip_boundary_is_finite():
    inputs = make_inputs([0.1], [0.0], [True])  # moving a foreground voxel to 0 hits the eps clip
    reward = compute_reward("relative", inputs)
    np.testing.assert_allclose(reward, [math.log(1e-6) - math.log(0.1)], rtol=1e-4)


def test_absolute_reward():
    inputs = make_inputs([0.5], [0.8], [True])
    np.testing.assert_allclose(compute_reward("absolute", inputs), [math.log(0.8)], rtol=1e-6)


def test_focal_reward_hand_values():
    # y=1: F = -(1-p)^2 log p ; y=0: F = -p^2 log(1-p)
    inputs = make_inputs([0.5, 0.6], [0.9, 0.2], [True, False])
    before = [-(0.5**2) * math.log(0.5), -(0.6**2) * math.log(0.4)]
    after = [-(0.1**2) * math.log(0.9), -(0.2**2) * math.log(0.8)]
    expected = np.subtract(before, after)
    np.testing.assert_allclose(compute_reward("focal", inputs), expected, rtol=1e-5)
    np.testing.assert_allclose(
        focal_cross_entropy(np.array([0.5]), np.array([True]), gamma=0.0), [math.log(2)], rtol=1e-6
    )


def test_error_region_reward_doubles_gain_where_previously_wrong():
    inputs = make_inputs([0.3, 0.7], [0.7, 0.9], [True, True])  # voxel 0 was wrong, 1 was right
    gain = inputs.gain
    np.testing.assert_allclose(
        compute_reward("error_region", inputs), [2 * gain[0], gain[1]], rtol=1e-6
    )
    np.testing.assert_allclose(
        compute_reward("error_region", inputs, lam=0.5), [1.5 * gain[0], gain[1]], rtol=1e-6
    )


def test_confidence_reward_printed_form_and_negative_weight():
    inputs = make_inputs([0.5, 0.5], [0.9, 0.9], [True, True], confidence=[0.3, 0.9])
    gain = math.log(2) + math.log(0.9)
    reward = compute_reward("confidence", inputs)
    np.testing.assert_allclose(reward, [(0.8 - 0.3) * gain, (0.8 - 0.9) * gain], rtol=1e-5)
    assert reward[1] < 0  # documented: with the printed defaults, c > alpha flips the sign


def test_confidence_reward_pluggable_weight_and_missing_map():
    inputs = make_inputs([0.5], [0.9], [True], confidence=[0.25])
    reward = compute_reward("confidence", inputs, weight=lambda c, a, b: 1.0 - c)
    np.testing.assert_allclose(reward, 0.75 * inputs.gain, rtol=1e-6)
    with pytest.raises(ConfigError, match="confidence"):
        compute_reward("confidence", make_inputs([0.5], [0.9], [True]))
    with pytest.raises(ConfigError, match="non-integer beta"):
        compute_reward("confidence", make_inputs([0.5], [0.9], [True], [0.95]), beta=0.5)


def test_custom_reward_registration_and_bad_output():
    @REWARDS.register("test_double_gain")
    def double_gain(inputs):
        return 2 * inputs.gain

    inputs = make_inputs([0.5], [0.9], [True])
    np.testing.assert_allclose(compute_reward("test_double_gain", inputs), 2 * inputs.gain)
    with pytest.raises(ConfigError, match="one value per voxel"):
        compute_reward(lambda inputs: np.zeros(3, np.float32), inputs)
    with pytest.raises(ConfigError, match="Did you mean 'relative'"):
        compute_reward("relativ", inputs)


def test_discounted_return_eq5():
    rewards = np.array([[1.0, 0.0], [1.0, 2.0], [1.0, 4.0]])
    np.testing.assert_allclose(discounted_return(rewards, 0.5), [1 + 0.5 + 0.25, 0 + 1.0 + 1.0])
    np.testing.assert_allclose(discounted_return(np.ones(5)), sum(0.95**k for k in range(5)))
