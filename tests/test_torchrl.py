"""segenv.torchrl: the env as a TorchRL EnvBase, checked by TorchRL and against the reference."""

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from torchrl.envs.utils import check_env_specs

import segenv
import segenv.torchrl
from segenv.errors import ConfigError


@pytest.mark.parametrize("shape", [(16, 16), (4, 8, 8)])
def test_check_env_specs_passes(shape):
    env = segenv.torchrl.make_env(shape=shape, num_cases=2, num_envs=2, initial_clicks=2)
    check_env_specs(env, seed=0)
    check_env_specs(env, break_when_any_done="both")
    assert env.reward_spec.shape == (2, *shape, 1)  # one reward per voxel
    assert env.action_spec.shape == (2, *shape) and env.action_spec.space.n == 6
    env.close()


def test_a_rollout_is_the_reference_envs_episodes_step_for_step():
    kwargs = {"shape": (16, 16), "num_cases": 3, "initial_clicks": 2}
    env = segenv.torchrl.make_env(num_envs=2, **kwargs)
    env.set_seed(7)
    rollout = env.rollout(5)
    assert rollout.batch_size == (2, 5)
    assert rollout["next", "reward"].shape == (2, 5, 16, 16, 1)
    assert rollout["next", "done"][:, :, 0].tolist() == [[False] * 4 + [True]] * 2
    for i in range(2):  # volume i is the reference env reset with seed 7 + i
        reference = gym.make("InteractiveSeg2D-v0", **kwargs)
        observation, _ = reference.reset(seed=7 + i)
        np.testing.assert_array_equal(observation, rollout["observation"][i, 0].numpy())
        for t in range(5):
            observation, reward, _, _, info = reference.step(rollout["action"][i, t].numpy())
            maps = rollout["next", "reward"][i, t, ..., 0].numpy()
            np.testing.assert_array_equal(info["reward_map"], maps)
            assert reward == pytest.approx(float(maps.mean()), abs=1e-6)
            assert info["dice"] == pytest.approx(float(rollout["next", "dice"][i, t, 0]))
            assert info["num_clicks"] == int(rollout["next", "num_clicks"][i, t, 0])
            np.testing.assert_array_equal(observation, rollout["next", "observation"][i, t])
    env.close()


def test_partial_resets_restart_only_the_ended_volumes():
    env = segenv.torchrl.make_env(shape=(8, 8), num_cases=2, num_envs=2, max_steps=2)
    rollout = env.rollout(5, break_when_any_done=False)
    assert rollout["step"][:, :, 0].tolist() == [[0, 1, 0, 1, 0]] * 2
    env.reset()
    td = env.step(env.reset().set("action", env.action_spec.zero()))["next"]
    td.set("_reset", torch.tensor([[True], [False]]))
    after = env.reset(td)
    assert after["step"][:, 0].tolist() == [0, 1]  # volume 1 goes on where it was
    env.close()


def test_the_wrapped_batched_env_must_leave_resets_to_torchrl():
    batched = segenv.envs.BatchedInteractiveSegEnv(1, shape=(8, 8), num_cases=1)
    with pytest.raises(ConfigError, match="autoreset_mode='disabled'"):
        segenv.torchrl.TorchRLInteractiveSegEnv(batched)
    batched.close()


def test_import_segenv_imports_neither_torch_nor_torchrl():
    code = "import sys, segenv; assert 'torch' not in sys.modules and 'torchrl' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
