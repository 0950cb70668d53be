"""Check your work on a course step, one line per check: ``python -m course.check 2``.

Prints ``PASS``/``FAIL`` and the check's name and points, and for a failing check the first
line of what went wrong (``NotImplementedError: step 2: write balanced_gain``, or the
assertion that failed). ``python -m course.check`` checks every step; ``-v`` prints
pytest's full output after the lines. Run it from the folder that holds ``course/``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .grading import resolve_step, run_checks, steps, summary_line


def main(argv: Sequence[str] | None = None) -> int:
    """Run the checks of the given steps (default all); exit 1 if any fails."""
    parser = argparse.ArgumentParser(prog="python -m course.check", description=__doc__)
    parser.add_argument("steps", nargs="*", help="step numbers or folders (default: all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also pytest's output")
    parser.add_argument(
        "--solutions", action="store_true", help="grade the reference solutions (teachers)"
    )
    namespace = parser.parse_args(argv)
    try:
        chosen = [resolve_step(step) for step in namespace.steps] or steps()
    except ValueError as error:
        parser.error(str(error))
    checks, output = run_checks(chosen, solutions=namespace.solutions)
    for step in chosen:
        print(summary_line(step, checks))
        for check in (check for check in checks if check.step == step):
            mark = "PASS" if check.outcome == "passed" else check.outcome.upper()[:4]
            line = f"  {mark}  {check.name}  [{check.max_points:g} pt]"
            print(f"{line}  {check.hint}" if check.hint else line)
    orphans = [check for check in checks if check.step not in chosen]
    for check in orphans:
        print(f"  FAIL  {check.name}: {check.hint}")
    if namespace.verbose:
        print(output)
    return 0 if checks and all(check.outcome == "passed" for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
