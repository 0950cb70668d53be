"""The env layer imports no torch: an episode of each face but the batched one runs without it."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys

    attempts = []


    class BlockTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                attempts.append(name)
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
            return None


    sys.meta_path.insert(0, BlockTorch())

    import gymnasium as gym

    import segenv
    import segenv.envs
    import segenv.views
    from segenv import marl
    from segenv.errors import ConfigError

    env = gym.make("InteractiveSeg3D-v0", shape=(4, 12, 12), num_cases=2, initial_clicks=2)
    env.reset(seed=0)
    done = False
    while not done:
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        done = terminated or truncated
    assert info["step"] == 5 and info["num_clicks"] > 0

    agents = marl.parallel_env(shape=(2, 8, 8), num_cases=2, patch_size=3)
    agents.reset(seed=0)
    actions = {agent: agents.action_space(agent).sample() for agent in agents.agents}
    _, rewards, *_ = agents.step(actions)
    assert len(rewards) == 2 * 8 * 8

    try:
        gym.make_vec("InteractiveSeg2D-v0", num_envs=2, num_cases=2)
    except ConfigError as error:
        assert "needs torch" in str(error)
    else:
        raise AssertionError("the batched env was built without torch")

    assert attempts == ["torch"], attempts  # only the batched env asked for it
    assert "torch" not in sys.modules
    print("ok")
    """
)


def test_reference_env_and_pettingzoo_view_run_without_torch():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
