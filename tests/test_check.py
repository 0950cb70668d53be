import gymnasium as gym
import numpy as np
import pytest

import segenv
from segenv import marl
from segenv.errors import InputTypeError

SMALL_2D = {"shape": (16, 16), "num_cases": 2, "max_steps": 3}
SMALL_3D = {"shape": (2, 8, 8), "num_cases": 2, "max_steps": 2}


def test_check_runs_gymnasiums_checker_and_ours_on_the_env():
    report = segenv.check(gym.make("InteractiveSeg2D-v0", **SMALL_2D))
    assert report.passed == ["gymnasium.check_env", "determinism", "reward_sign"]
    assert report.skipped == {}


def test_check_is_callable_after_importing_the_module():
    import segenv.check as module

    assert segenv.check is module and callable(module)
    assert module.check(gym.make("InteractiveSeg2D-v0", **SMALL_2D)).passed


@pytest.mark.parametrize("reward", ["absolute", "focal", "error_region"])
def test_reward_sign_holds_for_the_built_in_designs(reward):
    report = segenv.check(gym.make("InteractiveSeg2D-v0", reward=reward, **SMALL_2D))
    assert "reward_sign" in report.passed


def test_confidence_design_is_checked_with_its_confidence():
    def confidence(observation, action):
        return np.full(action.shape, 0.3)

    env = gym.make("InteractiveSeg2D-v0", reward="confidence", confidence=confidence, **SMALL_2D)
    assert "reward_sign" in segenv.check(env).passed


def test_a_reward_that_favours_worse_segmentations_fails():
    env = gym.make("InteractiveSeg2D-v0", reward=lambda inputs: -inputs.gain, **SMALL_2D)
    with pytest.raises(segenv.check.CheckFailure, match="reward_sign"):
        segenv.check(env)


class Flaky(gym.Env):
    observation_space = gym.spaces.Box(0.0, 1.0, (2,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self):
        self.noise = np.random.default_rng()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        obs = self.noise.random(2, dtype=np.float32)  # not seeded by reset
        return obs, 0.0, False, False, {}


def test_a_nondeterministic_env_fails_and_a_foreign_env_skips_reward_sign():
    with pytest.raises(AssertionError, match="Deterministic step"):
        segenv.check(Flaky())  # Gymnasium's checker finds it first
    with pytest.raises(segenv.check.CheckFailure, match="'determinism' failed"):
        segenv.check(gym.vector.SyncVectorEnv([Flaky, Flaky]))
    report = segenv.check(gym.make("CartPole-v1"))
    assert "determinism" in report.passed and "reward_sign" in report.skipped


@pytest.mark.parametrize("mode", ["vector_entry_point", "sync"])
def test_check_vector_envs(mode):
    if mode == "vector_entry_point":
        pytest.importorskip("torch")
    envs = gym.make_vec("InteractiveSeg3D-v0", num_envs=2, vectorization_mode=mode, **SMALL_3D)
    report = segenv.check(envs)
    assert report.passed[:2] == ["vector_api", "determinism"]
    assert ("reward_sign" in report.passed) == (mode == "vector_entry_point")


def test_check_pettingzoo_views():
    report = segenv.check(marl.parallel_env(**SMALL_3D))
    assert report.passed == [
        "pettingzoo.parallel_api_test",
        "pettingzoo.parallel_seed_test",
        "reward_sign",
    ]
    assert any("unknown reset option" in message for message in report.warnings)
    report = segenv.check(marl.env(**SMALL_3D), env_fn=lambda: marl.env(**SMALL_3D))
    assert report.passed == ["pettingzoo.api_test", "pettingzoo.seed_test"]


def test_check_rejects_what_is_not_an_env():
    with pytest.raises(InputTypeError, match="Gymnasium Env"):
        segenv.check(object())
