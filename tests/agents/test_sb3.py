import math

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from segenv.errors import ConfigError, InputTypeError
from segenv_agents import sb3
from segenv_agents.common.config import env_kwargs


def tiny_args(**changes):
    values = {
        "shape": (16, 16),
        "num_train_cases": 4,
        "num_test_cases": 2,
        "total_timesteps": 20,
        "num_envs": 2,
        "n_steps": 5,
        "batch_size": 10,
        "n_epochs": 1,
        "channels": 4,
        "shared_dilations": (1,),
        "head_dilations": (1,),
        "lr": 1e-3,
        "threads": 1,
        "checkpoint_every_s": 1e9,
        "eval_episodes": 2,
    }
    values.update(changes)
    return sb3.Args(**values)


def test_flat_voxel_actions_round_trip():
    env = sb3.make_sb3_env("InteractiveSeg2D-v0", env_kwargs(tiny_args(), "train"))
    assert env.action_space == spaces.MultiDiscrete(np.full(256, 6))
    assert env.action(np.arange(256) % 6).shape == (16, 16)
    env.reset(seed=0)
    _, reward, *_ = env.step(env.action_space.sample())
    assert math.isfinite(reward)
    with pytest.raises(InputTypeError, match="MultiDiscrete"):
        sb3.FlatVoxelActions(gym.make("CartPole-v1"))


def test_voxel_distribution_means_over_voxels():
    logits = torch.log(torch.tensor([0.5, 0.25, 0.25])).view(1, 3, 1, 1).expand(2, 3, 2, 2)
    dist = sb3.VoxelCategoricalDistribution((2, 2)).proba_distribution(logits)
    actions = torch.tensor([[0, 0, 0, 0], [0, 1, 1, 2]], dtype=torch.float32)
    expected = [math.log(0.5), (math.log(0.5) + 3 * math.log(0.25)) / 4]
    assert torch.allclose(dist.log_prob(actions), torch.tensor(expected))
    entropy = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    assert torch.allclose(dist.entropy(), torch.full((2,), entropy))
    assert dist.mode().shape == (2, 4) and (dist.mode() == 0).all()
    assert dist.sample().shape == (2, 4)


def test_voxel_policy_is_fully_convolutional_and_rejects_unflattened_actions():
    env = sb3.make_sb3_env("InteractiveSeg2D-v0", env_kwargs(tiny_args(), "train"))
    policy = sb3.VoxelPolicy(
        env.observation_space, env.action_space, lambda _: 1e-3, channels=4, head_dilations=(1,)
    )
    assert not any(isinstance(module, torch.nn.Linear) for module in policy.modules())
    obs = torch.zeros(3, 4, 16, 16)
    actions, values, log_prob = policy(obs)
    assert actions.shape == (3, 256) and values.shape == (3, 1) and log_prob.shape == (3,)
    with pytest.raises(InputTypeError, match="FlatVoxelActions"):
        sb3.VoxelPolicy(env.observation_space, env.env.action_space, lambda _: 1e-3)


def test_args_validation():
    with pytest.raises(ConfigError, match="algo"):
        tiny_args(algo="dqn")
    with pytest.raises(ConfigError, match="batch_size"):
        tiny_args(batch_size=100)


@pytest.mark.parametrize("algo", ["ppo", "a2c"])
def test_smoke_training_and_checkpoint_round_trip(tmp_path, algo):
    args = tiny_args(algo=algo)
    env = sb3.make_sb3_env("InteractiveSeg2D-v0", env_kwargs(args, "train"))
    torch.manual_seed(args.seed)
    initial = sb3.make_model(tiny_args(algo=algo, batch_size=5), env).policy.state_dict()
    path = sb3.train(args, tmp_path / algo, show_progress=False)
    model = sb3.load_model(tmp_path / algo)
    assert path.name == "checkpoint.zip" and model.num_timesteps >= 20
    state = model.policy.state_dict()
    assert all(torch.isfinite(value).all() for value in state.values())
    assert any(not torch.equal(initial[key], state[key]) for key in initial)
    policy = sb3.load_policy(tmp_path / algo)
    assert policy(np.zeros((4, 16, 16), np.float32)).shape == (16, 16)
    with pytest.raises(ConfigError, match="--resume"):
        sb3.train(args, tmp_path / algo, show_progress=False)
    sb3.train(
        tiny_args(algo=algo, total_timesteps=40), tmp_path / algo, resume=True, show_progress=False
    )
    assert sb3.load_model(tmp_path / algo).num_timesteps >= 40


@pytest.mark.slow
def test_ppo_raises_the_episode_return_on_a_trivial_2d_case():
    import learning_cases
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.vec_env import DummyVecEnv

    class Returns(BaseCallback):
        def __init__(self):
            super().__init__()
            self.returns = []

        def _on_step(self):
            self.returns += [i["episode"]["r"] for i in self.locals["infos"] if "episode" in i]
            return True

    args = tiny_args(
        shape=learning_cases.SHAPE,
        num_envs=4,
        batch_size=20,
        n_epochs=4,
        channels=8,
        shared_dilations=(1, 2),
        head_dilations=(2, 1),
        lr=2e-4,
        ent_coef=0.01,
    )
    kwargs = learning_cases.env_kwargs()
    env = DummyVecEnv([lambda: sb3.make_sb3_env("InteractiveSeg2D-v0", kwargs)] * 4)
    model = sb3.make_model(args, env)
    callback = Returns()
    model.learn(1200, callback=callback)
    assert np.mean(callback.returns[-20:]) > np.mean(callback.returns[:20]) + 0.05
