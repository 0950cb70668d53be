"""The course stays runnable and gradable: graders, hand-out, gradebook, notebooks.

Each step of ``course/`` has a tutorial (``README.md``, and ``tutorial.ipynb`` generated from it
with jupytext), a student file (``exercise.py``), maybe an answer template (``answers.py``), a
grader (``test_*.py``; not collected by the default test run, ``testpaths = ["tests"]``) and a
reference solution (``course/solutions/<step>.py``, ``<step>_answers.py``). This module:

* grades a folder of three submissions — the reference solution, the untouched starter files
  and a half-done one — with ``python -m course.grade`` and checks the gradebook: full, zero
  and partial points, every check passing on the solution;
* writes the student hand-out with ``python -m course.release`` and checks that it holds no
  solution code and that on it ``python -m course.check`` fails every check with a one-line
  hint;
* executes every step's notebook top to bottom with nbclient, at the small sizes its
  ``# CI: value`` comments give, and checks that the committed notebooks match their READMEs.
"""

import ast
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the course's tools: course.grading, course.notebooks, ...

from course import grading, notebooks, release  # noqa: E402

COURSE = ROOT / "course"
STEPS = grading.steps()
# steps that train A3C in their tutorial (tens of seconds at CI size): marked slow
TRAINING_STEPS = ("04_train_a3c", "06_compare_rewards")
TUTORIALS = [
    pytest.param(step, marks=pytest.mark.slow) if step in TRAINING_STEPS else step for step in STEPS
]


def has_answers(step):
    return (COURSE / step / "answers.py").exists()


def test_every_step_is_complete():
    assert len(STEPS) == 6
    for step in STEPS:
        folder = COURSE / step
        assert (folder / "README.md").is_file(), step
        assert (folder / "exercise.py").is_file(), step
        assert len(list(folder.glob("test_*.py"))) == 1, step
        assert (COURSE / "solutions" / f"{step}.py").is_file(), step
        key = COURSE / "solutions" / f"{step}_answers.py"
        assert key.is_file() == has_answers(step), f"{step}: answers.py and its key go together"
        assert notebooks.notebook_of(step).cells, f"{step} has no tutorial"


def public_functions(path):
    tree = ast.parse(path.read_text())
    return {
        node.name: ast.unparse(node.args)
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
    }


def assigned_names(path):
    tree = ast.parse(path.read_text())
    return {target.id for node in tree.body if isinstance(node, ast.Assign)
            for target in node.targets if isinstance(target, ast.Name)}  # fmt: skip


@pytest.mark.parametrize("step", STEPS)
def test_stub_and_solution_define_the_same_functions_and_answers(step):
    stub = public_functions(COURSE / step / "exercise.py")
    solution = public_functions(COURSE / "solutions" / f"{step}.py")
    assert stub == solution
    if has_answers(step):
        key = assigned_names(COURSE / "solutions" / f"{step}_answers.py")
        assert assigned_names(COURSE / step / "answers.py") == key


def test_ci_sizes_are_substituted():
    code = "UPDATES = 300  # CI: 2\nx = 1  # a comment\n    EPISODES=20 # CI: 1"
    assert notebooks.ci_sized(code) == "UPDATES = 2\nx = 1  # a comment\n    EPISODES=1"


def test_steps_resolve_by_number_and_name():
    assert grading.resolve_step(2) == grading.resolve_step("02_reward_design") == STEPS[1]
    with pytest.raises(ValueError, match="no course step"):
        grading.resolve_step(9)


# --- the gradebook over a folder of submissions --------------------------------------------


def submit(folder, step, exercise, answers=None):
    (folder / step).mkdir(parents=True, exist_ok=True)
    shutil.copy(exercise, folder / step / "exercise.py")
    if answers is not None:
        shutil.copy(answers, folder / step / "answers.py")


def solution_files(step):
    key = COURSE / "solutions" / f"{step}_answers.py"
    return COURSE / "solutions" / f"{step}.py", key if key.exists() else None


def starter_files(step):
    return COURSE / step / "exercise.py", COURSE / step / "answers.py" if has_answers(
        step
    ) else None


@pytest.fixture(scope="module")
def gradebook(tmp_path_factory):
    """Grade three submissions: the solution, the untouched starter files, a half-done one."""
    submissions = tmp_path_factory.mktemp("submissions")
    for step in STEPS:
        submit(submissions / "full", step, *solution_files(step))
        submit(submissions / "starter", step, *starter_files(step))
        # half done: steps 1-2 solved; step 3's code solved but its answers not; the rest not
        if step < "03":
            submit(submissions / "half", step, *solution_files(step))
        elif step.startswith("03"):
            submit(submissions / "half", step, solution_files(step)[0], starter_files(step)[1])
        else:
            submit(submissions / "half", step, *starter_files(step))
    evidence = COURSE / "solutions" / "06_compare_rewards_reward_designs.csv"
    shutil.copy(evidence, submissions / "full" / "06_compare_rewards" / evidence.name)
    out = tmp_path_factory.mktemp("grades")
    command = [sys.executable, "-m", "course.grade", str(submissions), "--out", str(out)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800,
                            env={**os.environ, "MPLBACKEND": "Agg"})  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with (out / "gradebook.csv").open(newline="") as handle:
        book = {row["submission"]: row for row in csv.DictReader(handle)}
    with (out / "checks.csv").open(newline="") as handle:
        checks = list(csv.DictReader(handle))
    return book, checks


