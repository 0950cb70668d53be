"""Each step's ``tutorial.ipynb``, generated from its ``README.md`` with jupytext.

The README is the one source: its ```` ```python ```` blocks become code cells, the rest
(including ```` ```py ```` and ```` ```bash ```` blocks, which are shown but not run) becomes
Markdown cells. ``python -m course.notebooks`` rewrites every notebook; ``--check`` only says
which are out of date (the course's tests run it). With jupytext installed, Jupyter also opens
a README itself as a notebook ("Open With → Notebook").

:func:`ci_sized` turns a line ``NAME = value  # CI: small`` into ``NAME = small``: the test
suite executes every notebook that way, top to bottom, with nbclient.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from typing import Any

from .grading import COURSE, resolve_step, steps

NOTEBOOK_NAME = "tutorial.ipynb"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
CI_VALUE = re.compile(r"^(?P<lhs>\s*[A-Za-z_][\w.]*\s*=\s*)(?P<value>.+?)\s+# CI: (?P<ci>.+)$")


def notebook_of(step: str) -> Any:
    """The notebook of a step's README (an ``nbformat`` node, without outputs)."""
    import jupytext

    notebook = jupytext.read(COURSE / step / "README.md", fmt="md")
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    for index, cell in enumerate(notebook.cells):
        cell.id = f"cell-{index:02d}"  # stable ids: regenerating changes nothing
    return notebook


def notebook_text(step: str) -> str:
    """The ``.ipynb`` text of a step's README."""
    import jupytext

    return str(jupytext.writes(notebook_of(step), fmt="ipynb"))


def ci_sized(code: str) -> str:
    """Replace ``NAME = value  # CI: small`` by ``NAME = small``, line by line."""
    lines = []
    for line in code.splitlines():
        match = CI_VALUE.match(line)
        lines.append(f"{match['lhs']}{match['ci']}" if match else line)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m course.notebooks [--check] [STEP ...]``."""
    parser = argparse.ArgumentParser(prog="python -m course.notebooks", description=__doc__)
    parser.add_argument("steps", nargs="*", help="step numbers (default: all)")
    parser.add_argument("--check", action="store_true", help="only report stale notebooks")
    namespace = parser.parse_args(argv)
    chosen = [resolve_step(step) for step in namespace.steps] or steps()
    stale = []
    for step in chosen:
        path = COURSE / step / NOTEBOOK_NAME
        text = notebook_text(step)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path)
        if not namespace.check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if namespace.check and stale:
        print("out of date (run python -m course.notebooks):", *map(str, stale), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
