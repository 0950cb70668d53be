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


def _stub_env(label: np.ndarray, coords: list[tuple[int, int, int]], labels: list[bool]):
    """The attributes the scripted policies read, for a hand-made 2D case (paper actions)."""
    from types import SimpleNamespace

    clicks = SimpleNamespace(coords=np.array(coords, np.int64).reshape(-1, 3), labels=labels)
    unwrapped = SimpleNamespace(
        deltas=np.array([-0.4, -0.2, -0.1, 0.1, 0.2, 0.4], np.float32),
        clicks=clicks,
        num_modalities=1,
        case=SimpleNamespace(label=label[None]),
    )
    return SimpleNamespace(unwrapped=unwrapped)


def _observation(probability: np.ndarray) -> np.ndarray:
    zeros = np.zeros_like(probability)
    return np.stack([zeros, probability, zeros, zeros]).astype(np.float32)


def test_click_disc_by_hand():
    from segenv_agents.scripted import click_disc_policy

    probability = np.full((5, 5), 0.2)
    probability[4, 4] = 0.9
    env = _stub_env(np.zeros((5, 5), bool), [(0, 2, 2), (0, 0, 0)], [True, False])
    action = click_disc_policy(_observation(probability), env)
    expected = np.full((5, 5), 2)  # -0.1: keep p < 0.5
    expected[4, 4] = 3  # +0.1: keep p >= 0.5
    for y, x in [(2, 2), (1, 2), (3, 2), (2, 1), (2, 3)]:  # within 1 voxel of the object click
        expected[y, x] = 5  # +0.4
    for y, x in [(0, 0), (0, 1), (1, 0)]:  # within 1 voxel of the background click
        expected[y, x] = 0  # -0.4
    assert np.array_equal(action, expected)
    no_clicks = _stub_env(np.zeros((5, 5), bool), [], [])
    assert np.array_equal(
        click_disc_policy(_observation(probability), no_clicks),
        noop_policy(_observation(probability), no_clicks),
    )


def test_clicked_region_oracle_fixes_only_the_regions_clicked():
    from segenv_agents.scripted import clicked_region_oracle_policy

    label = np.zeros((6, 6), bool)
    label[0:2, 0:2] = True  # missed region, clicked
    label[4:6, 4:6] = True  # missed region, not clicked
    probability = np.full((6, 6), 0.1)
    probability[0, 4:6] = 0.8  # a false-positive region, clicked
    env = _stub_env(label, [(0, 1, 1), (0, 0, 5)], [True, False])
    action = clicked_region_oracle_policy(_observation(probability), env)
    expected = np.full((6, 6), 2)
    expected[0:2, 0:2] = 5
    expected[0, 4:6] = 0
    assert np.array_equal(action, expected)
