"""Grading fixtures: each step's ``test_*.py`` grades the ``exercise`` (and ``answers``) fixture.

Where the graded files come from, in this order:

* ``SEGENV_COURSE_SUBMISSION=DIR``: a student's submission, ``DIR/<step>/exercise.py`` and
  ``DIR/<step>/answers.py`` (what ``python -m course.grade`` sets for each submission);
* ``SEGENV_COURSE_SOLUTIONS=1``: the reference solutions ``course/solutions/<step>.py`` and
  ``course/solutions/<step>_answers.py`` (the course's own CI, and a teacher's check);
* otherwise the student's own ``exercise.py`` and ``answers.py`` next to the test file.

Every check is worth one point unless it carries ``@pytest.mark.points(n)``; the points are
recorded as the ``points`` property of each test (``--junitxml`` keeps it), which is how
``python -m course.grade`` and ``python -m course.check`` count them.
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
SUBMISSION_ENV = "SEGENV_COURSE_SUBMISSION"


def grading_solutions() -> bool:
    """True when the graders run against the reference solutions."""
    return os.environ.get(SOLUTIONS_ENV, "") == "1"


def load_module(path: Path, name: str) -> ModuleType:
    """Import the Python file ``path`` as module ``name`` (the step folders are no packages)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: nothing to grade")
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def graded_file(step: str, kind: str) -> Path:
    """The file graded for ``step``: ``kind`` is ``"exercise"`` or ``"answers"``."""
    submission = os.environ.get(SUBMISSION_ENV, "")
    if submission:
        return Path(submission) / step / f"{kind}.py"
    if grading_solutions():
        suffix = "" if kind == "exercise" else "_answers"
        path = COURSE / "solutions" / f"{step}{suffix}.py"
        if not (COURSE / "solutions").is_dir():
            raise FileNotFoundError(
                f"{SOLUTIONS_ENV}=1 but this copy of the course has no solutions/ folder"
            )
        return path
    return COURSE / step / f"{kind}.py"


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``points`` marker (the graders run with ``--strict-markers``)."""
    config.addinivalue_line("markers", "points(n): the check is worth n points (default 1)")


def points_of(item: pytest.Item) -> float:
    """The points a check is worth: its ``points`` marker, else 1."""
    marker = item.get_closest_marker("points")
    return float(marker.args[0]) if marker is not None else 1.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Record each check's points as a test property (``--junitxml`` writes it)."""
    for item in items:
        item.user_properties.append(("points", points_of(item)))


@pytest.fixture(scope="module")
def exercise(request: pytest.FixtureRequest) -> ModuleType:
    """The module under test: the step's ``exercise.py``, a submission's, or the solution."""
    step = Path(request.path).parent.name
    return load_module(graded_file(step, "exercise"), f"course_exercise_{step[:2]}")


@pytest.fixture(scope="module")
def answers(request: pytest.FixtureRequest) -> ModuleType:
    """The step's ``answers.py`` (numbers and short answers), a submission's, or the key."""
    step = Path(request.path).parent.name
    return load_module(graded_file(step, "answers"), f"course_answers_{step[:2]}")
