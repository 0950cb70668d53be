import dataclasses
import math

import numpy as np
import pytest
import torch

from segenv.errors import ConfigError
from segenv_agents import supervised
from segenv_agents.common.checkpoints import load_checkpoint


def tiny_args(**changes):
    args = supervised.Args(
        shape=(16, 16),
        num_train_cases=4,
        num_test_cases=2,
        total_updates=2,
        num_envs=2,
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


def test_segmentation_loss_targets_the_step_towards_the_label():
    deltas = torch.tensor([-1.0, 1.0])
    label = torch.tensor([[True, False]])
    logits = torch.tensor([[[0.0, 0.0], [math.log(3.0), 0.0]]])  # (N=1, K=2, 2 voxels)
    # voxel 0: p(fg) = 3/4 → -log 0.75; voxel 1: p(bg) = 1/2 → -log 0.5
    expected = (-math.log(0.75) - math.log(0.5)) / 2
    loss = supervised.segmentation_loss(logits, label, deltas)
    assert loss.item() == pytest.approx(expected)


def test_args_validation():
    with pytest.raises(ConfigError, match="variant"):
        tiny_args(variant="unet")


@pytest.mark.parametrize("variant", ["intercnn", "rnet"])
def test_smoke_training_and_checkpoint_round_trip(tmp_path, variant):
    args = tiny_args(variant=variant)
    checkpoint = supervised.train(args, tmp_path / variant, show_progress=False)
    state = load_checkpoint(checkpoint)
    assert state["updates"] == 2 and state["learner"] == variant
    assert all(torch.isfinite(value).all() for value in state["model"].values())
    policy = supervised.load_policy(tmp_path / variant)
    action = policy(np.zeros((4, 16, 16), np.float32))
    assert action.shape == (16, 16) and set(np.unique(action)) <= {0, 1}


@pytest.mark.slow
@pytest.mark.parametrize(("variant", "state"), [("intercnn", "binary"), ("rnet", "probability")])
def test_supervised_baseline_learns_on_a_trivial_2d_case(variant, state):
    import gymnasium as gym
    import learning_cases

    from segenv_agents.common.rollout import make_vector_env

    args = tiny_args(
        variant=variant,
        state=state,
        shape=learning_cases.SHAPE,
        channels=8,
        shared_dilations=(1, 2),
        head_dilations=(2, 1),
        num_envs=4,
    )
    kwargs = learning_cases.env_kwargs(actions="1.0", state=state)
    trainer = supervised.Trainer(args, make_vector_env("InteractiveSeg2D-v0", kwargs, 4))
    test_env = gym.make(
        "InteractiveSeg2D-v0",
        **learning_cases.env_kwargs(seed=1, count=8, actions="1.0", state=state),
    )
    for update in range(60):
        trainer.update(update)
    assert learning_cases.final_dice_gain(test_env, trainer.policy()) > 0.05
