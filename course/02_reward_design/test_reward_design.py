"""Checks of step 2: run ``pytest course/02_reward_design`` from the project root."""

import math

import gymnasium as gym
import numpy as np
import pytest

import segenv  # noqa: F401  (registers the env ids)
from segenv.rewards import REWARDS, RewardInputs, cross_entropy

# one foreground and one background voxel, both moved from p = 0.5 to p = 0.9
PREVIOUS = np.array([0.5, 0.5], dtype=np.float32)
CURRENT = np.array([0.9, 0.9], dtype=np.float32)
LABEL = np.array([True, False])
FG_GAIN = math.log(0.9) - math.log(0.5)  # 0.5878: closer to the truth
BG_GAIN = math.log(0.1) - math.log(0.5)  # -1.6094: further from it


def inputs_of(previous, current, label):
    label = np.asarray(label, dtype=bool)
    return RewardInputs(
        previous=previous,
        current=current,
        label=label,
        ce_previous=cross_entropy(previous, label),
        ce_current=cross_entropy(current, label),
    )


def test_balanced_gain_by_hand(exercise):
    reward = exercise.balanced_gain(inputs_of(PREVIOUS, CURRENT, LABEL), foreground_weight=4.0)
    np.testing.assert_allclose(reward, [4 * FG_GAIN, BG_GAIN], rtol=1e-5)
    assert reward.dtype == np.float32 and reward.shape == LABEL.shape


def test_balanced_gain_default_weight_is_four(exercise):
    reward = exercise.balanced_gain(inputs_of(PREVIOUS, CURRENT, LABEL))
    np.testing.assert_allclose(reward, [4 * FG_GAIN, BG_GAIN], rtol=1e-5)


def test_balanced_gain_with_weight_one_is_the_relative_reward(exercise):
    rng = np.random.default_rng(0)
    previous = rng.random((3, 4, 5), dtype=np.float32)
    current = np.clip(previous + rng.choice([-0.2, 0.1, 0.4], size=previous.shape), 0, 1)
    inputs = inputs_of(previous, current.astype(np.float32), rng.random((3, 4, 5)) < 0.3)
    np.testing.assert_allclose(
        exercise.balanced_gain(inputs, foreground_weight=1.0), REWARDS.get("relative")(inputs)
    )


def test_reward_map_of_relative_and_focal_by_hand(exercise):
    relative = exercise.reward_map_of(PREVIOUS, CURRENT, LABEL)
    np.testing.assert_allclose(relative, [FG_GAIN, BG_GAIN], rtol=1e-5)
    focal = exercise.reward_map_of(PREVIOUS, CURRENT, LABEL, "focal", gamma=2.0)
    # F = -(1-p)^2 log p for a foreground voxel, -p^2 log(1-p) for a background one
    fg = 0.25 * math.log(2) - 0.01 * -math.log(0.9)
    bg = 0.25 * math.log(2) - 0.81 * -math.log(0.1)
    np.testing.assert_allclose(focal, [fg, bg], rtol=1e-5)


def test_reward_map_of_takes_a_callable_and_its_parameters(exercise):
    reward = exercise.reward_map_of(
        PREVIOUS, CURRENT, LABEL, exercise.balanced_gain, foreground_weight=2.0
    )
    np.testing.assert_allclose(reward, [2 * FG_GAIN, BG_GAIN], rtol=1e-5)


def test_register_puts_the_design_in_the_registry_and_can_run_twice(exercise):
    assert exercise.register_balanced_gain() == "balanced_gain"
    assert exercise.register_balanced_gain() == "balanced_gain"
    assert REWARDS.get("balanced_gain") is exercise.balanced_gain
    assert exercise.register_balanced_gain("my_balanced") == "my_balanced"
    assert "my_balanced" in REWARDS.names()


def test_the_env_uses_the_registered_design(exercise):
    name = exercise.register_balanced_gain("course_balanced")
    env = gym.make(
        "InteractiveSeg2D-v0",
        shape=(32, 32),
        num_cases=2,
        reward=name,
        reward_kwargs={"foreground_weight": 3.0},
    )
    env.reset(seed=0)
    label = env.unwrapped.case.label[0]
    _, reward, _, _, info = env.step(env.action_space.sample())
    expected = np.where(label, 3.0, 1.0) * info["gain_map"]
    np.testing.assert_allclose(info["reward_map"], expected, rtol=1e-5, atol=1e-6)
    assert reward == pytest.approx(float(expected.mean()), rel=1e-4)
