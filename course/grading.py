"""Run the course's graders and read back one result per check, with its points and hint.

The graders are the steps' ``test_*.py`` files; :func:`run_checks` runs them with pytest in a
subprocess (so a student's crash, infinite loop or registry change cannot touch the caller)
and reads pytest's JUnit XML: the outcome of every check, the points the course's conftest
records for it, and the first line of its failure as the hint. ``python -m course.check``
prints those lines for a student; ``python -m course.grade`` writes them as a gradebook.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

COURSE = Path(__file__).resolve().parent
STEP_PATTERN = re.compile(r"\d\d_\w+")
HINT_WIDTH = 160


def steps() -> list[str]:
    """The step folders, in order (``01_meet_the_env``, ...)."""
    return sorted(path.name for path in COURSE.iterdir() if STEP_PATTERN.fullmatch(path.name))


def resolve_step(name: str | int) -> str:
    """A step folder from its number (``2``, ``"02"``) or name (``"02_reward_design"``)."""
    text = str(name).strip().rstrip("/").split("/")[-1]
    for step in steps():
        if text == step or (text.isdigit() and int(text) == int(step[:2])):
            return step
    raise ValueError(f"no course step {name!r}; the steps are {', '.join(steps())}")


@dataclass(frozen=True)
class Check:
    """One grader check's result."""

    step: str
    name: str
    outcome: str
    """``passed``, ``failed`` or ``skipped``"""
    points: float
    """points earned: ``max_points`` if passed, else 0"""
    max_points: float
    hint: str
    """the first line of the failure (empty when passed)"""


def one_line(text: str) -> str:
    """The first informative line of a failure message, shortened to :data:`HINT_WIDTH`."""
    text = re.sub(r'^failed on setup with "(.*)"$', r"\1", text.strip(), flags=re.S)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    line = lines[0] if lines else "failed"
    return line if len(line) <= HINT_WIDTH else line[: HINT_WIDTH - 1] + "…"


def read_junit(path: Path) -> list[Check]:
    """The checks of a pytest ``--junitxml`` report written with the course's conftest."""
    checks = []
    for case in ET.parse(path).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")  # course.<step>.test_x
        step = next((part for part in parts if STEP_PATTERN.fullmatch(part)), "(collection)")
        points = 1.0
        for prop in case.iter("property"):
            if prop.get("name") == "points":
                points = float(prop.get("value", "1"))
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if case.find("skipped") is not None:
            outcome, hint = "skipped", one_line(case.find("skipped").get("message", ""))  # type: ignore[union-attr]
        elif problem is not None:
            outcome, hint = "failed", one_line(problem.get("message", "") or problem.text or "")
        else:
            outcome, hint = "passed", ""
        earned = points if outcome == "passed" else 0.0
        checks.append(Check(step, case.get("name", "?"), outcome, earned, points, hint))
    return checks


def run_checks(
    step_names: Iterable[str],
    *,
    submission: Path | None = None,
    solutions: bool = False,
    timeout: float = 1800,
    cwd: Path | None = None,
) -> tuple[list[Check], str]:
    """Run the graders of ``step_names``; return every check and pytest's output.

    Args:
        step_names: Step folders (:func:`resolve_step` gives them).
        submission: Grade the files of this folder (``<step>/exercise.py``, ``answers.py``)
            instead of the course's own.
        solutions: Grade the reference solutions (needs ``course/solutions/``).
        timeout: Seconds before the run is stopped; its checks then count as failed.
        cwd: Where pytest runs (default: the folder that holds ``course/``).
    """
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("SEGENV_COURSE_SOLUTIONS", None)
    env.pop("SEGENV_COURSE_SUBMISSION", None)
    if solutions:
        env["SEGENV_COURSE_SOLUTIONS"] = "1"
    if submission is not None:
        env["SEGENV_COURSE_SUBMISSION"] = str(Path(submission).resolve())
    folders = [str(COURSE / step) for step in step_names]
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "junit.xml"
        command = [sys.executable, "-m", "pytest", *folders, "-q", "--tb=line"]
        command += ["-p", "no:cacheprovider", f"--junitxml={report}", "-o", "junit_family=xunit1"]
        try:
            result = subprocess.run(
                command,
                cwd=cwd or COURSE.parent,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            output = result.stdout + result.stderr
        except subprocess.TimeoutExpired as error:
            output = f"stopped after {timeout:.0f} s: {error}"
        if not report.exists():
            return [Check("(run)", "pytest", "failed", 0.0, 0.0, one_line(output[-400:]))], output
        return read_junit(report), output


def summary_line(step: str, checks: Sequence[Check]) -> str:
    """``step 02_reward_design: 5/7 checks, 5/9 points``."""
    mine = [check for check in checks if check.step == step]
    passed = sum(check.outcome == "passed" for check in mine)
    earned = sum(check.points for check in mine)
    total = sum(check.max_points for check in mine)
    return f"{step}: {passed}/{len(mine)} checks pass, {earned:g}/{total:g} points"
