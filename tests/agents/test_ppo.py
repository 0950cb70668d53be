"""Per-voxel PPO on TorchRL: GAE and the clipped loss by hand on a 2×2 volume, then training."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from tensordict import TensorDict
from torch import nn
from torchrl.objectives.value import GAE

from segenv.errors import ConfigError
from segenv_agents import ppo
from segenv_agents.common.checkpoints import load_checkpoint
from segenv_agents.common.networks import ActorCriticOutput


def tiny_args(**changes):
    args = ppo.Args(
        shape=(16, 16),
        num_train_cases=4,
        num_test_cases=2,
        total_updates=3,
        num_envs=2,
        update_epochs=2,
        num_minibatches=2,
        channels=4,
        shared_dilations=(1,),
        head_dilations=(1,),
        lr=1e-3,
        threads=1,
        checkpoint_every_s=1e9,
        eval_episodes=2,
        log_every=1,
    )
    return dataclasses.replace(args, **changes)


# --- one episode of T = 2 steps on one 2×2 volume, γ = λ = 0.5 ---------------------------------
#
# rewards   r(0) = [[1, 0], [2, -1]]    r(1) = [[0, 4], [1, 1]]
# values    V(0) = [[1, 1], [0,  2]]    V(1) = [[2, 0], [1, 0]]     (terminated after step 1)
# δ(1) = r(1) - V(1)                   = [[-2, 4], [0, 1]]
# δ(0) = r(0) + γ V(1) - V(0)          = [[1 + 1 - 1, 0 + 0 - 1], [2 + 0.5 - 0, -1 + 0 - 2]]
#                                      = [[1, -1], [2.5, -3]]
# A(1) = δ(1)                          = [[-2, 4], [0, 1]]
# A(0) = δ(0) + γλ A(1) = δ(0) + A(1)/4 = [[0.5, 0], [2.5, -2.75]]
# G = A + V:  G(0) = [[1.5, 1], [2.5, -0.75]],  G(1) = [[0, 4], [1, 1]] (= r(1): nothing follows)
REWARDS = torch.tensor([[[1.0, 0.0], [2.0, -1.0]], [[0.0, 4.0], [1.0, 1.0]]])
VALUES = torch.tensor([[[1.0, 1.0], [0.0, 2.0]], [[2.0, 0.0], [1.0, 0.0]]])
ADVANTAGES = torch.tensor([[[0.5, 0.0], [2.5, -2.75]], [[-2.0, 4.0], [0.0, 1.0]]])
RETURNS = torch.tensor([[[1.5, 1.0], [2.5, -0.75]], [[0.0, 4.0], [1.0, 1.0]]])


def episode():
    """The episode as a TorchRL rollout [N=1, T=2], voxels as trailing dimensions."""
    done = torch.tensor([[[False], [True]]])
    data = TensorDict(
        {
            "state_value": VALUES[None, ..., None],
            "next": {"reward": REWARDS[None, ..., None], "done": done, "terminated": done},
        },
        batch_size=[1, 2],
    )
    return ppo.add_next_values(data)


def test_per_voxel_gae_by_hand():
    data = ppo.make_advantage(tiny_args(gamma=0.5, gae_lambda=0.5, norm_adv=False))(episode())
    assert data["advantage"].shape == (1, 2, 2, 2, 1)  # one advantage per voxel and step
    torch.testing.assert_close(data["advantage"][0, ..., 0], ADVANTAGES)
    torch.testing.assert_close(data["value_target"][0, ..., 0], RETURNS)


def test_torchrls_gae_needs_the_done_flags_broadcast_over_the_voxels():
    plain = GAE(gamma=0.5, lmbda=0.5, value_network=None, time_dim=1)
    with pytest.raises(RuntimeError, match="shape"):
        plain(episode())  # done [1, 2, 1] against values [1, 2, 2, 2, 1]


def test_normalised_advantages_have_mean_0_and_std_1_over_the_voxels():
    data = ppo.make_advantage(tiny_args(gamma=0.5, gae_lambda=0.5))(episode())
    normalised = (ADVANTAGES - ADVANTAGES.mean()) / ADVANTAGES.std()
    torch.testing.assert_close(data["advantage"][0, ..., 0], normalised)


# --- the clipped loss, elementwise, on the same 2×2 volume (K = 2 actions, action 0 taken) ------
#
# π(0|s) = p = [[0.5, 0.8], [0.2, 0.6]]; the old policy gave the ratios ρ = [[1.5, 0.5], [1.1, 1]]
# advantages A = [[1, 1], [-1, 2]], ε = 0.2 → min(ρA, clip(ρ, 0.8, 1.2)A) per voxel:
# [[min(1.5, 1.2), min(0.5, 0.8)], [min(-1.1, -1.1), min(2, 2)]] = [[1.2, 0.5], [-1.1, 2]]
# loss_objective = -mean = -(1.2 + 0.5 - 1.1 + 2)/4 = -0.65. (One ratio per volume, as SB3's
# summed log-probability has it, would be 1.5·0.5·1.1·1 = 0.825 against the mean advantage.)
# critic: V = [[1, 1], [0, 2]], G = [[1.5, 1], [2.5, -0.75]] → mean (V - G)² = 14.0625/4
PROBABILITIES = torch.tensor([[0.5, 0.8], [0.2, 0.6]])
RATIOS = torch.tensor([[1.5, 0.5], [1.1, 1.0]])
LOSS_ADVANTAGES = torch.tensor([[1.0, 1.0], [-1.0, 2.0]])


class FixedActorCritic(nn.Module):
    """A stand-in for VoxelActorCritic with given per-voxel probabilities and values."""

    def __init__(self):
        super().__init__()
        logits = torch.stack([PROBABILITIES.log(), (1 - PROBABILITIES).log()])
        self.logits = nn.Parameter(logits[None])  # (1, K, 2, 2)
        self.values = nn.Parameter(VALUES[0][None])  # (1, 2, 2)
        self.calls = 0

    def forward(self, observation):
        self.calls += 1
        batch = observation.shape[0]
        return ActorCriticOutput(
            self.logits.expand(batch, -1, -1, -1), self.values.expand(batch, -1, -1)
        )


def test_elementwise_clipped_loss_by_hand():
    net = FixedActorCritic()
    _, actor, critic = ppo.make_modules(net)
    args = tiny_args(clip_coef=0.2, vf_coef=0.5, ent_coef=0.01)
    loss = ppo.make_loss(actor, critic, args)
    data = TensorDict(
        {
            "observation": torch.zeros(1, 4, 2, 2),
            "action": torch.zeros(1, 2, 2, dtype=torch.long),
            "action_log_prob": (PROBABILITIES.log() - RATIOS.log())[None],
            "advantage": LOSS_ADVANTAGES[None, ..., None],
            "value_target": RETURNS[0][None, ..., None],
        },
        batch_size=[1],
    )
    terms = loss(data)
    assert net.calls == 1  # the actor and the critic read one forward pass
    assert terms["loss_objective"].item() == pytest.approx(-0.65)
    assert terms["loss_critic"].item() == pytest.approx(0.5 * 14.0625 / 4)
    p = PROBABILITIES.flatten().tolist()
    entropy = sum(-(q * math.log(q) + (1 - q) * math.log(1 - q)) for q in p) / 4
    assert terms["entropy"].item() == pytest.approx(entropy)
    assert terms["loss_entropy"].item() == pytest.approx(-0.01 * entropy)
    assert terms["clip_fraction"].item() == pytest.approx(0.5)  # ρ = 1.5 and 0.5 lie outside
    (terms["loss_objective"] + terms["loss_critic"]).backward()
    # the clipped voxel (0, 0) passes no gradient to its logits; voxel (0, 1) (ρ = 0.5 < 0.8,
    # A > 0: the unclipped term is the minimum) does
    assert net.logits.grad[0, :, 0, 0].abs().sum() == 0
    assert net.logits.grad[0, :, 0, 1].abs().sum() > 0


def test_args_validation():
    with pytest.raises(ConfigError, match="num_minibatches"):
        tiny_args(num_minibatches=11)  # 2 envs × 5 steps = 10 volume-steps
    with pytest.raises(ConfigError, match="gae_lambda"):
        tiny_args(gae_lambda=1.5)
    with pytest.raises(ConfigError, match="update_epochs"):
        tiny_args(update_epochs=0)
    with pytest.raises(ConfigError, match="entropy_decay_to"):
        tiny_args(entropy_decay_to=0.0)
    assert tiny_args().total_env_steps == 3 * 2 * 5


def test_entropy_weight_decays_from_ent_coef_to_its_final_fraction():
    args = tiny_args(ent_coef=0.05, entropy_decay_to=0.04, total_updates=3)
    weights = [ppo.entropy_weight(args, update) for update in range(3)]
    assert weights == pytest.approx([0.05, 0.01, 0.002])  # 0.05 · 0.04^(0, 1/2, 1)
    assert ppo.entropy_weight(tiny_args(ent_coef=0.05), 2) == pytest.approx(0.05)


def test_training_resumes_bit_for_bit_and_loads_as_a_policy(tmp_path):
    def args(updates):  # a constant learning rate: the annealed one depends on the total
        return tiny_args(total_updates=updates, anneal_lr=False)

    straight = ppo.train(args(4), tmp_path / "straight", show_progress=False)
    ppo.train(args(2), tmp_path / "resumed", show_progress=False)
    with pytest.raises(ConfigError, match="--resume"):
        ppo.train(args(4), tmp_path / "resumed", show_progress=False)
    resumed = ppo.train(args(4), tmp_path / "resumed", resume=True, show_progress=False)
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert a["updates"] == b["updates"] == 4
    for key, value in a["model"].items():
        assert torch.isfinite(value).all()
        torch.testing.assert_close(value, b["model"][key], rtol=0, atol=0)
    rows = (tmp_path / "straight" / "scalars.jsonl").read_text().splitlines()
    assert len(rows) == 4 and '"losses/clipfrac"' in rows[0]
    assert (tmp_path / "straight" / "tb").is_dir()
    policy = ppo.load_policy(tmp_path / "straight")
    assert policy(np.zeros((4, 16, 16), np.float32)).shape == (16, 16)


def test_an_sb3_run_from_before_the_rename_is_named(tmp_path):
    (tmp_path / "checkpoint.zip").write_bytes(b"")
    with pytest.raises(ConfigError, match="sb3_ppo_scalar"):
        ppo.load_policy(tmp_path)


@pytest.mark.slow
def test_ppo_learns_a_trivial_2d_case(tmp_path):
    import learning_cases

    args = tiny_args(
        shape=learning_cases.SHAPE,
        num_envs=4,
        total_updates=60,
        update_epochs=4,
        num_minibatches=2,
        channels=8,
        shared_dilations=(1, 2),
        head_dilations=(2, 1),
        lr=1e-3,
    )
    obs_shape, num_actions = (4, *learning_cases.SHAPE), 6
    learner = ppo.Learner(args, obs_shape, num_actions)
    env = ppo.segenv.torchrl.make_env(num_envs=4, num_threads=1, **learning_cases.env_kwargs())
    optimizer = torch.optim.Adam(learner.net.parameters(), lr=args.lr)
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    returns = []
    for update in range(args.total_updates):
        data = ppo.collect(learner, env, 4 * update, args.max_steps)
        returns.append(float(data["next", "reward"].flatten(2).mean(-1).sum(1).mean()))
        ppo.optimise(learner, optimizer, data, args, generator)
    env.close()
    assert np.mean(returns[-10:]) > np.mean(returns[:10]) + 0.05
