"""Checks of step 3: run ``pytest course/03_multi_agent`` from the project root."""

import numpy as np
import pytest

from segenv import marl


def voxel(image, p, hint_pos, hint_neg):
    return np.array([image, p, hint_pos, hint_neg], dtype=np.float32)


# --- state_index -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observation", "expected"),
    [
        (voxel(0.0, 0.1, 0.0, 0.0), (0 * 3 + 1) * 4 + 0),  # dark, no hint, p in [0, .25)
        (voxel(1.2, 0.3, 0.0, 0.9), (1 * 3 + 0) * 4 + 1),  # bright, h- leads, p in [.25, .5)
        (voxel(0.4, 0.6, 0.9, 0.2), (0 * 3 + 2) * 4 + 2),  # dark, h+ leads, p in [.5, .75)
        (voxel(0.6, 1.0, 0.5, 0.4), (1 * 3 + 1) * 4 + 3),  # bright, no clear lead, p = 1
    ],
)
def test_state_index_of_one_voxel_by_hand(exercise, observation, expected):
    assert int(exercise.state_index(observation)) == expected


def test_state_index_margin(exercise):
    observation = voxel(0.0, 0.0, 0.5, 0.3)  # h+ leads by 0.2
    assert int(exercise.state_index(observation, margin=0.1)) == (0 * 3 + 2) * 4
    assert int(exercise.state_index(observation, margin=0.3)) == (0 * 3 + 1) * 4


def test_state_index_of_a_patch_reads_its_centre(exercise):
    patch = np.zeros((4, 3, 3), dtype=np.float32)
    patch[:, 1, 1] = voxel(1.0, 0.9, 0.0, 1.0)  # bright, h- leads, p = 0.9
    patch[:, 0, 0] = voxel(0.0, 0.1, 1.0, 0.0)  # a neighbour: must not matter
    assert int(exercise.state_index(patch, patch_size=3)) == (1 * 3 + 0) * 4 + 3


def test_state_index_is_vectorised_over_agents(exercise):
    env = marl.parallel_env(shape=(8, 8), patch_size=3, num_cases=2, initial_clicks=5)
    patches, _ = env.reset_array(seed=0)  # (8, 8, 4, 3, 3)
    states = np.asarray(exercise.state_index(patches, patch_size=3))
    assert states.shape == (8, 8)
    assert np.issubdtype(states.dtype, np.integer)
    assert states.min() >= 0 and states.max() < exercise.NUM_STATES
    observations, _ = env.reset(seed=0)  # the dict API: the same agents one by one
    agent = "voxel_0_3_5"
    assert int(exercise.state_index(observations[agent], patch_size=3)) == states[3, 5]
    centres = patches[:, :, :, 1, 1]  # what a patch_size=1 env would observe
    np.testing.assert_array_equal(exercise.state_index(centres), states)


# --- table_of_agent ----------------------------------------------------------------------------


def test_table_of_agent(exercise):
    assert np.asarray(exercise.table_of_agent(4, shared=True)).tolist() == [0, 0, 0, 0]
    assert np.asarray(exercise.table_of_agent(4, shared=False)).tolist() == [0, 1, 2, 3]


# --- sample_average_update ---------------------------------------------------------------------


def empty_tables(num_tables, num_actions=2):
    shape = (num_tables, 24, num_actions)
    return np.zeros(shape), np.zeros(shape, dtype=np.int64)


def test_sample_average_update_shared_table_by_hand(exercise):
    values, counts = empty_tables(1)
    tables = np.array([0, 0, 0])
    states = np.array([5, 5, 7])
    actions = np.array([1, 1, 0])
    # two agents hit cell (0, 5, 1) in the same step: both rewards count
    exercise.sample_average_update(
        values, counts, tables, states, actions, np.array([1.0, 3.0, -2.0])
    )
    assert values[0, 5, 1] == pytest.approx(2.0) and counts[0, 5, 1] == 2
    assert values[0, 7, 0] == pytest.approx(-2.0) and counts[0, 7, 0] == 1
    assert np.count_nonzero(counts) == 2
    exercise.sample_average_update(
        values, counts, tables[:1], states[:1], actions[:1], np.array([5.0])
    )
    assert values[0, 5, 1] == pytest.approx((1 + 3 + 5) / 3) and counts[0, 5, 1] == 3


def test_sample_average_update_independent_tables_by_hand(exercise):
    values, counts = empty_tables(2)
    tables = np.array([0, 1])
    same_cell = np.array([5, 5]), np.array([1, 1])
    exercise.sample_average_update(values, counts, tables, *same_cell, np.array([1.0, 3.0]))
    assert values[0, 5, 1] == pytest.approx(1.0) and values[1, 5, 1] == pytest.approx(3.0)
    assert counts[:, 5, 1].tolist() == [1, 1]


# --- the learners ------------------------------------------------------------------------------


def random_history(env, episodes, seed=0):
    rng = np.random.default_rng(seed)
    history = []
    for episode in range(episodes):
        env.reset_array(seed=seed + episode)
        rewards, done = [], False
        while not done:
            action = rng.integers(0, env.num_actions, env.view_shape)
            _, reward_map, done, _, info = env.step_array(action)
            rewards.append(float(reward_map.mean()))
        history.append((np.mean(rewards), info["dice"]))
    return np.array(history)


