import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from segenv.errors import ConfigError
from segenv_agents import a3c
from segenv_agents.common.checkpoints import load_checkpoint
from segenv_agents.common.losses import discounted_returns

ROOT = Path(__file__).resolve().parents[2]


def tiny_args(**changes):
    args = a3c.Args(
        shape=(16, 16),
        num_train_cases=4,
        num_test_cases=2,
        total_updates=3,
        num_envs=2,
        channels=4,
        shared_dilations=(1,),
        head_dilations=(1,),
        lr=1e-3,
        threads=1,
        checkpoint_every_s=1e9,
        eval_episodes=2,
    )
    return dataclasses.replace(args, **changes)


# --- the loss (eq 6, 7, 8), by hand ------------------------------------------------------------

# T = 2 steps, B = 1 env, 2 voxels, K = 2 actions with uniform logits (log π = log 0.5, H = log 2)
REWARD_MAPS = torch.tensor([[[1.0, 3.0]], [[2.0, 2.0]]])
VALUE_MAPS = torch.tensor([[[1.0, 1.0]], [[0.0, 2.0]]])
LOGITS = torch.zeros(2, 1, 2, 2)
ACTIONS = torch.zeros(2, 1, 2, dtype=torch.long)


def test_loss_with_eq7_mean_voxel_advantage():
    loss = a3c.actor_critic_loss(
        LOGITS, VALUE_MAPS, ACTIONS, REWARD_MAPS, gamma=0.5, value_coef=0.5, entropy_coef=0.01
    )
    # r̄ = (2, 2) → G = (2 + 0.5·2, 2) = (3, 2); V = mean value map = (1, 1) → A = (2, 1)
    assert loss.value.item() == pytest.approx((4 + 1) / 2)  # eq 6
    assert loss.policy.item() == pytest.approx(math.log(2) * 1.5)  # eq 8: -log(0.5)·mean(A)
    assert loss.entropy.item() == pytest.approx(math.log(2))
    expected = math.log(2) * 1.5 + 0.5 * 2.5 - 0.01 * math.log(2)
    assert loss.total.item() == pytest.approx(expected)


def test_loss_with_per_voxel_advantage():
    loss = a3c.actor_critic_loss(
        LOGITS, VALUE_MAPS, ACTIONS, REWARD_MAPS, gamma=0.5, advantage="voxel"
    )
    # G per voxel = [[1 + 0.5·2, 3 + 0.5·2], [2, 2]] = [[2, 4], [2, 2]]
    # A = G - V = [[1, 3], [2, 0]]
    assert loss.value.item() == pytest.approx((1 + 9 + 4 + 0) / 4)
    assert loss.policy.item() == pytest.approx(math.log(2) * 1.5)


def test_reward_map_convolution_starts_as_identity_and_learns():
    conv = a3c.RewardMapConv(spatial_dims=2)
    maps = torch.rand(3, 2, 5, 5)
    returns = a3c.convolved_returns(maps, 0.9, conv)
    assert torch.allclose(returns, discounted_returns(maps, 0.9))  # identity kernel
    logits = torch.zeros(3, 2, 6, 5, 5, requires_grad=True)
    loss = a3c.actor_critic_loss(
        logits,
        torch.zeros(3, 2, 5, 5),
        torch.zeros(3, 2, 5, 5, dtype=torch.long),
        maps,
        gamma=0.9,
        advantage="voxel",
        reward_conv=conv,
    )
    loss.total.backward()
    assert conv.weight.grad is not None and torch.isfinite(conv.weight.grad).all()


def test_learning_rate_step_decay():
    args = tiny_args(lr=1e-3, lr_decay=0.5, lr_decay_every=10)
    assert a3c.learning_rate(args, 9) == pytest.approx(1e-3)
    assert a3c.learning_rate(args, 10) == pytest.approx(5e-4)
    assert a3c.learning_rate(args, 25) == pytest.approx(2.5e-4)
    assert a3c.learning_rate(tiny_args(lr_decay_every=0), 10**6) == pytest.approx(1e-3)


def test_entropy_weight_decays_geometrically_to_the_final_fraction():
    args = tiny_args(entropy_coef=0.05, entropy_decay_to=0.04, total_updates=11)
    assert a3c.entropy_weight(args, 0) == pytest.approx(0.05)
    assert a3c.entropy_weight(args, 5) == pytest.approx(0.05 * 0.2)  # half-way: sqrt(0.04)
    assert a3c.entropy_weight(args, 10) == pytest.approx(0.002)
    assert a3c.entropy_weight(tiny_args(entropy_coef=0.05), 10) == pytest.approx(0.05)


def test_step_channel_reaches_the_env_and_the_network(tmp_path):
    args = tiny_args(step_channel=True)
    shape, actions = a3c.observation_layout(args)
    assert shape[0] == 5 and actions == 6  # image, p, h+, h-, t / T
    a3c.train(args, tmp_path, show_progress=False)
    assert a3c.load_policy(tmp_path) is not None


def test_args_validation():
    with pytest.raises(ConfigError, match="entropy_decay_to"):
        tiny_args(entropy_decay_to=0.0)
    with pytest.raises(ConfigError, match="advantage"):
        tiny_args(advantage="median")
    with pytest.raises(ConfigError, match="reward_conv"):
        tiny_args(reward_conv=True)
    with pytest.raises(ConfigError, match="pretrain_updates"):
        tiny_args(pretrain_updates=5)
    with pytest.raises(ConfigError, match="workers"):
        tiny_args(workers=2, device="cuda")


