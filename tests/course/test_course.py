"""The course stays runnable: graders pass on the solutions, fail on the stubs, tutorials run.

Each step of ``course/`` has a tutorial (``README.md``), a student file (``exercise.py``), a
grader (``test_*.py``; not collected by the default test run, ``testpaths = ["tests"]``) and a
reference solution (``course/solutions/<step>.py``). This module runs all graders in one
subprocess against the solutions (every check must pass) and in another against the untouched
stubs (every check must fail, so the checks can fail), and executes each tutorial's
```` ```python ```` blocks in order in a fresh subprocess, with the small sizes their
``# CI: value`` comments give (```` ```py ```` blocks, which use the student's exercise, are
not run).
"""

import ast
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COURSE = ROOT / "course"
STEPS = sorted(path.name for path in COURSE.iterdir() if re.fullmatch(r"\d\d_\w+", path.name))
CI_VALUE = re.compile(r"^(?P<lhs>\s*[A-Za-z_][\w.]*\s*=\s*)(?P<value>.+?)\s+# CI: (?P<ci>.+)$")
SUITE_MISSING = "step 5 needs segenv_agents.suites (the benchmark runner)"
# steps that train A3C in their tutorial (tens of seconds at CI size): marked slow
TRAINING_STEPS = ("04_train_a3c", "05_compare_rewards")
TUTORIALS = [
    pytest.param(step, marks=pytest.mark.slow) if step in TRAINING_STEPS else step for step in STEPS
]


def suite_available():
    try:
        import segenv_agents.suites  # noqa: F401
    except ImportError:
        return False
    return True


def step_needs(step):
    """Skip a step whose library part is not there yet (step 5 needs ``segenv_agents.suites``)."""
    if step.startswith("05") and not suite_available():
        pytest.skip(SUITE_MISSING)


def run(command, cwd, solutions, timeout=600):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("SEGENV_COURSE_SOLUTIONS", None)
    if solutions:
        env["SEGENV_COURSE_SOLUTIONS"] = "1"
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def grade_all(tmp_path_factory, solutions):
    """Run every step's grader once; return ``{step: {test: outcome}}`` and the output."""
    report = tmp_path_factory.mktemp("grades") / "junit.xml"
    steps = [f"course/{step}" for step in STEPS if not step.startswith("05") or suite_available()]
    command = [sys.executable, "-m", "pytest", *steps, "-q", "-p", "no:cacheprovider"]
    result = run([*command, f"--junitxml={report}"], ROOT, solutions)
    output = result.stdout[-4000:] + result.stderr[-2000:]
    assert report.exists(), f"the graders did not run:\n{output}"
    outcomes = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")  # course.<step>.test_x
        step = parts[1] if len(parts) > 2 else "(collection)"
        failed = case.find("failure") is not None or case.find("error") is not None
        outcome = (
            "skipped" if case.find("skipped") is not None else "failed" if failed else "passed"
        )
        outcomes.setdefault(step, {})[case.get("name")] = outcome
    return outcomes, output


@pytest.fixture(scope="module")
def solution_grades(tmp_path_factory):
    return grade_all(tmp_path_factory, solutions=True)


@pytest.fixture(scope="module")
def stub_grades(tmp_path_factory):
    return grade_all(tmp_path_factory, solutions=False)


def python_blocks(markdown):
    return re.findall(r"^```python\n(.*?)^```", markdown, re.S | re.M)


def ci_sized(code):
    """Replace ``NAME = value  # CI: small`` by ``NAME = small``."""
    lines = []
    for line in code.splitlines():
        match = CI_VALUE.match(line)
        lines.append(f"{match['lhs']}{match['ci']}" if match else line)
    return "\n".join(lines)


def test_every_step_is_complete():
    assert len(STEPS) == 5
    for step in STEPS:
        folder = COURSE / step
        assert (folder / "README.md").is_file(), step
        assert (folder / "exercise.py").is_file(), step
        assert len(list(folder.glob("test_*.py"))) == 1, step
        assert (COURSE / "solutions" / f"{step}.py").is_file(), step
        assert python_blocks((folder / "README.md").read_text()), f"{step} has no code"


def public_functions(path):
    tree = ast.parse(path.read_text())
    return {
        node.name: ast.unparse(node.args)
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }


@pytest.mark.parametrize("step", STEPS)
def test_stub_and_solution_define_the_same_functions(step):
    stub = public_functions(COURSE / step / "exercise.py")
    solution = public_functions(COURSE / "solutions" / f"{step}.py")
    assert stub == solution


def test_ci_sizes_are_substituted():
    code = "UPDATES = 300  # CI: 2\nx = 1  # a comment\n    EPISODES=20 # CI: 1"
    assert ci_sized(code) == "UPDATES = 2\nx = 1  # a comment\n    EPISODES=1"


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
def test_grader_passes_on_the_reference_solution(step, solution_grades):
    step_needs(step)
    outcomes, output = solution_grades
    assert outcomes.get(step), f"no checks of {step} ran:\n{output}"
    failed = [name for name, outcome in outcomes[step].items() if outcome != "passed"]
    assert not failed, f"{step}: {failed} did not pass on the solution:\n{output}"


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
def test_grader_fails_every_check_on_the_untouched_stub(step, stub_grades):
    step_needs(step)
    outcomes, output = stub_grades
    assert outcomes.get(step), f"no checks of {step} ran:\n{output}"
    passed = [name for name, outcome in outcomes[step].items() if outcome != "failed"]
    assert not passed, f"{step}: {passed} did not fail on the untouched stub"


@pytest.mark.parametrize("step", TUTORIALS)
def test_tutorial_runs(step, tmp_path):
    step_needs(step)
    blocks = python_blocks((COURSE / step / "README.md").read_text())
    script = tmp_path / "tutorial.py"
    script.write_text("\n\n".join(ci_sized(block) for block in blocks))
    result = run([sys.executable, str(script)], tmp_path, solutions=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
