"""The README's promises: its two commands exist and CI runs the test command."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def readme_commands():
    block = re.search(r"## Set-up and the two commands.*?```bash\n(.*?)```", README, re.S)
    assert block, "README lost its set-up section"
    return [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_readme_has_two_commands_that_exist():
    commands = readme_commands()
    assert len(commands) == 2
    for command in commands:
        script = command.split()[1]
        assert (ROOT / script).is_file(), f"README names {script}, which does not exist"


def test_ci_runs_the_readme_test_command():
    test_command = readme_commands()[1]
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_readme_argument_table_covers_every_env_keyword():
    import inspect

    from segenv.envs.interactive_seg import InteractiveSegEnv

    for name in inspect.signature(InteractiveSegEnv.__init__).parameters:
        if name != "self":
            assert f"`{name}`" in README, f"README's argument table misses `{name}`"


@pytest.mark.slow
def test_main_job_commands_run_small(tmp_path):
    main_script = (ROOT / readme_commands()[0].split()[1]).read_text()
    commands = [line for line in main_script.splitlines() if not line.startswith("#")]
    train_line = next(line for line in commands if "segenv train" in line)
    assert "segenv train a3c --config quick3d" in train_line
    assert "segenv evaluate" in main_script
    segenv = [sys.executable, "-m", "segenv_agents.cli"]
    out = str(tmp_path / "run")
    train = [*segenv, "train", "a3c", "--config", "quick3d", "--out", out, "--total-updates", "2"]
    result = subprocess.run(
        [*train, "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    evaluate = [*segenv, "evaluate", out, "--episodes", "2", "--no-baselines"]
    result = subprocess.run(evaluate, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Dice" in result.stdout
