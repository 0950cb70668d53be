"""Checks of step 1: run ``pytest course/01_meet_the_env`` from the project root."""

import gymnasium as gym
import numpy as np
import pytest

import segenv  # noqa: F401  (registers the env ids)

DELTAS = (-0.4, -0.2, -0.1, 0.1, 0.2, 0.4)


def observation_of(p, hint_pos=None, hint_neg=None):
    """A one-modality observation ``(4, *p.shape)`` with zero image and the given maps."""
    p = np.asarray(p, dtype=np.float32)
    zeros = np.zeros_like(p)
    maps = [
        zeros,
        p,
        zeros if hint_pos is None else hint_pos,
        zeros if hint_neg is None else hint_neg,
    ]
    return np.stack([np.asarray(m, dtype=np.float32) for m in maps])


def label_of(env):
    """The current case's ground truth in the observation's spatial layout."""
    return env.unwrapped.case.label.reshape(env.action_space.shape)


# --- foreground_dice -------------------------------------------------------------------------


def test_dice_by_hand(exercise):
    p = [[0.9, 0.6], [0.2, 0.5]]  # prediction: 3 voxels (0.5 counts as foreground)
    label = np.array([[True, False], [True, True]])  # truth: 3 voxels, overlap 2
    assert exercise.foreground_dice(observation_of(p), label) == pytest.approx(2 * 2 / 6)


def test_dice_of_empty_masks(exercise):
    empty = np.zeros((2, 2), dtype=bool)
    assert exercise.foreground_dice(observation_of(np.zeros((2, 2))), empty) == 1.0
    assert exercise.foreground_dice(observation_of(np.ones((2, 2))), empty) == 0.0


@pytest.mark.parametrize(
    ("env_id", "shape"), [("InteractiveSeg2D-v0", (32, 32)), ("InteractiveSeg3D-v0", (6, 20, 20))]
)
def test_dice_matches_the_env_info(exercise, env_id, shape):
    env = gym.make(env_id, shape=shape, num_cases=3)
    observation, info = env.reset(seed=1)
    assert exercise.foreground_dice(observation, label_of(env)) == pytest.approx(info["dice"])
    for _ in range(2):
        observation, _, _, _, info = env.step(env.action_space.sample())
        assert exercise.foreground_dice(observation, label_of(env)) == pytest.approx(info["dice"])


# --- hint_action -----------------------------------------------------------------------------


def test_hint_action_by_hand(exercise):
    p = np.array([[0.7, 0.2, 0.7, 0.2, 0.5]])
    hint_pos = np.array([[0.9, 0.9, 0.0, 0.0, 0.5]])
    hint_neg = np.array([[0.0, 0.0, 0.9, 0.9, 0.4]])
    action = exercise.hint_action(observation_of(p, hint_pos, hint_neg), DELTAS, margin=0.3)
    # h+ leads → +0.4 (index 5); h- leads → -0.4 (index 0); no clear lead → keep the side
    assert np.asarray(action).tolist() == [[5, 5, 0, 0, 3]]
    assert np.issubdtype(np.asarray(action).dtype, np.integer)


def test_hint_action_respects_the_margin(exercise):
    observation = observation_of([[0.2]], [[0.6]], [[0.4]])
    assert np.asarray(exercise.hint_action(observation, DELTAS, margin=0.1)).tolist() == [[5]]
    assert np.asarray(exercise.hint_action(observation, DELTAS, margin=0.3)).tolist() == [[2]]


def test_hint_action_uses_the_given_action_set(exercise):
    deltas = (-1.0, 1.0)
    action = exercise.hint_action(observation_of([[0.9, 0.1]], [[1.0, 0.0]], [[0.0, 0.0]]), deltas)
    assert np.asarray(action).tolist() == [[1, 0]]


def final_dice(env, policy, seeds):
    values = []
    for seed in seeds:
        observation, info = env.reset(seed=seed)
        done = False
        while not done:
            observation, _, terminated, truncated, info = env.step(policy(observation))
            done = terminated or truncated
        values.append(info["dice"])
    return float(np.mean(values))


def test_hint_action_is_valid_and_beats_random_actions(exercise):
    env = gym.make("InteractiveSeg2D-v0", shape=(48, 48), num_cases=4, initial_clicks=5)
    env.action_space.seed(0)
    deltas = env.unwrapped.deltas
    observation, _ = env.reset(seed=0)
    assert env.action_space.contains(np.asarray(exercise.hint_action(observation, deltas)))
    hints = final_dice(env, lambda obs: exercise.hint_action(obs, deltas), seeds=range(3))
    random = final_dice(env, lambda obs: env.action_space.sample(), seeds=range(3))
    assert hints > random + 0.2


# --- click_summary ---------------------------------------------------------------------------


def test_click_summary_matches_the_env_info(exercise):
    env = gym.make("InteractiveSeg2D-v0", shape=(32, 32), num_cases=3, initial_clicks=5)
    _, info = env.reset(seed=3)
    _, _, _, _, info = env.step(env.action_space.sample())
    summary = exercise.click_summary(info)
    labels = np.asarray(info["clicks"]["labels"])
    assert summary == {
        "object": int(labels.sum()),
        "background": int(labels.size - labels.sum()),
        "total": info["num_clicks"],
    }


def test_click_summary_by_hand(exercise):
    info = {"clicks": {"labels": np.array([True, False, False])}, "num_clicks": 3}
    assert exercise.click_summary(info) == {"object": 1, "background": 2, "total": 3}
