"""Write the student hand-out of the course, without solutions: ``python -m course.release OUT``.

``OUT/course/`` gets, per step, the tutorial (``README.md`` and its ``tutorial.ipynb``), the
exercise, the answer template (where the step has one) and the grader, plus the course's
``README.md``, the grading fixtures and ``python -m course.check``; ``OUT/pytest.ini`` makes
``pytest course/02_reward_design`` find those fixtures from ``OUT``. Left out: ``solutions/``,
the teacher's guide, the grading and release tools. Students work in ``OUT`` (with segenv
installed) and hand in their step folders.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from .grading import COURSE, steps

STEP_FILES = ("README.md", "tutorial.ipynb", "exercise.py", "answers.py")
COURSE_FILES = ("__init__.py", "README.md", "conftest.py", "check.py", "grading.py")
PYTEST_INI = """\
[pytest]
addopts = -ra --strict-markers
testpaths = course
"""


def write_release(out: Path) -> Path:
    """Write the hand-out into ``out`` (which must not exist or be empty); return its course."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; choose a new folder for the hand-out")
    target = out / "course"
    target.mkdir(parents=True)
    for name in COURSE_FILES:
        shutil.copy2(COURSE / name, target / name)
    for step in steps():
        (target / step).mkdir()
        for name in STEP_FILES:
            if (COURSE / step / name).exists():
                shutil.copy2(COURSE / step / name, target / step / name)
        for grader in (COURSE / step).glob("test_*.py"):
            shutil.copy2(grader, target / step / grader.name)
        for picture in (COURSE / step).glob("*.png"):
            shutil.copy2(picture, target / step / picture.name)
    (out / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course.release OUT``."""
    parser = argparse.ArgumentParser(prog="python -m course.release", description=__doc__)
    parser.add_argument("out", type=Path, help="a new folder for the hand-out")
    namespace = parser.parse_args(argv)
    target = write_release(namespace.out)
    print(f"wrote the hand-out to {target} (no solutions); students run, from {namespace.out}:")
    print("  python -m course.check 1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
