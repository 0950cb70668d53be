import gymnasium as gym
import numpy as np

from segenv_agents.common.evaluation import VoxelFlips, evaluate_policy, flip_counts, flips_table
from segenv_agents.scripted import POLICIES, hint_follower_policy, noop_policy, oracle_policy


def test_noop_keeps_the_initial_segmentation():
    env = gym.make("InteractiveSeg2D-v0", shape=(16, 16), num_cases=2, initial_clicks=3)
    observation, _ = env.reset(seed=0)
    before = observation[-3] >= 0.5
    observation, *_ = env.step(noop_policy(observation, env))
    assert np.array_equal(observation[-3] >= 0.5, before)
    dice = evaluate_policy(env, noop_policy, 2, measure_assd=False).aggregate()["dice_mean"]
    assert np.allclose(dice, dice[0])
    assert POLICIES["noop"] is noop_policy


def test_flip_counts_by_hand():
    before = np.array([1, 1, 0, 0, 1], bool)
    after = np.array([1, 0, 1, 0, 0], bool)
    label = np.array([1, 0, 0, 1, 0], bool)
    # right before: voxels 0 and 2; right after: 0, 1 and 4 -> fixed 1 and 4, broken 2
    assert flip_counts(before, after, label) == (2, 1)


def test_flips_of_the_noop_and_the_oracle():
    env = gym.make("InteractiveSeg2D-v0", shape=(16, 16), num_cases=3, initial_clicks=3)
    still, oracle = VoxelFlips(), VoxelFlips()
    evaluate_policy(env, noop_policy, 3, measure_assd=False, flips=still)
    fixed, broken = still.means()
    assert fixed.shape == broken.shape == (5,)
    assert not fixed.any() and not broken.any()
    evaluate_policy(env, oracle_policy, 3, measure_assd=False, flips=oracle)
    errors = []
    for episode in range(3):  # the oracle ends every episode with no error at all
        env.reset(seed=episode, options={"case_index": episode})
        unwrapped = env.unwrapped
        prediction = unwrapped.probability.reshape(unwrapped.case.shape) >= 0.5
        errors.append(np.count_nonzero(prediction != unwrapped.case.label))
    assert np.array_equal(np.sum(oracle.fixed, axis=1), errors)
    assert not np.any(oracle.broken)
    table = flips_table({"noop": still, "oracle": oracle})
    assert table.splitlines()[2].startswith("| noop | +0.0 −0.0 |")
    assert f"+{np.mean(oracle.fixed, axis=0)[0]:.1f} −0.0" in table.splitlines()[3]


def test_scripted_policies_read_p_and_hints_past_a_step_channel():
    from segenv_agents.graphcut import GraphCutPolicy

    for step_channel in (False, True):
        env = gym.make(
            "InteractiveSeg3D-v0",
            shape=(6, 16, 16),
            num_cases=2,
            initial_clicks=3,
            step_channel=step_channel,
        )
        noop = evaluate_policy(env, noop_policy, 2, measure_assd=False)
        dice = noop.aggregate()["dice_mean"]
        np.testing.assert_array_equal(dice, dice[0])  # the no-op keeps Dice at every step
        for policy in (hint_follower_policy, GraphCutPolicy(lam=0.5)):
            evaluate_policy(env, policy, 1, measure_assd=False)
