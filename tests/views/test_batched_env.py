import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import segenv  # noqa: E402, F401
from segenv.errors import ConfigError, EnvStateError, InputTypeError  # noqa: E402
from segenv.views.batched import BatchedInteractiveSegEnv  # noqa: E402

SMALL = {"shape": (4, 12, 12), "num_cases": 3, "max_steps": 2, "initial_clicks": 2}
N = 2


def p_channel_confidence(observation, action):
    """A confidence map that works on one numpy obs (C, D, H, W) and a torch batch."""
    return observation[..., -3, :, :, :] * 0.5 + 0.25


def run_both(kwargs, steps=5, seed=3, device="cpu"):
    """Step SyncVectorEnv and the batched env with the same seeds and actions; compare."""
    sync = gym.make_vec("InteractiveSeg3D-v0", num_envs=N, vectorization_mode="sync", **kwargs)
    batched = BatchedInteractiveSegEnv(N, device=device, **kwargs)
    expected = sync.reset(seed=seed)
    got = batched.reset(seed=seed)
    compare(expected, got, stepped=False)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        actions = rng.integers(
            0, sync.single_action_space.nvec.flat[0], size=sync.action_space.shape
        )
        expected = sync.step(actions)
        got = batched.step(torch.from_numpy(actions).to(device))
        compare(expected, got, stepped=True)
    return batched


