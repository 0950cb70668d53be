import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import segenv  # noqa: F401
from segenv.envs.interactive_seg import ClickInfo, InteractiveSegEnv

KWARGS = {"shape": (3, 10, 10), "num_cases": 2, "max_steps": 2, "initial_clicks": 2}


@pytest.fixture(params=["sync", "async"])
def envs(request):
    vector = gym.make_vec(
        "InteractiveSeg3D-v0", num_envs=2, vectorization_mode=request.param, **KWARGS
    )
    yield vector
    vector.close()


def test_make_vec_sync_and_async_batch_the_reference_env(envs):
    assert envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
    obs, info = envs.reset(seed=4)
    assert obs.shape == (2, 4, 3, 10, 10) and obs.dtype == np.float32
    assert envs.observation_space.contains(obs)
    # sub-envs may have different click counts: one ClickInfo per sub-env in an object array
    assert info["clicks"].dtype == object and isinstance(info["clicks"][0], ClickInfo)
    for i in range(2):
        reference, _ = InteractiveSegEnv(**KWARGS).reset(seed=4 + i)
        np.testing.assert_array_equal(obs[i], reference)
    obs, reward, _terminated, _truncated, info = envs.step(envs.action_space.sample())
    assert reward.shape == (2,) and info["reward_map"].shape == (2, 3, 10, 10)
    assert info["clicks"][1]["coords"].shape[1] == 3


def test_next_step_autoreset_is_gymnasiums_documented_behaviour(envs):
    envs.reset(seed=0)
    actions = np.zeros(envs.action_space.shape, dtype=np.int64)
    for _ in range(KWARGS["max_steps"]):
        _, _, terminated, _, _ = envs.step(actions)
    assert terminated.all()
    # the next step resets the ended sub-envs, ignoring their actions
    _obs, reward, terminated, truncated, info = envs.step(actions)
    np.testing.assert_array_equal(reward, 0.0)
    assert not terminated.any() and not truncated.any()
    assert (info["step"] == 0).all() and "reward_map" not in info
    _, reward, terminated, _, info = envs.step(actions)
    assert (info["step"] == 1).all() and info["_reward_map"].all() and not terminated.any()
