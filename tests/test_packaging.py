"""The distribution: agents/ installs as segenv_agents, and every package folder is listed."""

import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_in_the_distribution():
    folders = {"segenv": "segenv", **SETUPTOOLS["package-dir"]}
    found = set()
    for name, folder in folders.items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            parts = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((name, *parts)))
    assert set(SETUPTOOLS["packages"]) == found, "update [tool.setuptools] packages"


def test_learners_import_as_segenv_agents_and_no_top_level_agents(tmp_path):
    def imports(module):
        command = [sys.executable, "-c", f"import {module}"]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True).returncode

    assert imports("segenv_agents.cli") == 0
    assert imports("agents") != 0


def test_the_learners_extra_pins_torchrl_and_installs_every_module_the_hint_names():
    from segenv_agents.registry import LEARNERS_EXTRA

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    learners = project["optional-dependencies"]["learners"]
    assert "torchrl==0.14.1" in learners and "tensordict==0.14.3" in learners
    names = {requirement.split("=")[0].split(">")[0].replace("-", "_") for requirement in learners}
    assert set(LEARNERS_EXTRA) == names
    assert not any(name in project["dependencies"] for name in ("torch", "torchrl"))
