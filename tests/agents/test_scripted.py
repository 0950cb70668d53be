import gymnasium as gym
import numpy as np

from agents.evaluation import evaluate_policy
from agents.scripted import POLICIES, noop_policy


def test_noop_keeps_the_initial_segmentation():
    env = gym.make("InteractiveSeg2D-v0", shape=(16, 16), num_cases=2, initial_clicks=3)
    observation, _ = env.reset(seed=0)
    before = observation[-3] >= 0.5
    observation, *_ = env.step(noop_policy(observation, env))
    assert np.array_equal(observation[-3] >= 0.5, before)
    dice = evaluate_policy(env, noop_policy, 2, measure_assd=False).aggregate()["dice_mean"]
    assert np.allclose(dice, dice[0])
    assert POLICIES["noop"] is noop_policy
