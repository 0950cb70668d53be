"""Checks of step 5: ``python -m course.check 5`` or ``pytest course/05_confidence``."""

import math

import numpy as np
import pytest
import torch

from segenv.rewards import RewardInputs, compute_reward, cross_entropy
from segenv_agents.mecca import confidence_targets

# --- action_helps ------------------------------------------------------------------------------


def test_action_helps_by_hand(exercise):
    deltas = np.array([0.1, -0.4, 0.2, -0.1])
    label = np.array([True, True, False, False])
    assert np.asarray(exercise.action_helps(deltas, label)).tolist() == [True, False, False, True]


def test_action_helps_is_meccas_confidence_target(exercise):
    rng = np.random.default_rng(0)
    deltas = rng.choice([-0.4, -0.2, -0.1, 0.1, 0.2, 0.4], size=(3, 8, 8))
    label = rng.random((3, 8, 8)) < 0.3
    expected = confidence_targets(torch.as_tensor(deltas), torch.as_tensor(label)).numpy() > 0.5
    np.testing.assert_array_equal(exercise.action_helps(deltas, label), expected)


# --- punished_fraction -------------------------------------------------------------------------


def test_punished_fraction_by_hand(exercise):
    confidence = np.array([0.9, 0.5, 0.85, 0.95, 0.1])
    helps = np.array([True, True, True, False, False])
    # helpful: 0.9, 0.5, 0.85 → two of three above alpha = 0.8
    assert exercise.punished_fraction(confidence, helps) == pytest.approx(2 / 3)
    assert exercise.punished_fraction(confidence, helps, alpha=0.95) == pytest.approx(0.0)
    assert exercise.punished_fraction(confidence, np.zeros(5, dtype=bool)) == 0.0


def test_punished_means_a_negative_confidence_reward(exercise):
    previous = np.full(6, 0.5, dtype=np.float32)
    current = np.array([0.9, 0.9, 0.1, 0.1, 0.6, 0.4], dtype=np.float32)
    label = np.array([True, True, False, False, True, True])
    confidence = np.array([0.95, 0.3, 0.85, 0.5, 0.99, 0.2], dtype=np.float32)
    inputs = RewardInputs(
        previous, current, label, cross_entropy(previous, label), cross_entropy(current, label),
        confidence=confidence,
    )  # fmt: skip
    reward = compute_reward("confidence", inputs)
    helps = np.asarray(exercise.action_helps(current - previous, label))
    assert exercise.punished_fraction(confidence, helps) == pytest.approx(
        np.mean(reward[helps] < 0)
    )


# --- reliability and expected_calibration_error ------------------------------------------------


def test_reliability_by_hand(exercise):
    confidence = np.array([0.05, 0.15, 0.95, 1.0, 0.9])
    outcome = np.array([0, 1, 1, 1, 0])
    mean, accuracy, count = exercise.reliability(confidence, outcome, bins=5)
    assert np.asarray(count).tolist() == [2, 0, 0, 0, 3]  # 1.0 belongs to the last bin
    np.testing.assert_allclose(mean[[0, 4]], [0.1, (0.95 + 1.0 + 0.9) / 3])
    np.testing.assert_allclose(accuracy[[0, 4]], [0.5, 2 / 3])
    assert np.isnan(mean[1]) and np.isnan(accuracy[2])


def test_expected_calibration_error_by_hand(exercise):
    confidence = np.array([0.05, 0.15, 0.95, 1.0, 0.9])
    outcome = np.array([0, 1, 1, 1, 0])
    expected = 2 / 5 * abs(0.5 - 0.1) + 3 / 5 * abs(2 / 3 - 0.95)
    assert exercise.expected_calibration_error(confidence, outcome, bins=5) == pytest.approx(
        expected
    )


def test_a_calibrated_confidence_has_a_small_ece(exercise):
    rng = np.random.default_rng(0)
    confidence = rng.random(200_000)
    calibrated = rng.random(200_000) < confidence
    overconfident = rng.random(200_000) < 0.5 + 0.5 * (confidence - 0.5)
    assert exercise.expected_calibration_error(confidence, calibrated) < 0.01
    assert exercise.expected_calibration_error(confidence, overconfident) == pytest.approx(
        0.125, abs=0.01
    )


# --- frequency_confidence ----------------------------------------------------------------------


def test_frequency_confidence_by_hand(exercise):
    states = np.array([0, 0, 0, 1, 1])
    actions = np.array([2, 2, 2, 0, 0])
    helps = np.array([True, True, False, False, False])
    table = exercise.frequency_confidence(states, actions, helps, num_states=3, num_actions=4)
    assert np.asarray(table).shape == (3, 4)
    assert table[0, 2] == pytest.approx((2 + 1) / (3 + 2))
    assert table[1, 0] == pytest.approx(1 / 4)
    assert table[2, 3] == pytest.approx(0.5)  # never tried: the prior


# --- answers.py: by hand and the graded experiment ---------------------------------------------


@pytest.fixture(scope="module")
def experiment(exercise):
    """The experiment of answers.py, re-run with the student's own functions."""
    return exercise.calibration_experiment()


def answer(answers, name):
    value = getattr(answers, name, None)
    if value is None or (isinstance(value, str) and not value.strip()):
        pytest.fail(f"answers.py: fill in {name}", pytrace=False)
    return value


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("WEIGHT_AT_CONFIDENCE_0_3", 0.5),
        ("WEIGHT_AT_CONFIDENCE_0_9", -0.1),
        ("REWARD_OF_A_CONFIDENT_GOOD_MOVE", -0.1 * (math.log(0.9) - math.log(0.5))),
    ],
)
def test_answer_by_hand(answers, name, expected):
    given = float(answer(answers, name))
    assert given == pytest.approx(expected, abs=6e-4), f"{name} = {given}: compute it again"


@pytest.mark.parametrize(
    "name", ["ECE_FREQUENCY", "ECE_HINT", "PUNISHED_FREQUENCY", "PUNISHED_HINT"]
)
def test_answer_is_what_the_experiment_measures(answers, request, name):
    given = float(answer(answers, name))
    measured = request.getfixturevalue("experiment")[name.lower()]
    assert given == pytest.approx(measured, abs=6e-4), (
        f"{name} = {given}, but the experiment gives {measured:.4f}"
    )


def test_answer_names_the_better_calibrated_confidence(answers, request):
    given = answer(answers, "BETTER_CALIBRATED")
    assert given in ("frequency", "hint"), "BETTER_CALIBRATED must be 'frequency' or 'hint'"
    experiment = request.getfixturevalue("experiment")
    better = min(("frequency", "hint"), key=lambda name: experiment[f"ece_{name}"])
    assert given == better, "BETTER_CALIBRATED: a lower ECE is better calibrated"


@pytest.mark.points(2)
def test_written_answer_is_there(answers):
    words = len(str(answer(answers, "WHAT_GOES_WRONG")).split())
    assert words >= 25, f"answers.py: WHAT_GOES_WRONG has {words} words; write a few sentences"
