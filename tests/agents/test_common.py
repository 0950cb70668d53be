import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from segenv.errors import ConfigError, DataError
from segenv_agents.common.checkpoints import load_checkpoint, save_checkpoint
from segenv_agents.common.config import EnvArgs, env_kwargs, interaction_free
from segenv_agents.common.distributions import log_prob_and_entropy, sample_actions
from segenv_agents.common.evaluation import evaluate_policy
from segenv_agents.common.losses import discounted_returns, policy_loss, value_loss
from segenv_agents.common.networks import (
    ConfidenceNet,
    NetworkConfig,
    VoxelActorCritic,
    spatial_dims_of,
)
from segenv_agents.common.policies import NetworkPolicy, actor_logits
from segenv_agents.common.rollout import collect_rollout, episode_seeds, make_vector_env

TINY = EnvArgs(shape=(16, 16), num_train_cases=3, num_test_cases=2)


def test_discounted_returns_hand_computed():
    rewards = torch.tensor([1.0, 2.0, 3.0])
    # G(2) = 3, G(1) = 2 + 0.5 * 3 = 3.5, G(0) = 1 + 0.5 * 3.5 = 2.75
    assert torch.allclose(discounted_returns(rewards, 0.5), torch.tensor([2.75, 3.5, 3.0]))


def test_discounted_returns_per_voxel_maps_and_bad_input():
    maps = torch.tensor([[[1.0, 3.0]], [[2.0, 2.0]]])  # (T=2, B=1, 2 voxels)
    expected = torch.tensor([[[2.0, 4.0]], [[2.0, 2.0]]])
    assert torch.allclose(discounted_returns(maps, 0.5), expected)
    with pytest.raises(ConfigError, match="gamma"):
        discounted_returns(maps, 1.5)
    with pytest.raises(ConfigError, match="time axis"):
        discounted_returns(torch.tensor(1.0), 0.5)


def test_value_loss_eq6_hand_computed():
    advantage = torch.tensor([0.75, 0.5, 0.0])
    assert value_loss(advantage).item() == pytest.approx((0.5625 + 0.25) / 3)


def test_policy_loss_eq8_scalar_advantage_is_broadcast_to_voxels():
    log_prob = torch.log(torch.tensor([[[0.5, 0.25]]]))  # (T=1, B=1, 2 voxels)
    advantage = torch.tensor([[2.0]])
    expected = -(math.log(0.5) * 2 + math.log(0.25) * 2) / 2
    assert policy_loss(log_prob, advantage).item() == pytest.approx(expected)


def test_policy_loss_per_voxel_advantage_and_no_gradient_through_advantage():
    log_prob = torch.log(torch.tensor([[[0.5, 0.25]]])).requires_grad_()
    advantage = torch.tensor([[[1.0, -1.0]]], requires_grad=True)
    loss = policy_loss(log_prob, advantage)
    assert loss.item() == pytest.approx(-(math.log(0.5) - math.log(0.25)) / 2)
    loss.backward()
    assert advantage.grad is None
    assert torch.allclose(log_prob.grad, torch.tensor([[[-0.5, 0.5]]]))


def test_policy_loss_rejects_mismatched_advantage():
    with pytest.raises(ConfigError, match="advantage"):
        policy_loss(torch.zeros(2, 1, 3), torch.zeros(3, 1))


def test_log_prob_and_entropy_of_uniform_logits():
    logits = torch.zeros(1, 4, 2, 3)
    log_prob, entropy = log_prob_and_entropy(logits, torch.zeros(1, 2, 3, dtype=torch.long))
    assert torch.allclose(log_prob, torch.full((1, 2, 3), math.log(0.25)))
    assert torch.allclose(entropy, torch.full((1, 2, 3), math.log(4)))


def test_sample_actions_is_seeded_and_follows_the_distribution():
    probabilities = torch.tensor([0.5, 0.25, 0.25, 0.0]).log().view(1, 4, 1, 1)
    logits = probabilities.expand(1, 4, 64, 64)
    first = sample_actions(logits, torch.Generator().manual_seed(3))
    second = sample_actions(logits, torch.Generator().manual_seed(3))
    assert torch.equal(first, second)
    frequencies = np.bincount(first.flatten().numpy(), minlength=4) / first.numel()
    assert np.allclose(frequencies, [0.5, 0.25, 0.25, 0.0], atol=0.03)
    greedy = sample_actions(logits, greedy=True)
    assert (greedy == 0).all()