@pytest.mark.slow
def test_gradebook_gives_full_zero_and_partial_points(gradebook):
    book, _ = gradebook
    assert sorted(book) == ["full", "half", "starter"]
    maximum = float(book["full"]["max"])
    assert maximum > 0
    assert float(book["full"]["total"]) == maximum and book["full"]["percent"] == "100.0"
    assert float(book["starter"]["total"]) == 0
    assert 0 < float(book["half"]["total"]) < maximum
    half, full = book["half"], book["full"]
    assert half[STEPS[0]] == full[STEPS[0]] and half[STEPS[1]] == full[STEPS[1]]
    assert 0 < float(half[STEPS[2]]) < float(full[STEPS[2]])  # code right, answers missing
    assert all(float(half[step]) == 0 for step in STEPS[3:])


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
def test_grader_passes_on_the_reference_solution(step, gradebook):
    _, checks = gradebook
    mine = [row for row in checks if row["submission"] == "full" and row["step"] == step]
    assert mine, f"no checks of {step} ran"
    failed = [f"{row['check']}: {row['hint']}" for row in mine if row["outcome"] != "passed"]
    assert not failed, f"{step}: did not pass on the solution: {failed}"


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
def test_grader_fails_every_check_on_the_starter_with_a_hint(step, gradebook):
    _, checks = gradebook
    mine = [row for row in checks if row["submission"] == "starter" and row["step"] == step]
    assert mine, f"no checks of {step} ran"
    passed = [row["check"] for row in mine if row["outcome"] != "failed"]
    assert not passed, f"{step}: {passed} did not fail on the untouched starter"
    assert all(row["hint"] and "\n" not in row["hint"] for row in mine)


# --- the hand-out ----------------------------------------------------------------------------


def function_bodies(path):
    tree = ast.parse(path.read_text())
    return {node.name: ast.unparse(node.body) for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef)}  # fmt: skip


def todo_functions(path):
    return {name for name, body in function_bodies(path).items() if "NotImplementedError" in body}


@pytest.mark.slow
def test_the_hand_out_has_no_solutions_and_fails_every_check_with_a_hint(tmp_path):
    out = tmp_path / "handout"
    release.write_release(out)
    files = sorted(path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file())
    assert "course/solutions" not in {Path(name).parent.as_posix() for name in files}
    assert not [name for name in files if "solution" in name or "TEACHING" in name]
    assert not [name for name in files if name.endswith(("grade.py", "release.py"))]
    for step in STEPS:
        for name in ("README.md", "tutorial.ipynb", "exercise.py"):
            assert f"course/{step}/{name}" in files
    handed = [function_bodies(path) for path in (out / "course").rglob("*.py")]
    for step in STEPS:
        todos = todo_functions(out / "course" / step / "exercise.py")
        assert todos and todos == todo_functions(COURSE / step / "exercise.py"), step
        solved = function_bodies(COURSE / "solutions" / f"{step}.py")
        leaked = [name for name in todos if any(solved[name] in bodies.values()
                                                for bodies in handed)]  # fmt: skip
        assert not leaked, f"{step}: the solution of {leaked} is in the hand-out"
    with pytest.raises(FileExistsError):
        release.write_release(out)

    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("SEGENV_COURSE_SOLUTIONS", None)
    command = [sys.executable, "-m", "course.check"]
    result = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=1800, env=env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    checks = [line for line in lines if line.startswith("  ")]
    assert len([line for line in lines if line.startswith(tuple(STEPS))]) == len(STEPS)
    assert len(checks) > 60 and all(line.startswith("  FAIL  ") for line in checks), lines
    assert all(len(line.split("]  ", 1)) == 2 for line in checks), "a check without a hint"
    assert any("NotImplementedError: step 2: write balanced_gain" in line for line in checks)
    assert any("answers.py: fill in" in line for line in checks)


# --- the notebooks ---------------------------------------------------------------------------


def test_the_notebooks_are_generated_from_the_readmes():
    result = subprocess.run(
        [sys.executable, "-m", "course.notebooks", "--check"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("step", TUTORIALS)
def test_notebook_runs_top_to_bottom(step, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    notebook = notebooks.notebook_of(step)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = notebooks.ci_sized(cell.source)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("SEGENV_COURSE_SOLUTIONS", raising=False)
    client = nbclient.NotebookClient(
        notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    assert not [output for output in outputs if output.get("output_type") == "error"]
    assert any(output.get("output_type") == "stream" for output in outputs)