def test_shared_learner_beats_random_actions(exercise):
    env = marl.parallel_env(shape=(16, 16), patch_size=3, num_cases=10, initial_clicks=5)
    values, counts, history = exercise.train(env, shared=True, episodes=12, seed=0)
    assert counts.shape == values.shape and counts.sum() == 12 * 5 * 256
    assert values.shape == (1, exercise.NUM_STATES, 6)
    assert history.shape == (12, 2)
    random = random_history(env, 12)
    # mean reward per step and final Dice over the last 4 episodes
    assert history[-4:, 0].mean() > random[-4:, 0].mean() + 0.1
    assert history[-4:, 1].mean() > random[-4:, 1].mean() + 0.05


def test_independent_learners_have_one_table_per_agent(exercise):
    env = marl.parallel_env(shape=(8, 8), num_cases=2)
    values, _, history = exercise.train(env, shared=False, episodes=2, seed=0)
    assert values.shape == (64, exercise.NUM_STATES, 6)
    assert history.shape == (2, 2)


# --- greedy_evaluation and visited_fraction ----------------------------------------------------


def reference_greedy(env, values, tables, episodes, seed):
    history = []
    for episode in range(episodes):
        patches, info = env.reset_array(seed=seed + episode)
        rewards, done = [], False
        while not done:
            centre = patches[..., :, 1, 1] if env.patch_size == 3 else patches
            image, p, lead = centre[..., 0], centre[..., 1], centre[..., 2] - centre[..., 3]
            hint = np.where(lead > 0.3, 2, np.where(lead < -0.3, 0, 1))
            pbin = np.minimum(np.floor(4 * p), 3).astype(int)
            states = (((image > 0.5) * 3 + hint) * 4 + pbin).reshape(-1)
            patches, reward_map, done, _, info = env.step_array(values[tables, states].argmax(-1))
            rewards.append(float(reward_map.mean()))
        history.append((np.mean(rewards), info["dice"]))
    return np.array(history)


def test_greedy_evaluation_follows_each_agents_own_table(exercise):
    env = marl.parallel_env(shape=(8, 8), patch_size=3, num_cases=3, initial_clicks=5)
    values = np.random.default_rng(0).normal(size=(64, 24, 6))  # one table per agent
    tables = np.arange(64)
    history = exercise.greedy_evaluation(env, values, tables, 3, seed=7)
    assert np.asarray(history).shape == (3, 2)
    np.testing.assert_allclose(history, reference_greedy(env, values, tables, 3, 7), rtol=1e-6)


def test_greedy_evaluation_with_a_shared_table_does_not_learn(exercise):
    env = marl.parallel_env(shape=(8, 8), patch_size=3, num_cases=3, initial_clicks=5)
    values = np.random.default_rng(1).normal(size=(1, 24, 6))
    kept = values.copy()
    tables = np.zeros(64, dtype=int)
    history = exercise.greedy_evaluation(env, values, tables, 2, seed=0)
    np.testing.assert_array_equal(values, kept)
    np.testing.assert_allclose(history, reference_greedy(env, values, tables, 2, 0), rtol=1e-6)


def test_visited_fraction_by_hand(exercise):
    counts = np.zeros((2, 24, 6), dtype=np.int64)
    counts[0, 3, 5] = 2  # table 0, state 3: visited (one action is enough)
    counts[1, :12, 0] = 1  # table 1: half its states
    assert exercise.visited_fraction(counts) == pytest.approx((1 + 12) / 48)


# --- answers.py: the graded experiment ---------------------------------------------------------


@pytest.fixture(scope="module")
def experiment(exercise):
    """The experiment of answers.py, re-run with the student's own functions."""
    return exercise.sharing_experiment()


def answer(answers, name):
    value = getattr(answers, name, None)
    if value is None or (isinstance(value, str) and not value.strip()):
        pytest.fail(f"answers.py: fill in {name}", pytrace=False)
    return value


@pytest.mark.parametrize(
    ("name", "learner", "key"),
    [
        ("SHARED_HELD_OUT_REWARD", "shared", "held_out_reward"),
        ("INDEPENDENT_HELD_OUT_REWARD", "independent", "held_out_reward"),
        ("SHARED_HELD_OUT_DICE", "shared", "held_out_dice"),
        ("INDEPENDENT_HELD_OUT_DICE", "independent", "held_out_dice"),
        ("INDEPENDENT_VISITED", "independent", "visited"),
    ],
)
def test_answer_is_what_the_experiment_measures(answers, request, name, learner, key):
    given = float(answer(answers, name))
    measured = request.getfixturevalue("experiment")[learner][key]
    assert given == pytest.approx(measured, abs=6e-4), (
        f"{name} = {given}, but the experiment gives {measured:.4f}"
    )


@pytest.mark.parametrize(
    ("name", "key"),
    [("HIGHER_HELD_OUT_REWARD", "held_out_reward"), ("HIGHER_HELD_OUT_DICE", "held_out_dice")],
)
def test_answer_names_the_better_learner(answers, request, name, key):
    given = answer(answers, name)
    assert given in ("shared", "independent"), f"{name} must be 'shared' or 'independent'"
    experiment = request.getfixturevalue("experiment")
    better = max(("shared", "independent"), key=lambda learner: experiment[learner][key])
    assert given == better, f"{name}: look at the two measured values again"


@pytest.mark.points(2)
@pytest.mark.parametrize("name", ["WHY_REWARD_AND_DICE_DISAGREE", "WHY_NON_STATIONARY"])
def test_written_answer_is_there(answers, name):
    words = len(str(answer(answers, name)).split())
    assert words >= 25, f"answers.py: {name} has {words} words; write two to four sentences"
