"""The batched env's torch backend (clicks and hints on the device) against the reference env.

Parity on torch CPU here and, with the ``gpu`` marker, on CUDA: observations, clicks, Dice and
terminations exactly, rewards and reward maps to float rounding, the hint channels within
``HINT_ATOL`` (the numba transform rounds its edge costs to 16 bits, the torch one keeps
float32; both converge to the exact distances of their costs).
"""

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import segenv  # noqa: E402
from segenv import hints as hints_module  # noqa: E402
from segenv import interaction  # noqa: E402
from segenv.errors import ConfigError  # noqa: E402
from segenv.views.batched import BatchedInteractiveSegEnv  # noqa: E402

SMALL = {"shape": (4, 12, 12), "num_cases": 3, "max_steps": 2, "initial_clicks": 2}
N = 2
HINT_ATOL = 2e-3  # hint maps in [0, 1]; measured differences are below 7e-4
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def p_channel_confidence(observation, action):
    return observation[..., -3, :, :, :] * 0.5 + 0.25


def run_both(kwargs, steps=5, seed=3, device="cpu", num_envs=N, env_id="InteractiveSeg3D-v0"):
    """Step SyncVectorEnv and the torch backend with the same seeds and actions; compare."""
    sync = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync", **kwargs)
    batched = gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        device=device,
        backend="torch",
        **kwargs,
    )
    modalities = sync.single_observation_space.shape[0] - 3
    compare(sync.reset(seed=seed), batched.reset(seed=seed), modalities, stepped=False)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        actions = rng.integers(
            0, sync.single_action_space.nvec.flat[0], size=sync.action_space.shape
        )
        expected = sync.step(actions)
        got = batched.step(torch.from_numpy(actions).to(device))
        compare(expected, got, modalities, stepped=True)
    return batched


