import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import segenv
from segenv.data.case import make_case
from segenv.envs.interactive_seg import InteractiveSegEnv
from segenv.errors import ConfigError, DataError, EnvStateError, InputTypeError
from segenv.hints import HINT_ENCODERS
from segenv.interaction import USERS
from segenv.rewards import REWARDS, cross_entropy

SMALL = (6, 20, 20)


def small_env(**kwargs):
    kwargs.setdefault("shape", SMALL)
    kwargs.setdefault("num_cases", 4)
    return InteractiveSegEnv(**kwargs)


def rollout(env, seed, steps=None):
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    trajectory = [(obs, 0.0, info["dice"], info["clicks"]["coords"])]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trajectory.append((obs, reward, info["dice"], info["clicks"]["coords"]))
        done = terminated or truncated
    return trajectory


@pytest.mark.parametrize("env_id", ["InteractiveSeg3D-v0", "InteractiveSeg2D-v0"])
def test_check_env_passes_on_registered_ids(env_id):
    env = gym.make(env_id, num_cases=3)
    check_env(env.unwrapped, skip_render_check=True)


def test_make_without_import_prefix():
    env = gym.make("segenv:InteractiveSeg2D-v0", num_cases=2)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 64, 64)


def test_default_3d_spaces_follow_the_papers_volume():
    env = gym.make("InteractiveSeg3D-v0", num_cases=2)
    assert env.observation_space.shape == (4, 30, 55, 55)
    assert env.observation_space.dtype == np.float32
    assert env.action_space.shape == (30, 55, 55)
    assert int(env.action_space.nvec.flat[0]) == 6
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    assert info["step"] == 0 and info["num_clicks"] == 0


def test_two_envs_same_seed_identical_trajectories():
    a = rollout(small_env(), seed=7)
    b = rollout(small_env(), seed=7)
    c = rollout(small_env(), seed=8)
    for (oa, ra, da, ca), (ob, rb, db, cb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(oa, ob)
        np.testing.assert_array_equal(ca, cb)
        assert ra == rb and da == db
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(a, c, strict=True))


def test_step_semantics_reward_update_and_info():
    env = small_env(initialiser="constant", user="largest_error", click_noise=0)
    obs, info = env.reset(seed=0)
    label = env.case.label
    p0 = obs[1].copy()
    np.testing.assert_array_equal(p0, 0.5)
    action = np.where(label, 5, 0)  # +0.4 on the object, -0.4 elsewhere
    obs, reward, terminated, truncated, info = env.step(action)
    np.testing.assert_allclose(obs[1], np.where(label, 0.9, 0.1), atol=1e-6)
    expected_map = cross_entropy(p0, label) - cross_entropy(obs[1], label)
    np.testing.assert_allclose(info["reward_map"], expected_map, rtol=1e-6)
    np.testing.assert_allclose(info["gain_map"], expected_map, rtol=1e-6)
    assert reward == pytest.approx(float(expected_map.mean()), rel=1e-6)
    assert info["dice"] == 1.0 and info["step"] == 1
    assert info["num_clicks"] == 0  # nothing left to correct
    assert not terminated and not truncated


def test_episode_ends_after_max_steps_and_step_after_end_raises():
    env = small_env(max_steps=2)
    env.reset(seed=0)
    assert env.step(env.action_space.sample())[2] is False
    assert env.step(env.action_space.sample())[2] is True
    with pytest.raises(EnvStateError, match="reset"):
        env.step(env.action_space.sample())
    with pytest.raises(EnvStateError, match="reset"):
        small_env().step(np.zeros(SMALL, dtype=np.int64))


def test_user_clicks_accumulate_and_build_hints():
    env = small_env(initial_clicks=3, clicks_per_step=2)
    obs, info = env.reset(seed=3)
    n0 = info["num_clicks"]
    assert 0 < n0 <= 3
    coords, labels = info["clicks"]["coords"], info["clicks"]["labels"]
    for (z, y, x), positive in zip(coords, labels, strict=True):
        assert obs[2 if positive else 3, z, y, x] == pytest.approx(1.0)
        assert env.case.label[z, y, x] == positive
    _, _, _, _, info = env.step(env.action_space.sample())
    assert n0 <= info["num_clicks"] <= n0 + 2
    np.testing.assert_array_equal(info["clicks"]["coords"][:n0], coords)


