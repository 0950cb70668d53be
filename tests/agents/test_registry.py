import dataclasses
import types

import pytest

from segenv.errors import ConfigError, InputTypeError
from segenv_agents import registry
from segenv_agents.common.config import RunArgs


@pytest.mark.parametrize("name", sorted(registry.LEARNERS))
def test_every_registered_learner_keeps_the_contract(name):
    learner = registry.load(name)
    assert isinstance(learner, registry.Learner)
    assert issubclass(learner.Args, RunArgs)
    args = registry.preset(name, "quick")
    for field, value in registry.spec(name).fixed:
        assert getattr(args, field) == value
    assert registry.spec(name).module_name == learner.__name__


def test_unknown_names_and_presets_say_what_exists():
    with pytest.raises(ConfigError, match="did you mean 'mecca'"):
        registry.spec("meca")
    with pytest.raises(ConfigError, match="no 'fast' preset"):
        registry.preset("a3c", "fast")


def test_a_module_that_breaks_the_contract_is_named():
    @dataclasses.dataclass
    class Args:
        lr: float = 1.0

    module = types.ModuleType("fake_learner")
    module.Args = Args
    module.CONFIGS = {"quick": Args()}
    entry = registry.LearnerSpec(".fake", "a fake", (("algo", "x"),))
    with pytest.raises(InputTypeError, match=r"no train.*no load_policy.*not a dataclass"):
        registry.check_learner(module, entry)


def test_missing_learners_stack_gives_the_install_line():
    hint = registry.missing_extra(ModuleNotFoundError("No module named 'torch'", name="torch"))
    assert hint is not None and "pip install 'segenv[learners]'" in hint
    assert registry.missing_extra(ModuleNotFoundError("x", name="no_such_module")) is None