@pytest.mark.parametrize(
    ("observation_shape", "other_shape"), [((4, 9, 11), (4, 6, 7)), ((4, 3, 9, 11), (4, 5, 6, 7))]
)
def test_actor_critic_is_fully_convolutional_in_2d_and_3d(observation_shape, other_shape):
    dims = spatial_dims_of(observation_shape)
    config = NetworkConfig(channels=4, shared_dilations=(1, 2), head_dilations=(1,))
    net = VoxelActorCritic(4, 6, spatial_dims=dims, config=config)
    for shape in (observation_shape, other_shape):
        output = net(torch.zeros(2, *shape))
        assert output.logits.shape == (2, 6, *shape[1:])
        assert output.value_map.shape == (2, *shape[1:])
    assert not any(isinstance(m, torch.nn.Linear) for m in net.modules())


def test_confidence_net_maps_state_and_action_to_a_voxel_map():
    net = ConfidenceNet(4, spatial_dims=2, config=NetworkConfig(channels=4, head_dilations=(1,)))
    logits = net(torch.zeros(3, 4, 8, 8), torch.full((3, 8, 8), 0.4))
    assert logits.shape == (3, 8, 8)


def test_network_config_validates():
    with pytest.raises(ConfigError, match="channels"):
        NetworkConfig(channels=0)
    with pytest.raises(ConfigError, match="head_dilations"):
        NetworkConfig(head_dilations=())
    with pytest.raises(ConfigError, match="spatial_dims"):
        VoxelActorCritic(4, 6, spatial_dims=1)


def test_checkpoints_are_written_atomically_and_read_back(tmp_path):
    path = tmp_path / "run" / "checkpoint.pt"
    assert load_checkpoint(path) is None
    save_checkpoint(path, {"updates": 3, "tensor": torch.arange(4)})
    save_checkpoint(path, {"updates": 4, "tensor": torch.arange(5)})
    state = load_checkpoint(path)
    assert state["updates"] == 4 and torch.equal(state["tensor"], torch.arange(5))
    assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint.pt"]
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot read checkpoint"):
        load_checkpoint(path)


def test_episode_seeds_depend_only_on_run_seed_and_update():
    assert episode_seeds(1, 5, 3) == episode_seeds(1, 5, 3)
    assert episode_seeds(1, 5, 3) != episode_seeds(1, 6, 3)
    assert episode_seeds(1, 5, 3) != episode_seeds(2, 5, 3)
    assert len(set(episode_seeds(0, 0, 4) + episode_seeds(0, 1, 4))) == 8


def test_env_kwargs_and_interaction_free_stage():
    kwargs = env_kwargs(TINY, "test", user="none")
    assert kwargs["user"] == "none" and kwargs["shape"] == (16, 16)
    assert kwargs["dataset"].start_seed != env_kwargs(TINY, "train")["dataset"].start_seed
    free = interaction_free(kwargs)
    assert free["initial_clicks"] == 0 and free["clicks_per_step"] == 0
    with pytest.raises(ConfigError, match="split"):
        env_kwargs(TINY, "validation")


def test_collect_rollout_shapes_and_repeatability():
    envs = make_vector_env("InteractiveSeg2D-v0", env_kwargs(TINY, "train"), 2)

    def act(observation):
        return np.zeros(observation.shape[:1] + observation.shape[2:], np.int64)

    first = collect_rollout(envs, act, [4, 5])
    second = collect_rollout(envs, act, [4, 5])
    assert first.observations.shape == (5, 2, 4, 16, 16)
    assert first.actions.shape == first.reward_maps.shape == (5, 2, 16, 16)
    assert first.rewards.shape == (5, 2) and first.dice.shape == (6, 2)
    assert np.allclose(first.rewards, first.reward_maps.mean(axis=(2, 3)), atol=1e-6)
    assert first.voxel_transitions == 5 * 2 * 256
    assert np.array_equal(first.reward_maps, second.reward_maps)
    with pytest.raises(ConfigError, match="one seed per env"):
        collect_rollout(envs, act, [1])
    envs.close()


def test_network_policy_plugs_into_evaluate_policy():
    net = VoxelActorCritic(4, 6, spatial_dims=2, config=NetworkConfig(4, (1,), (1,)))
    env = gym.make("InteractiveSeg2D-v0", **env_kwargs(TINY, "test"))
    metrics = evaluate_policy(env, NetworkPolicy(actor_logits(net)), 2, measure_assd=False)
    assert metrics.aggregate()["dice_mean"].shape == (6,)
