"""Check that a committed benchmark report states everything a result needs.

A table of results cannot tell reward designs apart unless a reader can see where it came from
and how sure it is. :func:`validate_report` reads a Markdown report (a suite's generated
``OUT/<suite>.md``, or the curated ``benchmarks/RESULTS.md`` built from them) and returns what
it lacks; an empty list means it passes:

* **provenance**, once per file: the data, the size (``32×32``, ``16×32×32`` on a ``data`` or
  ``size`` line), the seeds, the git revision, the hardware and the wall time;
* **every results table** (a Markdown table with ``Dice@t`` columns) shows the Dice-per-step
  curve (``Dice@0`` .. ``Dice@T``, T ≥ 1: the initial and the final Dice), a ``seeds`` column
  with at least :data:`MIN_SEEDS` seeds on every trained row (a row marked ``no training`` is
  deterministic and exempt), a ``±`` on every value of a trained row and a statement that the ±
  is a 95 % confidence interval, a ``diverged`` column; and, in the same section (the text
  under the same ``##`` heading), a table of the same rows with ``DSC_AUC``, ``NSD_AUC`` and
  the time per interaction step (``ms/step``);
* a **"Diverged cells"** section.

Run it after regenerating a report::

    python -m segenv_agents.suites.validate benchmarks/RESULTS.md benchmarks/results/*/*.md
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from segenv.errors import DataError

MIN_SEEDS = 5
"""Seeds a trained row needs for its confidence interval to mean something."""

PROVENANCE: dict[str, str] = {
    "data": r"^\s*(?:[-*]\s+|\|\s*)data\b",
    "size": r"^\s*(?:[-*]\s+|\|\s*)(?:size|data)\b[^\n]*\b\d+\s*[×x]\s*\d+",
    "seeds": r"\bseeds?\b[^\n]*\d",
    "git revision": r"git revision\W+[0-9a-f]{7}",
    "hardware": r"^\s*(?:[-*]\s+|\|\s*)hardware\b",
    "wall time": r"wall time[^\n]*\d+(?:\.\d+)?\s*(?:min|s|h)\b",
}
"""What every report states, as case-insensitive patterns over the whole file."""

_CONFIDENCE = re.compile(r"95\s*%[^\n]*(?:confidence|\bCI\b)", re.IGNORECASE)
_DICE_COLUMN = re.compile(r"^Dice@(\d+)\b")
_NUMBER_AFTER_PM = re.compile(r"±\s*\d")
_TIME_COLUMN = re.compile(r"ms/step|time per (?:interaction|step)", re.IGNORECASE)
_DIVERGED_SECTION = re.compile(r"^##\s+Diverged cells\b", re.IGNORECASE | re.MULTILINE)


@dataclass
class MarkdownTable:
    """A Markdown table: its header cells and its data rows (cells stripped)."""

    header: list[str]
    rows: list[list[str]]

    def column(self, pattern: str) -> int | None:
        """Index of the first header cell matching ``pattern`` (case-insensitive), or None."""
        for index, cell in enumerate(self.header):
            if re.search(pattern, cell, re.IGNORECASE):
                return index
        return None


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def markdown_tables(text: str) -> list[MarkdownTable]:
    """Every Markdown table of ``text`` (a header line, a ``|---|`` line, then rows)."""
    tables: list[MarkdownTable] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines) - 1:
        line, rule = lines[index].strip(), lines[index + 1].strip()
        if line.startswith("|") and re.fullmatch(r"\|?\s*:?-{3,}.*", rule):
            header = _cells(line)
            rows = []
            index += 2
            while index < len(lines) and lines[index].strip().startswith("|"):
                rows.append(_cells(lines[index]))
                index += 1
            tables.append(MarkdownTable(header, rows))
        else:
            index += 1
    return tables


def sections(text: str) -> list[tuple[str, str]]:
    """``(heading, body)`` for the text under each ``##`` heading (the preamble as ``""``)."""
    parts = re.split(r"^(##\s+.*)$", text, flags=re.MULTILINE)
    found = [("", parts[0])]
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        found.append((heading.lstrip("#").strip(), body))
    return found


def _dice_steps(table: MarkdownTable) -> list[int]:
    return [int(match.group(1)) for cell in table.header if (match := _DICE_COLUMN.match(cell))]


def _is_untrained(row: list[str], seeds_column: int | None) -> bool:
    return seeds_column is not None and "no training" in row[seeds_column].lower()