def compare(expected, got, stepped):
    np.testing.assert_array_equal(got[0].cpu().numpy(), expected[0])  # exact
    sync_info, batch_info = expected[-1], got[-1]
    for i in range(N):
        assert batch_info["dice"][i] == sync_info["dice"][i]
        assert batch_info["clicks"][i] == sync_info["clicks"][i]
        assert batch_info["num_clicks"][i] == sync_info["num_clicks"][i]
        assert batch_info["step"][i] == sync_info["step"][i]
        assert batch_info["case"][i] == sync_info["case"][i]
    if not stepped:
        return
    np.testing.assert_allclose(got[1].cpu().numpy(), expected[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got[2].cpu().numpy(), expected[2])
    np.testing.assert_array_equal(got[3].cpu().numpy(), expected[3])
    mask = sync_info.get("_reward_map", np.zeros(N, bool))
    np.testing.assert_array_equal(batch_info["_reward_map"], mask)
    for i in np.flatnonzero(mask):
        for key in ("reward_map", "gain_map"):
            np.testing.assert_allclose(
                batch_info[key][i].cpu().numpy(), sync_info[key][i], rtol=1e-5, atol=1e-5
            )


def test_matches_sync_vector_env_across_an_autoreset():
    batched = run_both(SMALL, steps=5)
    assert batched.metadata["autoreset_mode"] is gym.vector.AutoresetMode.NEXT_STEP


@pytest.mark.parametrize("reward", ["relative", "absolute", "focal", "error_region", "confidence"])
def test_every_reward_design_matches(reward):
    run_both({**SMALL, "reward": reward, "confidence": p_channel_confidence}, steps=2)


@pytest.mark.parametrize("hints", ["geodesic", "euclidean", "gaussian"])
def test_every_hint_encoding_matches(hints):
    run_both({**SMALL, "hints": hints}, steps=2)


@pytest.mark.parametrize("user", ["largest_error", "deepest_point", "edge", "random", "none"])
def test_every_user_matches(user):
    run_both({**SMALL, "user": user}, steps=3)


@pytest.mark.slow
def test_guided_user_matches():  # guided needs a confidence map: no clicks at reset
    kwargs = {**SMALL, "initial_clicks": 0, "user": "guided", "confidence": p_channel_confidence}
    run_both(kwargs, steps=2)


def test_variants_match():
    run_both({**SMALL, "state": "binary", "accumulate_hints": False, "actions": "0.1+0.2"}, 3)
    run_both({**SMALL, "initialiser": "constant", "augment": True, "clicks_per_step": 3}, 3)


def test_step_channel_matches_across_autoresets():
    batched = run_both({**SMALL, "step_channel": True}, steps=5)
    assert batched.single_observation_space.shape[0] == 5


def test_custom_reward_design_runs_per_volume_and_matches():
    run_both({**SMALL, "reward": lambda inputs, scale=2.0: scale * inputs.gain}, steps=2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_matches_on_gpu():
    run_both({**SMALL, "reward": "focal"}, steps=5, device="cuda")


def test_2d_env_and_numpy_arrays_match_sync_exactly():
    kwargs = {"shape": (16, 16), "num_cases": 2, "max_steps": 2}
    sync = gym.make_vec("InteractiveSeg2D-v0", num_envs=N, vectorization_mode="sync", **kwargs)
    batched = gym.make_vec(
        "InteractiveSeg2D-v0",
        num_envs=N,
        vectorization_mode="vector_entry_point",
        array_type="numpy",
        **kwargs,
    )
    obs_s, _ = sync.reset(seed=0)
    obs_b, _ = batched.reset(seed=0)
    assert isinstance(obs_b, np.ndarray) and obs_b.shape == (N, 4, 16, 16)
    np.testing.assert_array_equal(obs_b, obs_s)
    for _ in range(3):
        actions = sync.action_space.sample()
        out_s, out_b = sync.step(actions), batched.step(actions)
        np.testing.assert_array_equal(out_b[0], out_s[0])
        assert out_b[1].dtype == np.float64
        np.testing.assert_allclose(out_b[1], out_s[1], rtol=1e-5)
        assert out_b[4]["reward_map"].shape == (N, 16, 16)
    assert batched.observation_space == sync.observation_space


def test_make_vec_defaults_to_the_batched_env_with_torch_outputs():
    envs = gym.make_vec("InteractiveSeg2D-v0", num_envs=3, shape=(16, 16), num_cases=2)
    assert isinstance(envs, BatchedInteractiveSegEnv)
    obs, info = envs.reset(seed=1)
    assert isinstance(obs, torch.Tensor) and obs.shape == (3, 4, 16, 16)
    assert info["_dice"].all() and info["dice"].dtype == np.float64
    obs, reward, terminated, _truncated, info = envs.step(torch.randint(0, 6, (3, 16, 16)))
    assert reward.dtype == torch.float32 and terminated.dtype == torch.bool
    assert info["reward_map"].shape == (3, 16, 16)


def test_next_step_autoreset_ignores_actions_and_returns_reset_output():
    envs = BatchedInteractiveSegEnv(N, **SMALL)
    envs.reset(seed=0)
    actions = torch.zeros((N, 4, 12, 12), dtype=torch.int64)
    for _ in range(SMALL["max_steps"]):
        _, reward, terminated, _, info = envs.step(actions)
    assert terminated.all()
    _obs, reward, terminated, truncated, info = envs.step(actions)
    assert (reward == 0).all() and not terminated.any() and not truncated.any()
    assert (info["step"] == 0).all() and not info["_reward_map"].any()
    assert (info["num_clicks"] <= SMALL["initial_clicks"]).all()
    _, _, _, _, info = envs.step(actions)
    assert (info["step"] == 1).all() and info["_reward_map"].all()


def test_same_step_autoreset_reports_final_obs_and_info():
    envs = BatchedInteractiveSegEnv(N, autoreset_mode="SameStep", **SMALL)
    envs.reset(seed=0)
    actions = torch.ones((N, 4, 12, 12), dtype=torch.int64)
    _, _, terminated, _, info = envs.step(actions)
    assert not terminated.any() and "final_obs" not in info
    before = envs.probability
    obs, _, terminated, _, info = envs.step(actions)
    assert terminated.all() and info["_final_obs"].all() and info["_final_info"].all()
    assert (info["final_info"]["step"] == 2).all() and (info["step"] == 0).all()
    assert not info["_reward_map"].any() and info["final_info"]["_reward_map"].all()
    expected_p = torch.clamp(before + envs.deltas[1], 0, 1)
    torch.testing.assert_close(info["final_obs"][:, 1], expected_p)
    assert not torch.equal(obs[:, 1], info["final_obs"][:, 1])  # reset p(0)
    _, _, terminated, _, info = envs.step(actions)
    assert not terminated.any() and (info["step"] == 1).all()


def test_disabled_autoreset_raises_then_partial_reset_recovers():
    envs = BatchedInteractiveSegEnv(N, autoreset_mode=gym.vector.AutoresetMode.DISABLED, **SMALL)
    envs.reset(seed=0)
    actions = np.zeros((N, 4, 12, 12), dtype=np.int64)
    for _ in range(SMALL["max_steps"]):
        envs.step(actions)
    with pytest.raises(EnvStateError, match="reset_mask"):
        envs.step(actions)
    _, info = envs.reset(options={"reset_mask": np.array([True, False])})
    assert info["_dice"].tolist() == [True, False]
    with pytest.raises(EnvStateError, match=r"\[1\]"):
        envs.step(actions)
    envs.reset(options={"reset_mask": np.array([False, True])})
    envs.step(actions)


def test_seeds_and_case_index_options():
    envs = BatchedInteractiveSegEnv(N, **SMALL)
    _, info = envs.reset(seed=[5, 5], options={"case_index": [2, 1]})
    assert list(info["case"]) == ["synthetic-2", "synthetic-1"]
    obs_a, _ = envs.reset(seed=[7, 7], options={"case_index": 0})
    obs_a = obs_a.clone()
    obs_b, _ = envs.reset(seed=7, options={"case_index": 0})  # seeds 7 and 8
    assert torch.equal(obs_a[0], obs_a[1]) and torch.equal(obs_a[0], obs_b[0])


def test_copy_false_reuses_one_buffer_copy_true_does_not():
    shared = BatchedInteractiveSegEnv(N, **SMALL)
    first, _ = shared.reset(seed=0)
    second, *_ = shared.step(np.zeros((N, 4, 12, 12), dtype=np.int64))
    assert first.data_ptr() == second.data_ptr()
    fresh = BatchedInteractiveSegEnv(N, copy=True, **SMALL)
    first, _ = fresh.reset(seed=0)
    second, *_ = fresh.step(np.zeros((N, 4, 12, 12), dtype=np.int64))
    assert first.data_ptr() != second.data_ptr()
    assert not torch.equal(first[:, 1], second[:, 1])


def test_set_confidence_feeds_the_confidence_reward():
    envs = BatchedInteractiveSegEnv(N, reward="confidence", **SMALL)
    envs.reset(seed=0)
    actions = torch.full((N, 4, 12, 12), 5, dtype=torch.int64)
    with pytest.raises(ConfigError, match="set_confidence"):
        envs.step(actions)
    envs.reset(seed=0)
    envs.set_confidence(torch.full((N, 4, 12, 12), 0.8))  # weight 0.8 - 0.8 = 0
    _, reward, *_ = envs.step(actions)
    assert torch.equal(reward, torch.zeros(N))


def test_render_rgb_array_gives_one_frame_per_volume():
    envs = BatchedInteractiveSegEnv(N, render_mode="rgb_array", **SMALL)
    assert envs.render() is None
    envs.reset(seed=0)
    frames = envs.render()
    assert len(frames) == N and frames[0].ndim == 3 and frames[0].dtype == np.uint8


def test_actions_on_the_wrong_device_raise():
    envs = BatchedInteractiveSegEnv(N, **SMALL)
    envs.reset(seed=0)
    with pytest.raises(InputTypeError, match=r"actions\.to\(envs\.device\)"):
        envs.step(torch.zeros((N, 4, 12, 12), dtype=torch.int64, device="meta"))


@pytest.mark.parametrize(
    ("actions", "error", "match"),
    [
        (np.zeros((3, 4, 12, 12), dtype=np.int64), ConfigError, "num_envs=2"),
        (np.zeros((4, 12, 12), dtype=np.int64), ConfigError, "num_envs=2"),
        (np.zeros((N, 4, 12, 11), dtype=np.int64), ConfigError, "expected"),
        (np.full((N, 4, 12, 12), 6), ConfigError, r"\[0, 6\)"),
        (np.zeros((N, 4, 12, 12)), InputTypeError, "integer"),
        (torch.zeros((N, 4, 12, 12)), InputTypeError, "integer"),
        (np.int64(3), ConfigError, "num_envs"),
    ],
)
def test_bad_actions_raise_clear_errors(actions, error, match):
    envs = BatchedInteractiveSegEnv(N, **SMALL)
    envs.reset(seed=0)
    with pytest.raises(error, match=match):
        envs.step(actions)


def test_step_before_reset_raises():
    envs = BatchedInteractiveSegEnv(N, **SMALL)
    with pytest.raises(EnvStateError, match="reset"):
        envs.step(np.zeros((N, 4, 12, 12), dtype=np.int64))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_envs": 0}, ConfigError, "num_envs"),
        ({"num_envs": 1.5}, InputTypeError, "num_envs"),
        ({"array_type": "jax"}, ConfigError, "array_type"),
        ({"autoreset_mode": "sometimes"}, ConfigError, "autoreset_mode"),
        ({"render_mode": "human"}, ConfigError, "render_mode"),
        ({"device": "tpu:9"}, ConfigError, "device"),
        ({"reward": "relatve"}, ConfigError, "Did you mean 'relative'"),
    ],
)
def test_bad_configuration_raises(kwargs, error, match):
    kwargs = {"num_envs": N, **SMALL, **kwargs}
    with pytest.raises(error, match=match):
        BatchedInteractiveSegEnv(**kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_without_a_device_raises():
    with pytest.raises(ConfigError, match="cuda"):
        BatchedInteractiveSegEnv(N, device="cuda", **SMALL)


@pytest.mark.parametrize(
    ("seed", "options", "match"),
    [
        ([1, 2, 3], None, "sequence of num_envs=2"),
        (None, {"case_idx": 1}, "unknown reset option"),
        (None, {"case_index": [0]}, "case_index"),
        (None, {"case_index": 9}, r"\[0, 3\)"),
        (None, {"reset_mask": [True, True]}, "reset_mask"),
    ],
)
def test_bad_reset_arguments_raise(seed, options, match):
    envs = BatchedInteractiveSegEnv(N, **SMALL)
    with pytest.raises(ConfigError, match=match):
        envs.reset(seed=seed, options=options)


def test_first_reset_must_reset_everything():
    envs = BatchedInteractiveSegEnv(N, **SMALL)
    with pytest.raises(EnvStateError, match="first reset"):
        envs.reset(options={"reset_mask": np.array([True, False])})


@pytest.mark.parametrize("reward", ["relative", "error_region"])
def test_cpu_rewards_equal_the_reference_env_bit_for_bit(reward):
    batched = BatchedInteractiveSegEnv(N, reward=reward, array_type="numpy", **SMALL)
    sync = gym.make_vec(
        "InteractiveSeg3D-v0", num_envs=N, vectorization_mode="sync", reward=reward, **SMALL
    )
    sync.reset(seed=1)
    batched.reset(seed=1)
    rng = np.random.default_rng(1)
    for _ in range(5):  # across an autoreset
        actions = rng.integers(0, 6, size=sync.action_space.shape)
        _, reward_s, *_, info_s = sync.step(actions)
        _, reward_b, *_, info_b = batched.step(actions)
        np.testing.assert_array_equal(reward_b, reward_s)  # float64, exactly
        for i in np.flatnonzero(info_s.get("_reward_map", np.zeros(N, bool))):
            np.testing.assert_array_equal(info_b["reward_map"][i], info_s["reward_map"][i])


def test_results_do_not_depend_on_the_number_of_threads():
    kwargs = {**SMALL, "shape": (3, 10, 10), "num_cases": 4}
    runs = []
    for num_threads in (1, 3):
        envs = BatchedInteractiveSegEnv(5, num_threads=num_threads, copy=True, **kwargs)
        assert envs.num_threads == num_threads
        outputs = [envs.reset(seed=11)]
        rng = np.random.default_rng(0)
        for _ in range(5):  # across an autoreset
            outputs.append(envs.step(rng.integers(0, 6, size=(5, 3, 10, 10))))
        envs.close()
        runs.append(outputs)
    for one, three in zip(*runs, strict=True):
        torch.testing.assert_close(one[0], three[0], rtol=0, atol=0)
        for key in ("dice", "num_clicks", "step"):
            np.testing.assert_array_equal(one[-1][key], three[-1][key])
        assert list(one[-1]["clicks"]) == list(three[-1]["clicks"])
        if len(one) == 5:
            assert torch.equal(one[1], three[1])


def test_a_step_with_a_bad_action_changes_nothing():
    envs = BatchedInteractiveSegEnv(N, reward="confidence", **SMALL)
    obs, _ = envs.reset(seed=0)
    before, probability = obs.clone(), envs.probability
    envs.set_confidence(torch.full((N, 4, 12, 12), 0.8))  # weight 0.8 - 0.8 = 0
    actions = np.zeros((N, 4, 12, 12), dtype=np.int64)
    actions[1, 0, 0, 0] = 7
    with pytest.raises(ConfigError, match=r"\[0, 7\]"):
        envs.step(actions)
    assert torch.equal(envs.probability, probability) and torch.equal(obs, before)
    _, reward, _, _, info = envs.step(np.zeros_like(actions))  # the confidence is still there
    assert (info["step"] == 1).all() and torch.equal(reward, torch.zeros(N))
