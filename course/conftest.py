"""Grading fixtures: each step's ``test_*.py`` grades the ``exercise`` fixture.

By default the fixture is the student's ``exercise.py`` next to the test file. With
``SEGENV_COURSE_SOLUTIONS=1`` it is the reference solution ``course/solutions/<step>.py``
instead (the course's own CI checks every grader against the solutions that way).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

COURSE = Path(__file__).resolve().parent
SOLUTIONS_ENV = "SEGENV_COURSE_SOLUTIONS"


def grading_solutions() -> bool:
    """True when the graders run against the reference solutions."""
    return os.environ.get(SOLUTIONS_ENV, "") == "1"


def load_module(path: Path, name: str) -> ModuleType:
    """Import the Python file ``path`` as module ``name`` (the step folders are no packages)."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exercise(request: pytest.FixtureRequest) -> ModuleType:
    """The module under test: the step's ``exercise.py``, or its reference solution."""
    step = Path(request.path).parent.name
    if grading_solutions():
        return load_module(COURSE / "solutions" / f"{step}.py", f"course_solution_{step[:2]}")
    return load_module(COURSE / step / "exercise.py", f"course_exercise_{step[:2]}")
