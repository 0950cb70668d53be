import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test
from pettingzoo.utils.conversions import parallel_to_aec_wrapper

from segenv import marl
from segenv.data.case import make_case
from segenv.errors import ConfigError, EnvStateError, InputTypeError
from segenv.views.marl import VoxelAgentsParallelEnv

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # PettingZoo's style hints

UP = 5  # index of +0.4 in the paper's action set


def tiny_cases(depth=2, size=4):
    image = np.random.default_rng(0).normal(size=(depth, size, size)).astype(np.float32)
    label = np.zeros((depth, size, size), dtype=bool)
    label[:, 1:3, 1:3] = True
    return [make_case(image, label, name="tiny")]


def tiny_env(**kwargs):
    kwargs.setdefault("dataset", tiny_cases())
    kwargs.setdefault("max_steps", 2)
    return marl.parallel_env(**kwargs)


@pytest.mark.parametrize("patch_size", [1, 3])
def test_pettingzoo_parallel_api_and_seed_tests_pass(patch_size):
    parallel_api_test(tiny_env(patch_size=patch_size), num_cycles=5)
    parallel_seed_test(lambda: tiny_env(patch_size=patch_size), num_cycles=5)


def test_pettingzoo_aec_api_test_passes():
    env = marl.env(dataset=tiny_cases(1), max_steps=2)
    api_test(env, num_cycles=3)
    assert isinstance(marl.raw_env(dataset=tiny_cases(1)), parallel_to_aec_wrapper)


def test_agents_are_named_by_voxel_and_see_their_own_values():
    env = tiny_env()
    observations, infos = env.reset(seed=0)
    assert env.possible_agents[:2] == ["voxel_0_0_0", "voxel_0_0_1"]
    assert len(env.agents) == 32 and env.agents[-1] == "voxel_1_3_3"
    state = env.state()
    assert state.shape == (4, 2, 4, 4)
    np.testing.assert_array_equal(observations["voxel_1_2_3"], state[:, 1, 2, 3])
    assert env.observation_space("voxel_1_2_3").shape == (4,)
    assert infos["voxel_0_0_0"] == {} and env.info["step"] == 0


def test_patch_observation_is_the_zero_padded_neighbourhood():
    env = tiny_env(patch_size=3)
    observations, _ = env.reset(seed=0)
    state = env.state()
    centre = observations["voxel_1_2_2"]
    assert centre.shape == (4, 3, 3, 3)
    np.testing.assert_array_equal(centre[:, 1, 1, 1], state[:, 1, 2, 2])
    np.testing.assert_array_equal(centre[:, 0], state[:, 0, 1:4, 1:4])
    np.testing.assert_array_equal(centre[:, 2], 0.0)  # beyond the last slice
    corner = observations["voxel_0_0_0"]
    np.testing.assert_array_equal(corner[:, 1:, 1:, 1:], state[:, :2, :2, :2])
    np.testing.assert_array_equal(corner[:, 0], 0.0)
    assert env.observation_space("voxel_0_0_0").contains(corner)


def test_each_agent_gets_its_own_voxel_reward_worked_example():
    env = tiny_env(initialiser="constant")  # p(0) = 0.5 everywhere
    env.reset(seed=0)
    actions = dict.fromkeys(env.agents, UP)  # every voxel: 0.5 → 0.9
    _, rewards, terminations, truncations, _ = env.step(actions)
    assert rewards["voxel_0_1_1"] == pytest.approx(0.5878, abs=1e-4)  # foreground
    assert rewards["voxel_0_0_0"] == pytest.approx(-1.6094, abs=1e-4)  # background
    assert not any(terminations.values()) and not any(truncations.values())
    assert isinstance(rewards["voxel_0_0_0"], float)


