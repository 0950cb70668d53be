import inspect

import numpy as np
import pytest

from segenv import marl
from segenv.envs.config import EnvConfig
from segenv.envs.interactive_seg import InteractiveSegEnv
from segenv.errors import ConfigError, InputTypeError
from segenv.rewards import REWARDS, RewardTraits, declare_reward, reward_traits
from segenv.validation import check_choice, check_count, check_number

SMALL = (4, 12, 12)


def test_env_keywords_and_defaults_are_the_configs():
    env_parameters = inspect.signature(InteractiveSegEnv.__init__).parameters
    config_parameters = inspect.signature(EnvConfig.from_kwargs).parameters
    assert [p for p in env_parameters if p != "self"] == list(config_parameters)
    for name, parameter in config_parameters.items():
        assert env_parameters[name].default == parameter.default, name
        assert env_parameters[name].kind == parameter.kind, name


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"max_steps": 0}, ConfigError, r"max_steps= must be >= 1, got 0"),
        ({"click_noise": 1.5}, InputTypeError, r"click_noise= must be an int, got 1.5"),
        ({"eps": 0.0}, ConfigError, r"eps= must be in \(0.0, 0.5\]"),
        ({"state": "soft"}, ConfigError, r"state='soft' is unknown"),
        ({"reward": "relativ"}, ConfigError, "Did you mean 'relative'"),
    ],
)
def test_config_validates_without_an_env_as_the_env_does(kwargs, error, match):
    with pytest.raises(error, match=match):
        EnvConfig.from_kwargs(SMALL, num_cases=2, **kwargs)
    with pytest.raises(error, match=match):
        InteractiveSegEnv(SMALL, num_cases=2, **kwargs)


def test_every_face_is_built_from_one_config_and_exposes_its_settings():
    config = EnvConfig.from_kwargs((12, 12), num_cases=2, max_steps=3, reward="focal")
    assert config.is_2d and config.volume_shape == (1, 12, 12) and config.view_shape == (12, 12)
    env = InteractiveSegEnv.from_config(config)
    assert EnvConfig.from_env(env) is config and env.rules is config
    assert env.max_steps == 3 and env.reward_design is REWARDS.get("focal")
    assert env.observation_space.shape == (4, 12, 12) and env.action_space.shape == (12, 12)
    obs, _ = env.reset(seed=0)
    twin = InteractiveSegEnv((12, 12), num_cases=2, max_steps=3, reward="focal")
    np.testing.assert_array_equal(obs, twin.reset(seed=0)[0])
    view = marl.parallel_env(shape=(12, 12), num_cases=2)
    assert view.env.config is view.config and view.view_shape == (12, 12)


@declare_reward(RewardTraits(needs_confidence=True))
def confident_gain(inputs):
    return inputs.confidence * inputs.gain


def test_reward_designs_declare_what_the_envs_need():
    assert reward_traits("relative") == RewardTraits(is_gain=True, torch_twin="relative")
    assert reward_traits("confidence").needs_confidence
    assert reward_traits(lambda inputs: inputs.gain) == RewardTraits()
    assert EnvConfig.from_kwargs(SMALL, num_cases=1, reward=confident_gain).reward_traits == (
        RewardTraits(needs_confidence=True)
    )


def test_the_batched_env_asks_a_users_design_what_it_needs():
    pytest.importorskip("torch")
    from segenv.envs.batched import BatchedInteractiveSegEnv

    envs = BatchedInteractiveSegEnv(2, shape=SMALL, num_cases=2, reward=confident_gain)
    envs.reset(seed=0)
    with pytest.raises(ConfigError, match="'confident_gain' needs the learner's action-conf"):
        envs.step(np.zeros((2, *SMALL), dtype=np.int64))
    envs.set_confidence(np.full((2, *SMALL), 0.5))
    rewards = envs.step(np.zeros((2, *SMALL), dtype=np.int64))[1]
    assert rewards.shape == (2,)


def test_validation_helpers_name_the_value_and_the_range():
    assert check_count("n", np.int64(3), minimum=1) == 3
    with pytest.raises(InputTypeError, match="n must be an int, got True"):
        check_count("n", True)
    assert check_number("x", 1, low=0.0, high=1.0) == 1.0
    with pytest.raises(ConfigError, match=r"x must be in \[0.0, 1.0\], got 2"):
        check_number("x", 2, low=0.0, high=1.0)
    assert check_choice("mode", "a", ("a", "b")) == "a"
    with pytest.raises(ConfigError, match=r"mode='c' is unknown; use one of \('a', 'b'\)"):
        check_choice("mode", "c", ("a", "b"))
