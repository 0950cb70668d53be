"""Checks of step 4: run ``pytest course/04_train_a3c`` from the project root."""

import dataclasses

import numpy as np
import pytest
import torch

from segenv.metrics import InteractiveMetrics
from segenv_agents import a3c
from segenv_agents.common.losses import discounted_returns, spatial_mean

# --- small_config ------------------------------------------------------------------------------


def test_small_config(exercise):
    args = exercise.small_config(250)
    assert isinstance(args, a3c.Args)
    assert tuple(args.shape) == (32, 32)
    assert args.total_updates == 250
    assert (args.num_train_cases, args.num_test_cases, args.lr_decay_every) == (200, 20, 0)
    quick = a3c.CONFIGS["quick"]
    changed = {"shape", "total_updates", "num_train_cases", "num_test_cases", "lr_decay_every"}
    for field in dataclasses.fields(a3c.Args):
        if field.name not in changed:
            assert getattr(args, field.name) == getattr(quick, field.name), field.name


def test_small_config_leaves_the_preset_alone(exercise):
    exercise.small_config(7)
    assert a3c.CONFIGS["quick"].total_updates == 1000
    assert tuple(a3c.CONFIGS["quick"].shape) == (64, 64)


# --- reward_to_go ------------------------------------------------------------------------------


def test_reward_to_go_by_hand(exercise):
    returns = exercise.reward_to_go(np.array([1.0, 2.0, 3.0]), gamma=0.5)
    # G(2) = 3, G(1) = 2 + 0.5·3 = 3.5, G(0) = 1 + 0.5·3.5 = 2.75
    np.testing.assert_allclose(returns, [2.75, 3.5, 3.0])


def test_reward_to_go_edge_discounts(exercise):
    rewards = np.array([1.0, -1.0, 4.0])
    np.testing.assert_allclose(exercise.reward_to_go(rewards, gamma=0.0), rewards)
    np.testing.assert_allclose(exercise.reward_to_go(rewards, gamma=1.0), [4.0, 3.0, 4.0])


def test_reward_to_go_of_maps_matches_the_learner(exercise):
    rewards = np.random.default_rng(0).normal(size=(5, 3, 4, 4))  # (T, B, H, W) reward maps
    expected = discounted_returns(torch.as_tensor(rewards), 0.95).numpy()
    returns = exercise.reward_to_go(rewards, gamma=0.95)
    assert np.asarray(returns).shape == rewards.shape
    np.testing.assert_allclose(returns, expected, rtol=1e-10)


# --- mean_advantage ----------------------------------------------------------------------------


def test_mean_advantage_by_hand(exercise):
    reward_maps = np.array([[[1.0, 3.0]], [[2.0, 2.0]]])  # T = 2 steps, 1×2 voxels
    value_maps = np.array([[[1.0, 1.0]], [[0.0, 2.0]]])
    # r̄ = (2, 2); G = (2 + 0.5·2, 2) = (3, 2); V = (1, 1); A = (2, 1)
    np.testing.assert_allclose(exercise.mean_advantage(reward_maps, value_maps, 0.5), [2.0, 1.0])


def test_mean_advantage_matches_the_learner(exercise):
    rng = np.random.default_rng(1)
    reward_maps, value_maps = rng.normal(size=(2, 5, 6, 6))
    batch = torch.as_tensor(np.stack([reward_maps, value_maps]))[:, :, None]  # (2, T, B=1, H, W)
    returns = discounted_returns(spatial_mean(batch[0]), 0.95)
    expected = (returns - spatial_mean(batch[1]))[:, 0].numpy()
    advantage = exercise.mean_advantage(reward_maps, value_maps, 0.95)
    assert np.asarray(advantage).shape == (5,)
    np.testing.assert_allclose(advantage, expected, rtol=1e-10)


# --- dice_per_step and first_step_reaching -----------------------------------------------------


def test_dice_per_step(exercise):
    metrics = InteractiveMetrics()
    metrics.update([0.70, 0.80, 0.90], clicks_per_step=5)
    metrics.update([0.80, 0.80, 0.70], clicks_per_step=5)
    np.testing.assert_allclose(exercise.dice_per_step(metrics), [75.0, 80.0, 80.0])


def test_first_step_reaching(exercise):
    dice = np.array([75.0, 79.9, 80.0, 85.2, 84.0])
    assert exercise.first_step_reaching(dice, 80.0) == 2
    assert exercise.first_step_reaching(dice, 70.0) == 0
    assert exercise.first_step_reaching(dice, 85.0) == 3
    assert exercise.first_step_reaching(dice, 90.0) is None


@pytest.mark.parametrize("target", [75.0, 80.0])
def test_first_step_reaching_returns_a_plain_int(exercise, target):
    step = exercise.first_step_reaching(np.array([75.0, 81.0]), target)
    assert type(step) is int


# --- voxel_advantage and click_value -----------------------------------------------------------


def test_voxel_advantage_by_hand(exercise):
    reward_maps = np.array([[[0.6, -1.6]]])  # T = 1, voxels A and B
    advantage = exercise.voxel_advantage(reward_maps, np.zeros_like(reward_maps), 0.95)
    np.testing.assert_allclose(advantage, [[[0.6, -1.6]]])


def test_voxel_advantage_matches_the_learner(exercise):
    rng = np.random.default_rng(2)
    reward_maps, value_maps = rng.normal(size=(2, 5, 3, 4, 4))
    expected = discounted_returns(torch.as_tensor(reward_maps), 0.95).numpy() - value_maps
    advantage = exercise.voxel_advantage(reward_maps, value_maps, 0.95)
    assert np.asarray(advantage).shape == reward_maps.shape
    np.testing.assert_allclose(advantage, expected, rtol=1e-10)


def test_click_value(exercise):
    with_clicks, without = InteractiveMetrics(), InteractiveMetrics()
    with_clicks.update([0.75, 0.85, 0.90], clicks_per_step=5)
    without.update([0.75, 0.80, 0.50], clicks_per_step=0)
    np.testing.assert_allclose(exercise.click_value(with_clicks, without), [0.0, 5.0, 40.0])


# --- answers.py --------------------------------------------------------------------------------


def answer(answers, name):
    value = getattr(answers, name, None)
    if value is None or (isinstance(value, str) and not value.strip()):
        pytest.fail(f"answers.py: fill in {name}", pytrace=False)
    return value


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("SCALAR_ADVANTAGE_OF_VOXEL_A", -0.5),
        ("VOXEL_ADVANTAGE_OF_VOXEL_A", 0.6),
        ("VOXEL_ADVANTAGE_OF_VOXEL_B", -1.6),
    ],
)
def test_answer_advantages_by_hand(answers, name, expected):
    given = float(answer(answers, name))
    assert given == pytest.approx(expected, abs=1e-6), f"{name} = {given}: compute it again"


def test_answer_eq7_direction(answers):
    given = answer(answers, "EQ7_MAKES_VOXEL_A_ACTION")
    assert given in ("more", "less"), "EQ7_MAKES_VOXEL_A_ACTION must be 'more' or 'less'"
    assert given == "less", "a negative advantage lowers the log-probability of the action"


@pytest.mark.points(2)
def test_written_answer_is_there(answers):
    text = str(answer(answers, "WHY_PER_VOXEL_CREDIT"))
    assert len(text.split()) >= 25, "answers.py: WHY_PER_VOXEL_CREDIT needs a few sentences"
    assert "credit assignment" in text.lower(), "use the words 'credit assignment'"