def test_hints_not_accumulated_keep_only_last_step():
    env = small_env(initial_clicks=3, clicks_per_step=1, accumulate_hints=False, click_noise=0)
    env.reset(seed=3)
    obs, _, _, _, info = env.step(np.full(SMALL, 3))
    last = info["clicks"]["steps"] == 1
    assert last.sum() <= 1
    hint_ones = np.argwhere((obs[2] == 1.0) | (obs[3] == 1.0))
    assert len(hint_ones) == last.sum()


def test_binary_state_rounds_probability():
    env = small_env(state="binary")
    obs, _ = env.reset(seed=0)
    assert set(np.unique(obs[1])) <= {0.0, 1.0}
    np.testing.assert_array_equal(obs[1], env.probability >= 0.5)


def test_none_user_fills_hints_with_noise_and_gives_no_clicks():
    env = small_env(user="none")
    obs, info = env.reset(seed=0)
    _, _, _, _, info = env.step(env.action_space.sample())
    assert info["num_clicks"] == 0
    assert 0.0 < obs[2].std() and 0.0 <= obs[2].min() and obs[2].max() <= 1.0


def test_2d_env_shapes():
    env = gym.make("InteractiveSeg2D-v0", shape=(32, 40), num_cases=2)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 32, 40) and env.action_space.shape == (32, 40)
    obs, _, _, _, info = env.step(env.action_space.sample())
    assert info["reward_map"].shape == (32, 40)


@pytest.mark.parametrize("reward", REWARDS.names())
def test_every_reward_design_runs(reward):
    kwargs = {}
    if reward == "confidence":
        kwargs["confidence"] = lambda obs, action: np.full(obs.shape[1:], 0.3, np.float32)
    env = small_env(reward=reward, **kwargs)
    env.reset(seed=0)
    _, reward_value, _, _, info = env.step(env.action_space.sample())
    assert np.isfinite(reward_value)
    assert reward_value == pytest.approx(float(info["reward_map"].mean()), rel=1e-5, abs=1e-7)


@pytest.mark.parametrize("hints", HINT_ENCODERS.names())
def test_every_hint_encoding_runs(hints):
    env = small_env(hints=hints, initial_clicks=2)
    obs, _ = env.reset(seed=0)
    assert obs[2:].min() >= 0.0 and obs[2:].max() <= 1.0


@pytest.mark.parametrize("user", [u for u in USERS.names() if u != "guided"])
def test_every_user_runs(user):
    env = small_env(user=user, initial_clicks=2)
    env.reset(seed=0)
    env.step(env.action_space.sample())


def test_guided_user_uses_the_learners_confidence():
    env = small_env(
        user="guided", confidence=lambda obs, a: np.full(obs.shape[1:], 0.5, np.float32)
    )
    env.reset(seed=0)
    _, _, _, _, info = env.step(env.action_space.sample())
    assert info["num_clicks"] > 0


def test_set_confidence_feeds_confidence_reward():
    env = small_env(reward="confidence", initialiser="constant")
    env.reset(seed=0)
    label = env.case.label
    env.set_confidence(np.full(SMALL, 0.3, dtype=np.float32))
    _, _, _, _, info = env.step(np.where(label, 5, 0))
    np.testing.assert_allclose(info["reward_map"], 0.5 * info["gain_map"], rtol=1e-5)
    with pytest.raises(ConfigError, match="confidence"):
        env.step(np.where(label, 5, 0))  # the map is consumed by one step


def test_initialiser_array_and_degraded_truth_dice():
    env = small_env(num_cases=1, initialiser=np.full(SMALL, 0.25, dtype=np.float32))
    obs, _ = env.reset(seed=0)
    np.testing.assert_array_equal(obs[1], 0.25)
    env = InteractiveSegEnv(
        shape=(16, 40, 40), num_cases=3, initialiser_kwargs={"target_dice": 0.7}
    )
    _, info = env.reset(seed=0)
    assert info["dice"] == pytest.approx(0.7, abs=0.03)


def test_custom_dataset_of_cases():
    rng = np.random.default_rng(0)
    label = np.zeros((4, 10, 10), dtype=bool)
    label[1:3, 3:7, 3:7] = True
    cases = [make_case(rng.normal(size=(4, 10, 10)), label, name=f"c{i}") for i in range(2)]
    env = InteractiveSegEnv(dataset=cases, initial_clicks=1)
    obs, info = env.reset(seed=0, options={"case_index": 1})
    assert obs.shape == (4, 4, 10, 10) and info["case"] == "c1"
    with pytest.raises(ConfigError, match="case_index"):
        env.reset(options={"case_index": 5})
    with pytest.raises(ConfigError, match="does not match"):
        InteractiveSegEnv(dataset=cases, shape=(5, 10, 10))