# --- training ----------------------------------------------------------------------------------


def test_smoke_training_updates_parameters_and_checkpoint_round_trips(tmp_path):
    args = tiny_args(total_updates=3, pretrain_updates=1, log_every=1)
    observation_shape, num_actions = a3c.observation_layout(args)
    torch.manual_seed(args.seed)
    initial = a3c.Learner(args, observation_shape, num_actions).state_dict()
    checkpoint = a3c.train(args, tmp_path / "run", show_progress=False)
    state = load_checkpoint(checkpoint)
    assert state["updates"] == 3 and state["learner"] == "a3c"
    changed = [not torch.equal(initial[key], state["model"][key]) for key in initial]
    assert any(changed)
    rows = [json.loads(line) for line in (tmp_path / "run" / "scalars.jsonl").open()]
    assert [row["step"] for row in rows] == [1, 2, 3]
    assert [row["charts/pretraining"] for row in rows] == [1.0, 0.0, 0.0]
    for row in rows:
        assert all(math.isfinite(value) for value in row.values())
    policy = a3c.load_policy(tmp_path / "run")
    observation = torch.zeros(observation_shape).numpy()
    assert policy(observation).shape == (16, 16)
    assert any((tmp_path / "run" / "tb").iterdir())


def test_same_seed_same_run_and_resume_continues_it(tmp_path):
    a3c.train(tiny_args(total_updates=4), tmp_path / "full", show_progress=False)
    a3c.train(tiny_args(total_updates=2), tmp_path / "split", show_progress=False)
    with pytest.raises(ConfigError, match="--resume"):
        a3c.train(tiny_args(total_updates=4), tmp_path / "split", show_progress=False)
    a3c.train(tiny_args(total_updates=4), tmp_path / "split", resume=True, show_progress=False)
    full = load_checkpoint(tmp_path / "full" / "checkpoint.pt")
    split = load_checkpoint(tmp_path / "split" / "checkpoint.pt")
    assert split["updates"] == full["updates"] == 4
    for key, value in full["model"].items():
        assert torch.allclose(value, split["model"][key], atol=1e-6), key


def test_asynchronous_workers_share_parameters(tmp_path):
    args = tiny_args(total_updates=4, workers=2, num_envs=1, log_every=1)
    observation_shape, num_actions = a3c.observation_layout(args)
    torch.manual_seed(args.seed)
    initial = a3c.Learner(args, observation_shape, num_actions).state_dict()
    state = load_checkpoint(a3c.train(args, tmp_path / "async", show_progress=False))
    assert state["updates"] == 4
    assert any(not torch.equal(initial[key], state["model"][key]) for key in initial)
    rows = [json.loads(line) for line in (tmp_path / "async" / "scalars.jsonl").open()]
    assert sorted(row["step"] for row in rows) == [1, 2, 3, 4]


def test_sigkill_mid_run_then_resume_continues_the_step_count(tmp_path):
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "segenv_agents.cli",
        "train",
        "a3c",
        "--out",
        str(out),
        "--no-progress",
        *("--shape", "16", "16", "--num-train-cases", "4", "--num-test-cases", "2"),
        *("--channels", "4", "--shared-dilations", "1", "--head-dilations", "1"),
        *("--num-envs", "1", "--threads", "1", "--checkpoint-every-s", "0.2"),
        *("--total-updates", "100000", "--log-every", "1"),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE)
    checkpoint = out / "checkpoint.pt"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = load_checkpoint(checkpoint) if checkpoint.exists() else None
        if state is not None and state["updates"] >= 3:
            break
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stderr.close()
    killed_at = load_checkpoint(checkpoint)["updates"]
    assert killed_at >= 3
    target = killed_at + 2
    resumed = subprocess.run(
        [*command[:-4], "--total-updates", str(target), "--resume"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert load_checkpoint(checkpoint)["updates"] == target
    steps = [json.loads(line)["step"] for line in (out / "scalars.jsonl").open()]
    assert steps[-2:] == [killed_at + 1, killed_at + 2]


@pytest.mark.slow
def test_a3c_learns_on_a_trivial_2d_case():
    import gymnasium as gym
    import learning_cases

    from segenv_agents.common.policies import NetworkPolicy, actor_logits
    from segenv_agents.common.rollout import episode_seeds, make_vector_env

    args = tiny_args(
        shape=learning_cases.SHAPE,
        channels=8,
        shared_dilations=(1, 2),
        head_dilations=(2, 1),
        advantage="voxel",
        lr=1e-3,
        entropy_coef=0.05,
        num_envs=4,
    )
    torch.manual_seed(0)
    learner = a3c.Learner(args, (4, *learning_cases.SHAPE), 6)
    optimizer = torch.optim.Adam(learner.parameters(), lr=args.lr)
    envs = make_vector_env("InteractiveSeg2D-v0", learning_cases.env_kwargs(), 4)
    test_env = gym.make("InteractiveSeg2D-v0", **learning_cases.env_kwargs(seed=1, count=8))
    policy = NetworkPolicy(actor_logits(learner.net))
    before = learning_cases.final_dice_gain(test_env, policy)
    generator = torch.Generator().manual_seed(0)
    for update in range(120):
        seeds = episode_seeds(0, update, 4)
        loss, _ = a3c.play_and_score(learner, envs, seeds, generator, args, torch.device("cpu"))
        a3c.apply_gradients(learner, optimizer, loss, args, args.lr)
    after = learning_cases.final_dice_gain(test_env, policy)
    assert after > 0.05 and after > before + 0.2