def _check_results_table(
    where: str, table: MarkdownTable, report: str, min_seeds: int
) -> list[str]:
    problems = []
    steps = _dice_steps(table)
    if 0 not in steps or max(steps) < 1 or steps != list(range(max(steps) + 1)):
        problems.append(
            f"{where}: the Dice-per-step curve needs Dice@0 (initial) to Dice@T (final), "
            f"consecutive, T >= 1; it has Dice@{steps}"
        )
    seeds_column = table.column(r"^seeds$")
    if seeds_column is None:
        problems.append(f"{where}: no 'seeds' column")
    if table.column(r"^diverged$") is None:
        problems.append(f"{where}: no 'diverged' column flagging cells that diverged")
    if not _CONFIDENCE.search(report):  # said once per report (its statistics note) is enough
        problems.append(f"{where}: nothing says the ± is a 95 % confidence interval")
    dice_columns = [i for i, cell in enumerate(table.header) if _DICE_COLUMN.match(cell)]
    for row in table.rows:
        label = row[0] if row else "?"
        if len(row) != len(table.header):
            problems.append(f"{where}, row {label!r}: {len(row)} cells for {len(table.header)}")
            continue
        if any(row[i].lower() == "not run" for i in dice_columns):
            problems.append(f"{where}, row {label!r}: not run")
            continue
        if _is_untrained(row, seeds_column):
            continue
        seeds = []
        if seeds_column is not None:
            seeds = [part for part in re.split(r"[,\s]+", row[seeds_column]) if part.isdigit()]
            if len(seeds) < min_seeds:
                problems.append(
                    f"{where}, row {label!r}: {len(seeds)} seeds ({row[seeds_column]!r}); "
                    f"a trained row needs >= {min_seeds}"
                )
        missing = [table.header[i] for i in dice_columns if not _NUMBER_AFTER_PM.search(row[i])]
        if missing and (seeds_column is None or len(seeds) >= 2):  # one seed has no interval
            problems.append(
                f"{where}, row {label!r}: no confidence interval (± value) at {missing[:3]}"
            )
    return problems


def _check_metrics_tables(
    where: str, results: MarkdownTable, tables: Sequence[MarkdownTable]
) -> list[str]:
    labels = {row[0] for row in results.rows if row}
    for table in tables:
        has = [table.column(r"^DSC_AUC\b"), table.column(r"^NSD_AUC\b")]
        if None in has or not any(_TIME_COLUMN.search(cell) for cell in table.header):
            continue
        if labels <= {row[0] for row in table.rows if row}:
            return []
    return [
        f"{where}: no table in its section gives DSC_AUC, NSD_AUC and the time per interaction "
        "step (ms/step) for its rows"
    ]


def validate_report(text: str, *, min_seeds: int = MIN_SEEDS) -> list[str]:
    """What a benchmark report lacks (see the module docstring); ``[]`` when it passes.

    Args:
        text: The Markdown of the report.
        min_seeds: Seeds a trained row needs (:data:`MIN_SEEDS`; the tests also run a
            one-seed ``tiny`` report with 1 to check the rest of its layout).

    Returns:
        One line per problem, saying where and what is missing.
    """
    problems = [
        f"the report does not state its {name}"
        for name, pattern in PROVENANCE.items()
        if not re.search(pattern, text, re.IGNORECASE | re.MULTILINE)
    ]
    found = 0
    for heading, body in sections(text):
        tables = markdown_tables(body)
        for number, table in enumerate(tables, 1):
            if len(_dice_steps(table)) < 2:  # a results table shows a curve of Dice@t columns
                continue
            found += 1
            where = f"section {heading or '(top)'!r}, table {number}"
            problems += _check_results_table(where, table, text, min_seeds)
            problems += _check_metrics_tables(where, table, tables)
    if found == 0:
        problems.append("the report has no results table (a Markdown table with Dice@t columns)")
    if not _DIVERGED_SECTION.search(text):
        problems.append("the report has no '## Diverged cells' section")
    return problems


def check_report(path: str | Path, *, min_seeds: int = MIN_SEEDS) -> None:
    """Raise :class:`~segenv.errors.DataError` listing what the report at ``path`` lacks."""
    problems = validate_report(Path(path).read_text(encoding="utf-8"), min_seeds=min_seeds)
    if problems:
        listed = "\n  - ".join(problems)
        raise DataError(f"{path} is not a complete benchmark report:\n  - {listed}")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m segenv_agents.suites.validate REPORT.md ...``: 0 when every report passes."""
    paths = list(sys.argv[1:] if argv is None else argv)
    if not paths:
        print("usage: python -m segenv_agents.suites.validate REPORT.md [...]", file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        problems = validate_report(Path(path).read_text(encoding="utf-8"))
        if problems:
            failed += 1
            print(f"{path}: {len(problems)} problems")
            for problem in problems:
                print(f"  - {problem}")
        else:
            print(f"{path}: complete")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