def compare(expected, got, modalities, stepped):
    observation = got[0].cpu().numpy()
    hints = slice(modalities + 1, modalities + 3)
    np.testing.assert_array_equal(
        observation[:, : modalities + 1], expected[0][:, : modalities + 1]
    )
    np.testing.assert_allclose(observation[:, hints], expected[0][:, hints], rtol=0, atol=HINT_ATOL)
    sync_info, batch_info = expected[-1], got[-1]
    n = len(sync_info["dice"])
    for i in range(n):
        assert batch_info["dice"][i] == sync_info["dice"][i]
        assert batch_info["clicks"][i] == sync_info["clicks"][i]
        assert batch_info["num_clicks"][i] == sync_info["num_clicks"][i]
        assert batch_info["step"][i] == sync_info["step"][i]
        assert batch_info["case"][i] == sync_info["case"][i]
    if not stepped:
        return
    np.testing.assert_allclose(got[1].cpu().numpy(), expected[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got[2].cpu().numpy(), expected[2])
    mask = sync_info.get("_reward_map", np.zeros(n, bool))
    np.testing.assert_array_equal(batch_info["_reward_map"], mask)
    for i in np.flatnonzero(mask):
        for key in ("reward_map", "gain_map"):
            np.testing.assert_allclose(
                np.asarray(batch_info[key][i].cpu()), sync_info[key][i], rtol=1e-5, atol=1e-5
            )


def test_backend_defaults_and_choice():
    assert BatchedInteractiveSegEnv(N, **SMALL).backend == "numba"  # the CPU default
    assert BatchedInteractiveSegEnv(N, backend="torch", **SMALL).backend == "torch"
    with pytest.raises(ConfigError, match="backend"):
        BatchedInteractiveSegEnv(N, backend="jax", **SMALL)


def test_segenv_check_passes():
    envs = gym.make_vec(
        "InteractiveSeg3D-v0",
        num_envs=2,
        vectorization_mode="vector_entry_point",
        backend="torch",
        **SMALL,
    )
    report = segenv.check(envs)
    assert report.passed[:2] == ["vector_api", "determinism"] and "reward_sign" in report.passed


def test_matches_sync_vector_env_across_an_autoreset():
    run_both(SMALL, steps=5)


def test_clicks_and_hints_never_run_the_host_kernels(monkeypatch):
    # the step's clicks and geodesic maps come from the device code, not numba
    def forbidden(*args, **kwargs):
        raise AssertionError("a host kernel ran")

    envs = BatchedInteractiveSegEnv(N, backend="torch", **SMALL)
    monkeypatch.setattr(interaction, "_error_regions", forbidden)
    monkeypatch.setattr(hints_module._GeodesicGraph, "transform", forbidden)
    monkeypatch.setattr(hints_module._GeodesicGraph, "__init__", forbidden)
    _, info = envs.reset(seed=0)
    assert (info["num_clicks"] > 0).all()
    for _ in range(3):
        _, _, _, _, info = envs.step(torch.randint(0, 6, (N, 4, 12, 12)))
    assert (info["num_clicks"] > 0).all()


@pytest.mark.parametrize("reward", ["relative", "absolute", "focal", "error_region", "confidence"])
def test_every_reward_design_matches(reward):
    run_both({**SMALL, "reward": reward, "confidence": p_channel_confidence}, steps=2)


@pytest.mark.parametrize("hints", ["geodesic", "euclidean", "gaussian"])
def test_every_hint_encoding_matches(hints):  # euclidean, gaussian: host maps, device clicks
    run_both({**SMALL, "hints": hints}, steps=2)


@pytest.mark.parametrize("user", ["largest_error", "deepest_point", "edge", "random", "none"])
def test_every_user_matches(user):  # the others: host clicks, device hints
    run_both({**SMALL, "user": user}, steps=3)


@pytest.mark.parametrize("connectivity", [6, 18])
def test_user_connectivity_matches(connectivity):
    run_both({**SMALL, "user_kwargs": {"connectivity": connectivity}}, steps=2)


def test_hint_parameters_and_variants_match():
    run_both({**SMALL, "hint_kwargs": {"lam": 1.0, "scale": 2.0}}, steps=2)
    run_both({**SMALL, "state": "binary", "accumulate_hints": False, "actions": "0.1+0.2"}, 3)
    run_both({**SMALL, "initialiser": "constant", "augment": True, "clicks_per_step": 3}, 3)
    run_both({**SMALL, "clicks_per_step": 0, "initial_clicks": 0}, 2)


def test_custom_reward_design_and_2d_env_match():
    run_both({**SMALL, "reward": lambda inputs, scale=2.0: scale * inputs.gain}, steps=2)
    run_both({"shape": (16, 16), "num_cases": 2, "max_steps": 2}, 3, env_id="InteractiveSeg2D-v0")


@pytest.mark.parametrize("mode", ["SameStep", "Disabled"])
def test_other_autoreset_modes_match_the_numba_backend(mode):
    envs = {
        backend: BatchedInteractiveSegEnv(N, backend=backend, autoreset_mode=mode, **SMALL)
        for backend in ("numba", "torch")
    }
    outputs = {backend: [env.reset(seed=0)] for backend, env in envs.items()}
    rng = np.random.default_rng(0)
    for step in range(2 * SMALL["max_steps"] + 1):
        actions = torch.from_numpy(rng.integers(0, 6, size=(N, 4, 12, 12)))
        if mode == "Disabled" and step == SMALL["max_steps"]:
            for backend, env in envs.items():
                outputs[backend].append(env.reset(options={"reset_mask": np.array([True, False])}))
            break
        for backend, env in envs.items():
            outputs[backend].append(env.step(actions))
    for numba, device in zip(outputs["numba"], outputs["torch"], strict=True):
        compare((numba[0].numpy(), *numba[1:]), device, 1, stepped=len(numba) == 5)
        if "final_info" in numba[-1]:
            for i in np.flatnonzero(numba[-1]["_final_info"]):
                assert device[-1]["final_info"]["clicks"][i] == numba[-1]["final_info"]["clicks"][i]
            np.testing.assert_allclose(
                device[-1]["final_obs"], numba[-1]["final_obs"], atol=HINT_ATOL
            )


@pytest.mark.gpu
@CUDA
def test_matches_on_gpu():
    run_both({**SMALL, "reward": "focal"}, steps=5, device="cuda")
    run_both({**SMALL, "user": "edge", "hints": "euclidean"}, steps=2, device="cuda")


@pytest.mark.gpu
@CUDA
def test_cuda_defaults_to_the_torch_backend_and_matches_cpu_torch():
    envs = BatchedInteractiveSegEnv(N, device="cuda", **SMALL)
    assert envs.backend == "torch"
    on_cpu = BatchedInteractiveSegEnv(N, backend="torch", **SMALL)
    obs_gpu, _ = envs.reset(seed=4)
    obs_cpu, _ = on_cpu.reset(seed=4)
    torch.testing.assert_close(obs_gpu.cpu(), obs_cpu, rtol=0, atol=1e-5)
    rng = np.random.default_rng(0)
    for _ in range(4):
        actions = torch.from_numpy(rng.integers(0, 6, size=(N, 4, 12, 12)))
        obs_gpu, reward_gpu, *_, info_gpu = envs.step(actions.cuda())
        obs_cpu, reward_cpu, *_, info_cpu = on_cpu.step(actions)
        torch.testing.assert_close(obs_gpu.cpu(), obs_cpu, rtol=0, atol=1e-5)
        torch.testing.assert_close(reward_gpu.cpu(), reward_cpu, rtol=1e-5, atol=1e-6)
        assert list(info_gpu["clicks"]) == list(info_cpu["clicks"])
