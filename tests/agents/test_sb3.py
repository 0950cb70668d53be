import json
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


def test_voxel_distribution_per_voxel():
    logits = torch.log(torch.tensor([0.5, 0.25, 0.25])).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    dist = sb3.VoxelCategoricalDistribution((2, 2), per_voxel=True).proba_distribution(logits)
    log_prob = dist.log_prob(torch.tensor([[0, 1, 1, 2]], dtype=torch.float32))
    expected = torch.log(torch.tensor([[0.5, 0.25, 0.25, 0.25]]))
    assert torch.allclose(log_prob, expected) and dist.entropy().shape == (1, 4)


# One episode of T = 2 steps on one 2×2 volume, γ = λ = 0.5: the hand-computed GAE of
# tests/agents/test_ppo.py (the TorchRL learner), voxels flattened row by row.
REWARDS = np.array([[1.0, 0.0, 2.0, -1.0], [0.0, 4.0, 1.0, 1.0]], np.float32)
VALUES = np.array([[1.0, 1.0, 0.0, 2.0], [2.0, 0.0, 1.0, 0.0]], np.float32)
ADVANTAGES = np.array([[0.5, 0.0, 2.5, -2.75], [-2.0, 4.0, 0.0, 1.0]], np.float32)
RETURNS = ADVANTAGES + VALUES


def test_voxel_rollout_buffer_holds_one_advantage_per_voxel():
    observation_space = spaces.Box(-np.inf, np.inf, (4, 2, 2), np.float32)
    action_space = spaces.MultiDiscrete(np.full(4, 6))
    buffer = sb3.VoxelRolloutBuffer(
        2, observation_space, action_space, device="cpu", gamma=0.5, gae_lambda=0.5, n_envs=1
    )
    for t in range(2):
        buffer.add(
            np.zeros((1, 4, 2, 2), np.float32),
            np.zeros((1, 4)),
            REWARDS[t][None],
            np.array([t == 0]),
            torch.from_numpy(VALUES[t][None]),
            torch.zeros(1, 4),
        )
    buffer.compute_returns_and_advantage(last_values=torch.zeros(1, 4), dones=np.array([True]))
    assert buffer.advantages.shape == (2, 1, 4)  # (steps, envs, voxels)
    np.testing.assert_allclose(buffer.advantages[:, 0], ADVANTAGES)
    np.testing.assert_allclose(buffer.returns[:, 0], RETURNS)
    (sample,) = list(buffer.get(batch_size=2))
    assert sample.observations.shape == (2, 4, 2, 2)  # whole volumes for the convolutions
    assert sample.advantages.shape == sample.returns.shape == sample.old_log_prob.shape == (8,)
    np.testing.assert_allclose(np.sort(sample.advantages.numpy()), np.sort(ADVANTAGES.ravel()))
    with pytest.raises(InputTypeError, match="VoxelRewards"):
        buffer.add(
            *([np.zeros((1, 4, 2, 2)), np.zeros((1, 4)), np.zeros(1)]),
            np.zeros(1),
            torch.zeros(1, 4),
            torch.zeros(1, 4),
        )


def test_voxel_ppo_trains_per_voxel_with_sb3s_own_loop(tmp_path):
    from stable_baselines3.common.vec_env import DummyVecEnv

    args = tiny_args()
    kwargs = env_kwargs(args, "train")
    env = DummyVecEnv([lambda: sb3.make_sb3_env("InteractiveSeg2D-v0", kwargs)] * 2)
    net = {"channels": 4, "shared_dilations": (1,), "head_dilations": (1,)}
    model = sb3.VoxelPPO(
        sb3.VoxelPolicy, env, n_steps=5, batch_size=5, n_epochs=1, policy_kwargs=net, seed=0
    )
    assert isinstance(model.env, sb3.VoxelRewards) and model.policy.per_voxel
    assert isinstance(model.rollout_buffer, sb3.VoxelRolloutBuffer)
    model.learn(10)
    assert model.rollout_buffer.advantages.shape == (10, 256)  # flattened (steps·envs, voxels)
    assert 0 <= model.logger.name_to_value["train/clip_fraction"] <= 1
    model.save(tmp_path / "model.zip")
    loaded = sb3.VoxelPPO.load(tmp_path / "model.zip", env=env)
    assert isinstance(loaded.env, sb3.VoxelRewards) and loaded.policy.per_voxel
    loaded.learn(10)
    assert sb3.VoxelA2C(sb3.VoxelPolicy, env, n_steps=5, policy_kwargs=net).policy.per_voxel
    with pytest.raises(InputTypeError, match="VoxelPolicy"):
        sb3.VoxelPPO("CnnPolicy", env)


def test_args_validation():
    with pytest.raises(ConfigError, match="algo"):
        tiny_args(algo="dqn")
    with pytest.raises(ConfigError, match="batch_size"):
        tiny_args(batch_size=100)
    with pytest.raises(ConfigError, match="batch_size"):
        tiny_args(algo="ppo_scalar", batch_size=100)
    tiny_args(algo="a2c", batch_size=100)  # A2C takes the whole rollout
    with pytest.raises(ConfigError, match="entropy_decay_to"):
        tiny_args(entropy_decay_to=1.5)


def test_entropy_decay_sets_sb3s_ent_coef_before_each_update():
    from types import SimpleNamespace

    decay = sb3.EntropyDecay(0.05, 0.04, total_timesteps=30)  # 3 rollouts of 2 envs × 5 steps
    decay.model = SimpleNamespace(n_steps=5, n_envs=2, num_timesteps=0, ent_coef=0.05)
    weights = []
    for done in (10, 20, 30):  # SB3 calls it after each rollout, before train()
        decay.model.num_timesteps = done
        decay.on_rollout_end()
        weights.append(decay.model.ent_coef)
    assert weights == pytest.approx([0.05, 0.01, 0.002])


def test_training_decays_the_entropy_weight_to_its_final_fraction(tmp_path):
    args = tiny_args(total_timesteps=30, ent_coef=0.05, entropy_decay_to=0.04)
    sb3.train(args, tmp_path / "run", show_progress=False)
    assert sb3.load_model(tmp_path / "run").ent_coef == pytest.approx(0.002)


@pytest.mark.parametrize("algo", sorted(sb3.ALGORITHMS))
def test_smoke_training_and_checkpoint_round_trip(tmp_path, algo):
    args = tiny_args(algo=algo)
    env = sb3.make_sb3_env("InteractiveSeg2D-v0", env_kwargs(args, "train"))
    torch.manual_seed(args.seed)
    initial = sb3.make_model(tiny_args(algo=algo, batch_size=5), env).policy.state_dict()
    path = sb3.train(args, tmp_path / algo, show_progress=False)
    model = sb3.load_model(tmp_path / algo)
    assert path.name == "checkpoint.zip" and model.num_timesteps >= 20
    assert type(model) is sb3.ALGORITHMS[algo]
    recorded = json.loads((tmp_path / algo / "config.json").read_text())
    assert recorded["learner"] == sb3.LEARNER_NAMES[algo]
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
