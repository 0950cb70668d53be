import numpy as np
import pytest

torch = pytest.importorskip("torch")

from segenv.errors import ConfigError  # noqa: E402
from segenv.rewards import REWARDS, RewardInputs, compute_reward, cross_entropy  # noqa: E402
from segenv.views import torch_rewards  # noqa: E402


def batch_inputs(previous, current, label, confidence=None):
    prev_t, cur_t = torch.from_numpy(previous), torch.from_numpy(current)
    label_t = torch.from_numpy(label)
    ce_prev = torch_rewards.cross_entropy(prev_t, label_t)
    ce_cur = torch_rewards.cross_entropy(cur_t, label_t)
    return torch_rewards.TorchRewardInputs(
        previous=prev_t,
        current=cur_t,
        label=label_t,
        ce_previous=ce_prev,
        ce_current=ce_cur,
        gain=ce_prev - ce_cur,
        confidence=None if confidence is None else torch.from_numpy(confidence),
    )


def test_worked_example_relative_reward():
    previous = np.full((1, 1, 1, 2), 0.5, dtype=np.float32)
    current = np.full((1, 1, 1, 2), 0.9, dtype=np.float32)
    label = np.array([[[[True, False]]]])
    reward = torch_rewards.relative(batch_inputs(previous, current, label))
    # foreground: -log 0.5 + log 0.9 = 0.5878; background: -log 0.5 + log 0.1 = -1.6094
    np.testing.assert_allclose(reward.numpy().ravel(), [0.5878, -1.6094], atol=1e-4)


def test_cross_entropy_matches_numpy_and_clips():
    p = np.array([0.0, 1e-9, 0.3, 0.5, 1.0], dtype=np.float32).reshape(1, 1, 1, 5)
    label = np.array([True, True, False, True, False]).reshape(1, 1, 1, 5)
    expected = cross_entropy(p, label)
    out = torch.empty(1, 1, 1, 5)
    got = torch_rewards.cross_entropy(torch.from_numpy(p), torch.from_numpy(label), out=out)
    assert got.data_ptr() == out.data_ptr()
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    assert np.isclose(got.numpy().max(), -np.log(np.float32(1e-6)), rtol=1e-6)


# the designs segenv ships (other test modules register their own, which have no twin)
BUILT_IN = [name for name in REWARDS.names() if REWARDS.get(name).__module__ == "segenv.rewards"]


@pytest.mark.parametrize("design", BUILT_IN)
def test_every_twin_matches_the_numpy_design(design):
    rng = np.random.default_rng(0)
    shape = (2, 3, 4, 5)
    previous = rng.random(shape, dtype=np.float32)
    current = np.clip(previous + rng.choice([-0.2, 0.1, 0.4], shape), 0, 1).astype(np.float32)
    label = rng.random(shape) < 0.4
    confidence = rng.random(shape, dtype=np.float32) * 0.6
    twin = torch_rewards.torch_reward_for(REWARDS.get(design), {})
    assert twin is not None
    got = twin(batch_inputs(previous, current, label, confidence)).numpy()
    for i in range(shape[0]):
        inputs = RewardInputs(
            previous=previous[i],
            current=current[i],
            label=label[i],
            ce_previous=cross_entropy(previous[i], label[i]),
            ce_current=cross_entropy(current[i], label[i]),
            confidence=confidence[i],
        )
        np.testing.assert_allclose(got[i], compute_reward(design, inputs), atol=1e-5)


def test_custom_confidence_weight_has_no_twin():
    design = REWARDS.get("confidence")
    assert torch_rewards.torch_reward_for(design, {"weight": lambda c, a, b: 1 - c}) is None
    assert torch_rewards.torch_reward_for(lambda inputs: inputs.gain, {}) is None


def test_confidence_twin_needs_a_map_and_integer_beta():
    shape = (1, 1, 1, 2)
    p = np.full(shape, 0.5, dtype=np.float32)
    label = np.zeros(shape, dtype=bool)
    with pytest.raises(ConfigError, match="confidence"):
        torch_rewards.confidence(batch_inputs(p, p, label))
    high = np.full(shape, 0.9, dtype=np.float32)
    with pytest.raises(ConfigError, match="beta"):
        torch_rewards.confidence(batch_inputs(p, p, label, high), beta=0.5)
