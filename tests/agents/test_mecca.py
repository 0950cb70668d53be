import dataclasses
import json
import math

import numpy as np
import pytest
import torch

from segenv.errors import ConfigError
from segenv_agents import mecca
from segenv_agents.common.checkpoints import load_checkpoint


def tiny_args(**changes):
    args = mecca.Args(
        shape=(16, 16),
        num_train_cases=4,
        num_test_cases=2,
        total_updates=2,
        num_envs=2,
        channels=4,
        shared_dilations=(1,),
        head_dilations=(1,),
        lr=1e-3,
        confidence_lr=1e-3,
        threads=1,
        checkpoint_every_s=1e9,
        eval_episodes=2,
        log_every=1,
    )
    return dataclasses.replace(args, **changes)


def test_confidence_targets_follow_the_direction_of_the_action():
    delta = torch.tensor([0.4, 0.4, -0.1, -0.1])
    label = torch.tensor([True, False, True, False])
    assert torch.equal(mecca.confidence_targets(delta, label), torch.tensor([1.0, 0.0, 0.0, 1.0]))


def test_symmetric_bce_eq6_hand_computed():
    target = torch.tensor([1.0, 0.0])
    # logits 0 → C = 0.5: each BCE is log 2, whatever the target
    loss = mecca.confidence_loss(torch.zeros(2), torch.zeros(2), target)
    assert loss.item() == pytest.approx(2 * math.log(2))
    # C(s, a) = sigmoid(2) on a right action, C(s, -a) = sigmoid(-2) on its opposite:
    # BCE(σ(2), 1) = log(1 + e^-2) for both terms of the first voxel; the second voxel
    # (target 0): BCE(σ(2), 0) = log(1 + e^2) and BCE(σ(-2), 1) = log(1 + e^2)
    loss = mecca.confidence_loss(torch.tensor([2.0, 2.0]), torch.tensor([-2.0, -2.0]), target)
    expected = (2 * math.log1p(math.exp(-2)) + 2 * math.log1p(math.exp(2))) / 2
    assert loss.item() == pytest.approx(expected)


def test_simulated_label_eq10_and_mask_eq11():
    delta = torch.tensor([0.2, 0.2, -0.4, -0.4])
    confidence = torch.tensor([0.9, 0.1, 0.95, 0.3])
    # trusted upward → 1, distrusted upward → 0, trusted downward → 0, distrusted downward → 1
    assert torch.equal(
        mecca.simulated_label(delta, confidence), torch.tensor([True, False, False, True])
    )
    mask = mecca.confident_mask(confidence, 0.85)
    assert torch.equal(mask, torch.tensor([1.0, 1.0, 1.0, 0.0]))


def test_mask_threshold_rises_per_epoch_and_stops_at_the_end_value():
    args = tiny_args()
    assert mecca.mask_threshold(args, 0, 10) == pytest.approx(0.85)
    assert mecca.mask_threshold(args, 25, 10) == pytest.approx(0.85 + 2 * 0.00025)
    assert mecca.mask_threshold(args, 10**7, 10) == pytest.approx(0.99)


def test_shifted_weight_stays_positive_and_favours_low_confidence():
    weights = mecca.shifted_confidence_weight(np.array([0.0, 0.5, 1.0], np.float32))
    assert np.allclose(weights, [1.8, 1.3, 0.8])


def test_args_validation():
    with pytest.raises(ConfigError, match="workers"):
        tiny_args(workers=2)
    with pytest.raises(ConfigError, match="labeled_fraction"):
        tiny_args(labeled_fraction=0.0)
    with pytest.raises(ConfigError, match="confidence_weight"):
        tiny_args(confidence_weight="inverse")


def test_labeled_split_partitions_the_training_cases():
    labeled, unlabeled = mecca.labeled_split(tiny_args(labeled_fraction=0.5))
    assert len(labeled) == 2 and len(unlabeled) == 2
    assert set(labeled.seeds).isdisjoint(unlabeled.seeds)
    assert mecca.labeled_split(tiny_args())[1] is None


def test_smoke_training_with_simulated_labels_and_guided_user(tmp_path):
    args = tiny_args(labeled_fraction=0.5)
    checkpoint = mecca.train(args, tmp_path / "run", show_progress=False)
    state = load_checkpoint(checkpoint)
    assert state["updates"] == 2
    rows = [json.loads(line) for line in (tmp_path / "run" / "scalars.jsonl").open()]
    for key in ("losses/confidence", "losses/unlabeled_total", "charts/mask_fraction"):
        assert all(math.isfinite(row[key]) for row in rows)
    fresh = mecca.Mecca(args, (4, 16, 16), 6).state_dict()
    assert any(not torch.equal(fresh[key], state["model"][key]) for key in fresh)
    policy = mecca.load_policy(tmp_path / "run")
    assert policy(np.zeros((4, 16, 16), np.float32)).shape == (16, 16)
    mecca.train(
        dataclasses.replace(args, total_updates=3),
        tmp_path / "run",
        resume=True,
        show_progress=False,
    )
    assert load_checkpoint(checkpoint)["updates"] == 3


@pytest.mark.slow
def test_mecca_learns_on_a_trivial_2d_case():
    import gymnasium as gym
    import learning_cases

    from segenv_agents.common.rollout import make_vector_env

    args = tiny_args(
        shape=learning_cases.SHAPE,
        channels=8,
        shared_dilations=(1, 2),
        head_dilations=(2, 1),
        advantage="voxel",
        entropy_coef=0.05,
        confidence_weight="shifted",
        num_envs=4,
    )
    kwargs = learning_cases.env_kwargs(
        reward="confidence",
        reward_kwargs={"weight": mecca.shifted_confidence_weight},
        user="guided",
    )
    trainer = mecca.Trainer(args, make_vector_env("InteractiveSeg2D-v0", kwargs, 4))
    test_env = gym.make("InteractiveSeg2D-v0", **learning_cases.env_kwargs(seed=1, count=8))
    before = learning_cases.final_dice_gain(test_env, trainer.policy())
    accuracy = []
    for update in range(120):
        accuracy.append(trainer.update(update).scalars["charts/confidence_accuracy"])
    after = learning_cases.final_dice_gain(test_env, trainer.policy())
    assert np.mean(accuracy[-10:]) > np.mean(accuracy[:10]) + 0.1
    assert after > 0.05 and after > before + 0.2


def test_presets_use_meccas_reward_and_guided_user():
    for args in mecca.CONFIGS.values():
        assert args.reward == "confidence" and args.user == "guided"