def test_array_path_equals_the_dict_path():
    dict_env, array_env = tiny_env(patch_size=3), tiny_env(patch_size=3)
    observations, _ = dict_env.reset(seed=1)
    patches, info = array_env.reset_array(seed=1)
    assert patches.shape == (2, 4, 4, 4, 3, 3, 3)
    np.testing.assert_array_equal(patches[1, 2, 3], observations["voxel_1_2_3"])
    joint = np.random.default_rng(0).integers(0, 6, size=(2, 4, 4))
    actions = {f"voxel_{z}_{y}_{x}": joint[z, y, x] for z, y, x in np.ndindex(2, 4, 4)}
    observations, rewards, *_ = dict_env.step(actions)
    patches, reward_map, terminated, _truncated, info = array_env.step_array(joint.ravel())
    np.testing.assert_array_equal(patches[0, 3, 1], observations["voxel_0_3_1"])
    assert reward_map[0, 3, 1] == pytest.approx(rewards["voxel_0_3_1"])
    assert reward_map.shape == (2, 4, 4) and terminated is False and info["step"] == 1


def test_episode_end_removes_every_agent_and_stepping_then_raises():
    env = tiny_env()
    env.reset(seed=0)
    for _ in range(2):
        actions = {agent: 0 for agent in reversed(env.agents)}  # any key order works
        _, _, terminations, _, _ = env.step(actions)
    assert all(terminations.values()) and env.agents == []
    with pytest.raises(EnvStateError, match="reset"):
        env.step({})
    with pytest.raises(EnvStateError, match="reset"):
        env.step_array(np.zeros((2, 4, 4), dtype=np.int64))


def test_2d_env_agents_have_z_0_and_2d_patches():
    env = marl.parallel_env(shape=(8, 8), num_cases=2, patch_size=3)
    observations, _ = env.reset(seed=0)
    assert env.possible_agents[-1] == "voxel_0_7_7"
    assert observations["voxel_0_0_0"].shape == (4, 3, 3)
    patches, *_ = env.step_array(np.zeros((8, 8), dtype=np.int64))
    assert patches.shape == (8, 8, 4, 3, 3)


def test_bad_agents_and_actions_raise_clear_errors():
    env = tiny_env()
    env.reset(seed=0)
    with pytest.raises(ConfigError, match="unknown agent 'voxel_9_9_9'"):
        env.observation_space("voxel_9_9_9")
    with pytest.raises(ConfigError, match="unknown agent"):
        env.action_space("player_0")
    actions = dict.fromkeys(env.agents, 0)
    with pytest.raises(ConfigError, match=r"not live.*voxel_5_0_0"):
        env.step({**actions, "voxel_5_0_0": 0})
    del actions["voxel_1_1_1"]
    with pytest.raises(ConfigError, match=r"no action for.*voxel_1_1_1"):
        env.step(actions)
    with pytest.raises(ConfigError, match=r"unknown agent id.*voxel_7_7_7"):
        env.step({**actions, "voxel_7_7_7": 0})
    with pytest.raises(ConfigError, match=r"\[0, 6\)"):
        env.step(dict.fromkeys(env.agents, 6))
    with pytest.raises(InputTypeError, match="integer"):
        env.step(dict.fromkeys(env.agents, 0.5))
    with pytest.raises(InputTypeError, match="dict"):
        env.step([0] * 32)


@pytest.mark.parametrize(
    ("patch_size", "error"), [(2, ConfigError), (0, ConfigError), ("3", InputTypeError)]
)
def test_bad_patch_size_raises(patch_size, error):
    with pytest.raises(error, match="patch_size"):
        VoxelAgentsParallelEnv(patch_size=patch_size, dataset=tiny_cases())


def test_unknown_reset_options_warn_and_case_index_is_used():
    env = marl.parallel_env(shape=(1, 8, 8), num_cases=3)
    with pytest.warns(UserWarning, match="unknown reset option"):
        env.reset(seed=0, options={"case_index": 2, "options": 1})
    assert env.info["case"] == "synthetic-2"
