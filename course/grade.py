"""Grade a folder of submissions into a gradebook: ``python -m course.grade SUBMISSIONS``.

``SUBMISSIONS`` holds one folder per student (the folder name is the student's id), each with
the student's step folders as in the hand-out: ``<id>/02_reward_design/exercise.py``,
``<id>/03_multi_agent/answers.py``, ... (a submission that is a whole copy of the hand-out,
``<id>/course/02_reward_design/...``, works too). A missing file scores 0 on its step's checks.

Every submission is graded by the course's own graders in a subprocess of its own, with a
time limit. Writes:

* ``gradebook.csv``: one row per submission: points per step, total, maximum, percent;
* ``checks.csv``: one row per submission and check: step, check, outcome, points, hint.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

from .grading import Check, resolve_step, run_checks, steps


def submission_root(folder: Path) -> Path:
    """The folder holding a submission's step folders (``folder`` or ``folder/course``)."""
    nested = folder / "course"
    return nested if nested.is_dir() and not any(folder.glob("[0-9][0-9]_*")) else folder


def grade_submissions(
    submissions: Path,
    out_dir: Path,
    step_names: Sequence[str] | None = None,
    *,
    timeout: float = 1800,
) -> dict[str, list[Check]]:
    """Grade every submission folder of ``submissions``; write the two CSVs into ``out_dir``.

    Returns ``student id -> checks``.
    """
    chosen = list(step_names) if step_names else steps()
    folders = sorted(path for path in Path(submissions).iterdir() if path.is_dir())
    if not folders:
        raise FileNotFoundError(f"{submissions} holds no submission folders")
    results = {}
    for folder in folders:
        checks, _ = run_checks(chosen, submission=submission_root(folder), timeout=timeout)
        results[folder.name] = checks
        earned = sum(check.points for check in checks)
        print(f"{folder.name}: {earned:g} points", flush=True)
    write_gradebook(results, chosen, Path(out_dir))
    return results


def write_gradebook(results: dict[str, list[Check]], chosen: Sequence[str], out_dir: Path) -> None:
    """Write ``gradebook.csv`` (one row per submission) and ``checks.csv`` (one per check)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    maxima = {step: 0.0 for step in chosen}
    for checks in results.values():
        for step in chosen:
            total = sum(check.max_points for check in checks if check.step == step)
            maxima[step] = max(maxima[step], total)
    maximum = sum(maxima.values())
    with (out_dir / "gradebook.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", *chosen, "total", "max", "percent"])
        for name, checks in results.items():
            per_step = [sum(c.points for c in checks if c.step == step) for step in chosen]
            total = sum(per_step)
            percent = 100.0 * total / maximum if maximum else 0.0
            writer.writerow([name, *(f"{p:g}" for p in per_step), f"{total:g}", f"{maximum:g}",
                             f"{percent:.1f}"])  # fmt: skip
    with (out_dir / "checks.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", "step", "check", "outcome", "points", "max_points", "hint"])
        for name, checks in results.items():
            for c in checks:
                writer.writerow([name, c.step, c.name, c.outcome, f"{c.points:g}",
                                 f"{c.max_points:g}", c.hint])  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course.grade SUBMISSIONS [--out DIR] [--steps 1 2] [--timeout S]``."""
    parser = argparse.ArgumentParser(
        prog="python -m course.grade",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("submissions", type=Path, help="folder of submission folders")
    parser.add_argument("--out", type=Path, default=None, help="default: SUBMISSIONS")
    parser.add_argument("--steps", nargs="*", default=None, help="step numbers (default: all)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per submission")
    namespace = parser.parse_args(argv)
    chosen = [resolve_step(step) for step in namespace.steps] if namespace.steps else None
    out = namespace.out or namespace.submissions
    grade_submissions(namespace.submissions, out, chosen, timeout=namespace.timeout)
    print(f"wrote {out / 'gradebook.csv'} and {out / 'checks.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