def test_render_rgb_array():
    env = small_env(render_mode="rgb_array", initial_clicks=2)
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"clicks_per_step": -1}, ConfigError, "clicks_per_step"),
        ({"max_steps": 0}, ConfigError, "max_steps"),
        ({"click_noise": 1.5}, InputTypeError, "click_noise"),
        ({"gamma": 1.5}, ConfigError, "gamma"),
        ({"eps": 0.0}, ConfigError, "eps"),
        ({"reward": "relativ"}, ConfigError, "Did you mean 'relative'"),
        ({"user": "largest"}, ConfigError, "largest_error"),
        ({"hints": "geodesik"}, ConfigError, "geodesic"),
        ({"initialiser": "degraded"}, ConfigError, "degraded_truth"),
        ({"actions": "0.3"}, ConfigError, "action set"),
        ({"state": "soft"}, ConfigError, "state"),
        ({"render_mode": "ansi"}, ConfigError, "render_mode"),
        ({"shape": (0, 5, 5)}, ConfigError, "shape"),
        ({"shape": (5, 5, 5, 5)}, ConfigError, "shape"),
        ({"confidence": 0.5}, InputTypeError, "confidence"),
        ({"dataset": "no/such/folder"}, DataError, "no such folder"),
        ({"dataset": 42}, InputTypeError, "dataset"),
    ],
)
def test_bad_configuration_raises_clear_error(kwargs, error, match):
    kwargs.setdefault("shape", SMALL)
    with pytest.raises(error, match=match):
        InteractiveSegEnv(num_cases=2, **kwargs)


def test_bad_actions_raise_clear_error():
    env = small_env()
    env.reset(seed=0)
    with pytest.raises(ConfigError, match="shape"):
        env.step(np.zeros((3, 3), dtype=np.int64))
    with pytest.raises(ConfigError, match=r"\[0, 6\)"):
        env.step(np.full(SMALL, 7))
    with pytest.raises(InputTypeError, match="integer"):
        env.step(np.full(SMALL, 0.5))


def test_bad_case_data_raises_clear_error():
    label = np.zeros((2, 4, 4), dtype=bool)
    label[0, 1, 1] = True
    with pytest.raises(DataError, match="NaN"):
        make_case(np.full((2, 4, 4), np.nan), label)
    with pytest.raises(DataError, match="no foreground"):
        make_case(np.zeros((2, 4, 4)), np.zeros((2, 4, 4)))
    with pytest.raises(DataError, match="not binary"):
        make_case(np.zeros((2, 4, 4)), label.astype(int) * 2)
    with pytest.raises(DataError, match="does not match"):
        make_case(np.zeros((2, 4, 5)), label)


def test_package_exports_env_class():
    assert segenv.InteractiveSegEnv is InteractiveSegEnv


def test_gym_make_3d_takes_the_shape_of_a_custom_dataset():
    label = np.zeros((4, 12, 10), dtype=bool)
    label[1:3, 4:8, 3:7] = True
    cases = [make_case(np.random.default_rng(0).normal(size=label.shape), label)]
    env = gym.make("InteractiveSeg3D-v0", dataset=cases)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4, 4, 12, 10)


def test_step_channel_is_the_share_of_steps_taken():
    env = gym.make(
        "InteractiveSeg3D-v0", shape=(4, 12, 12), num_cases=2, max_steps=4, step_channel=True
    )
    assert env.observation_space.shape == (5, 4, 12, 12)
    assert env.observation_space.low[-1].min() == 0 and env.observation_space.high[-1].max() == 1
    obs, _ = env.reset(seed=0)
    assert (obs[-1] == 0).all()
    for step in range(1, 5):
        obs, *_ = env.step(env.action_space.sample())
        np.testing.assert_array_equal(obs[-1], np.float32(step / 4))
    plain, _ = gym.make("InteractiveSeg3D-v0", shape=(4, 12, 12), num_cases=2).reset(seed=0)
    np.testing.assert_array_equal(env.reset(seed=0)[0][:-1], plain)  # the other channels as before
