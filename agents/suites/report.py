"""Reports of a benchmark suite: Markdown tables, a CSV and a PNG, each with its provenance.

:func:`write_reports` reads the finished cells of a suite (:mod:`.runner`) and writes

* ``OUT/<suite>.md`` — a provenance header (data, protocol, seeds, git revision, hardware,
  wall time), then every table: Dice (%) after each step as mean ± std over seeds, the paired
  comparison with the table's reference row at the final step, NoC@85, the paper's number and
  the ordering against the paper's; then the wall time of every cell;
* ``OUT/<suite>.csv`` — one line per (table row, cell, step): mean and std of Dice over the
  test cases, clicks used;
* ``OUT/<suite>.png`` — Dice vs step, one line per row (mean over seeds, band ± std over
  seeds), one panel per per-step table (MECCA Fig. 9 for ``reward_designs``).

Statistics. Dice of a row at a step = the mean over seeds of the mean over the test cases;
its ± = the sample std over seeds of those per-seed means ("–" with one seed). The paired
comparison pairs the test cases: per case, a row's final Dice averaged over its seeds minus
the reference's; Δ is their mean (points), its ± the sample std over the shared seeds of the
per-seed mean differences, and p the two-sided Wilcoxon signed-rank test over the cases
(``scipy.stats.wilcoxon``, zero differences dropped; p = 1 when all are zero).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from segenv.files import atomic_write, atomic_write_text
from segenv.metrics import markdown_table

from ..common.datasets import run_splits
from .cells import cell_args, read_result
from .definitions import Cell, Row, Suite, Table
from .provenance import hardware_line

# ------------------------------------------------------------------------------------ gathering


@dataclass
class RowSummary:
    """A table row's statistics (Dice in %)."""

    label: str
    group: str
    variant: str
    seeds: list[int] = field(default_factory=list)
    dice_mean: np.ndarray | None = None
    dice_std: np.ndarray | None = None
    clicks: list[int] = field(default_factory=list)
    delta: float = math.nan
    delta_std: float = math.nan
    p_value: float = math.nan
    num_cases: int = 0
    noc85: float = math.nan
    paper: float | None = None

    @property
    def final(self) -> float:
        """Final-step Dice (%), NaN when the row has no result yet."""
        return math.nan if self.dice_mean is None else float(self.dice_mean[-1])


@dataclass
class SuiteReport:
    """What :func:`write_reports` wrote and the statistics of every table row."""

    suite: str
    out_dir: Path
    markdown_path: Path
    csv_path: Path
    png_path: Path
    tables: dict[str, dict[str, RowSummary]]


def _row_cells(suite: Suite, group: str) -> list[Cell]:
    return [cell for cell in suite.cells if cell.group == group]


def row_dice(
    suite: Suite, out_dir: Path, group: str, variant: str
) -> tuple[dict[int, np.ndarray], list[int], dict[str, float]]:
    """Per-seed Dice ``(cases, T + 1)`` of a row, its clicks per step and mean NoC values."""
    per_seed: dict[int, np.ndarray] = {}
    clicks: list[int] = []
    nocs: list[Mapping[str, float]] = []
    for cell in _row_cells(suite, group):
        result = read_result(out_dir, cell)
        evaluation = None if result is None else result.get("evaluations", {}).get(variant)
        if evaluation is None:
            continue
        per_seed[cell.seed] = np.asarray(evaluation["dice"], float)
        clicks = list(evaluation["clicks_used"])
        nocs.append(evaluation.get("noc", {}))
    noc = {key: float(np.mean([n[key] for n in nocs])) for key in (nocs[0] if nocs else {})}
    return per_seed, clicks, noc


def paired_comparison(
    row: Mapping[int, np.ndarray], reference: Mapping[int, np.ndarray]
) -> tuple[float, float, float, int]:
    """Δ (points), its std over shared seeds, the Wilcoxon p over cases, and the case count.

    ``row`` and ``reference`` map seeds to Dice fractions ``(cases, T + 1)``; the final step
    is compared, case by case, after averaging each side over its seeds.
    """
    from scipy import stats

    row_final = np.mean([values[:, -1] for values in row.values()], axis=0)
    ref_final = np.mean([values[:, -1] for values in reference.values()], axis=0)
    if row_final.shape != ref_final.shape:
        return math.nan, math.nan, math.nan, 0
    difference = 100.0 * (row_final - ref_final)
    shared = sorted(set(row) & set(reference))
    per_seed = [100.0 * float(np.mean(row[s][:, -1] - reference[s][:, -1])) for s in shared]
    spread = float(np.std(per_seed, ddof=1)) if len(per_seed) >= 2 else math.nan
    if not np.any(np.abs(difference) > 1e-9):
        p_value = 1.0
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p_value = float(stats.wilcoxon(difference, zero_method="wilcox").pvalue)
    return float(difference.mean()), spread, p_value, int(difference.size)


def summarise_table(suite: Suite, out_dir: Path, table: Table) -> dict[str, RowSummary]:
    """Statistics of every row of a per-step table (see the module docstring)."""
    data = {row.label: row_dice(suite, out_dir, row.group, row.variant) for row in table.rows}
    reference = data.get(table.reference, ({}, [], {}))[0]
    summaries: dict[str, RowSummary] = {}
    for row in table.rows:
        per_seed, clicks, noc = data[row.label]
        summary = RowSummary(row.label, row.group, row.variant, paper=row.paper)
        if per_seed:
            means = np.stack([100.0 * values.mean(axis=0) for values in per_seed.values()])
            summary.seeds = sorted(per_seed)
            summary.dice_mean = means.mean(axis=0)
            summary.dice_std = (
                means.std(axis=0, ddof=1) if len(means) >= 2 else np.full(means.shape[1], np.nan)
            )
            summary.clicks = clicks
            summary.noc85 = noc.get("NoC@85", math.nan)
            if reference and row.label != table.reference:
                summary.delta, summary.delta_std, summary.p_value, summary.num_cases = (
                    paired_comparison(per_seed, reference)
                )
        summaries[row.label] = summary
    return summaries


# ------------------------------------------------------------------------------------ markdown


def _fmt(value: float, digits: int = 2, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _p_text(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"


def steps_table_markdown(table: Table, summaries: Mapping[str, RowSummary]) -> str:
    """The Markdown of a per-step table with its paired comparisons."""
    known = [s for s in summaries.values() if s.dice_mean is not None]
    known.sort(key=lambda s: s.label != table.reference)  # the reference row's clicks first
    steps = known[0].dice_mean.size if known else 0  # type: ignore[union-attr]
    clicks = known[0].clicks if known else []
    header = [
        "row",
        *(
            f"Dice@{t} ({clicks[t]:.1f} clicks)" if t < len(clicks) else f"Dice@{t}"
            for t in range(steps)
        ),
        f"Δ final vs {table.reference}",
        "p (Wilcoxon)",
        "NoC@85",
        "seeds",
        "paper",
    ]
    rows = [header]
    for summary in summaries.values():
        if summary.dice_mean is None or summary.dice_std is None:
            rows.append([summary.label, *("not run" for _ in range(steps)), "", "", "", "", ""])
            continue
        dice_cells = [
            f"{mean:.2f} ± {_fmt(std)}"
            for mean, std in zip(summary.dice_mean, summary.dice_std, strict=True)
        ]
        is_reference = summary.label == table.reference
        delta = "(reference)" if is_reference else _delta_text(summary)
        rows.append(
            [
                summary.label,
                *dice_cells,
                delta,
                "" if is_reference else _p_text(summary.p_value),
                _fmt(summary.noc85, 1),
                ",".join(str(seed) for seed in summary.seeds),
                _fmt(summary.paper) if summary.paper is not None else "–",
            ]
        )
    return markdown_table(rows)


def _delta_text(summary: RowSummary) -> str:
    text = _fmt(summary.delta, signed=True)
    if math.isfinite(summary.delta_std):
        text += f" ± {summary.delta_std:.2f}"
    return f"{text} (n={summary.num_cases})" if summary.num_cases else text


def ordering_line(summaries: Mapping[str, RowSummary]) -> str:
    """Rows ordered by final Dice here and in the paper, with Kendall's τ between them."""
    from scipy import stats

    rows = [s for s in summaries.values() if s.dice_mean is not None]
    if len(rows) < 2:
        return ""
    ranked = sorted(rows, key=lambda s: -s.final)
    here = ranked[0].label
    for above, below in itertools.pairwise(ranked):  # a tie as printed reads "="
        here += f" {'=' if _fmt(above.final) == _fmt(below.final) else '>'} {below.label}"
    text = f"Order here (final Dice): {here}."
    with_paper = [s for s in rows if s.paper is not None]
    if len(with_paper) >= 2:
        paper = " > ".join(s.label for s in sorted(with_paper, key=lambda s: -(s.paper or 0.0)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tau = stats.kendalltau([s.paper for s in with_paper], [s.final for s in with_paper])
        text += f" Paper: {paper} (Kendall τ = {_fmt(float(tau.statistic))})."
    return text


def matrix_table_markdown(
    suite: Suite, out_dir: Path, table: Table
) -> tuple[str, dict[str, RowSummary]]:
    """Final Dice (%) of every row under each column's variant (IteR-MRL Table 1 layout)."""
    rows = [["row", *(label for label, _variant in table.columns)]]
    summaries: dict[str, RowSummary] = {}
    for row in table.rows:
        line = [row.label]
        for label, variant in table.columns:
            per_seed, _clicks, _noc = row_dice(suite, out_dir, row.group, variant)
            if not per_seed:
                line.append("not run")
                continue
            finals = [100.0 * float(values[:, -1].mean()) for values in per_seed.values()]
            spread = float(np.std(finals, ddof=1)) if len(finals) >= 2 else math.nan
            line.append(f"{np.mean(finals):.2f} ± {_fmt(spread)}")
            summary = RowSummary(f"{row.label} | {label}", row.group, variant)
            summary.seeds = sorted(per_seed)
            summary.dice_mean = np.array([np.mean(finals)])
            summaries[summary.label] = summary
        rows.append(line)
    return markdown_table(rows), summaries


def _data_line(args: Any, kind: str, shape: str) -> str:
    """The report's line on the data: the synthetic splits, or a folder and its splits."""
    if getattr(args, "dataset", ""):
        sizes = ", ".join(
            f"`{group}` {len(names)}" for group, names in run_splits(args).groups.items()
        )
        return (
            f"- Data: {args.dataset} ({kind} {shape}); splits {args.splits}: {sizes} "
            "(`train1` trains the coarse network, `train2` the learners, `test` is held out), "
            "one test episode per case."
        )
    return (
        f"- Data: synthetic {kind} {shape} (difficulty {args.difficulty}, data seed "
        f"{args.data_seed}); {args.num_train_cases} training cases (`train2`), "
        f"{args.num_test_cases} held-out test cases (`test`), one test episode per case."
    )


def _start_of(args: Any) -> str:
    if getattr(args, "dataset", ""):
        return "the coarse network's probability (trained on `train1`)"
    if getattr(args, "start", "degraded") == "image_aware":
        return f"the image-aware start (errors where the image misleads), Dice {args.target_dice}"
    return f"degraded ground truth with Dice {args.target_dice}"


def provenance_lines(suite: Suite, out_dir: Path, session_wall_s: float | None) -> list[str]:
    """The header of a report: data, protocol, seeds, revisions, hardware, wall time."""
    profile = suite.profile
    args = cell_args(suite.cells[0], profile)
    shape = "×".join(str(size) for size in args.shape)
    kind = "2D slices" if len(args.shape) == 2 else "3D volumes"
    results = [r for r in (read_result(out_dir, cell) for cell in suite.cells) if r]
    train_s = sum(float(r["train"]["wall_s"]) for r in results)
    eval_s = sum(
        float(e.get("wall_s", 0.0)) for r in results for e in r.get("evaluations", {}).values()
    )
    cpu_s = sum(float(r["train"].get("cpu_s", 0.0)) for r in results) + sum(
        float(e.get("cpu_s", 0.0)) for r in results for e in r.get("evaluations", {}).values()
    )
    seeds = sorted({cell.seed for cell in suite.cells if cell.trained})
    revisions = sorted({str(r.get("trained_on", {}).get("revision")) for r in results})
    machines = sorted({hardware_line(r.get("trained_on", {})) for r in results})
    lines = [
        f"# Benchmark `{suite.name}`, profile `{profile.name}`",
        "",
        f"- Profile: {profile.description} (learner presets `{profile.preset}`).",
        _data_line(args, kind, shape),
        f"- Protocol: p(0) = {_start_of(args)}; "
        f"{args.initial_clicks} clicks on p(0), then {args.clicks_per_step} per step "
        f"(largest-error user unless a row says otherwise); T = {profile.eval_steps} at test, "
        f"greedy actions, evaluation seed {profile.eval_seed}.",
        f"- Training seeds: {', '.join(map(str, seeds)) or '–'}.",
        f"- Cells: {len(results)} of {len(suite.cells)} finished; git revision "
        f"{', '.join(revisions) or '–'}.",
        f"- Hardware: {'; '.join(machines) or '–'}.",
        f"- Wall time of the finished cells: {train_s / 60:.1f} min training + "
        f"{eval_s / 60:.1f} min evaluation = {(train_s + eval_s) / 60:.1f} min, run one "
        f"after another ({cpu_s / 60:.1f} CPU-min)"
        + (
            f"; this invocation {session_wall_s / 60:.1f} min."
            if session_wall_s is not None
            else "."
        ),
    ]
    return lines


def cells_markdown(suite: Suite, out_dir: Path) -> str:
    """Wall time and provenance of every cell."""
    rows = [
        [
            "cell",
            "learner",
            "seed",
            "updates",
            "train (s)",
            "train (CPU-s)",
            "eval (s)",
            "finished",
            "revision",
        ]
    ]
    for cell in suite.cells:
        result = read_result(out_dir, cell)
        if result is None:
            rows.append([cell.name, cell.learner, str(cell.seed), "–", "not run", *[""] * 4])
            continue
        train = result["train"]
        eval_s = sum(float(e.get("wall_s", 0.0)) for e in result.get("evaluations", {}).values())
        resumed = " (resumed)" if train.get("resumed") else ""
        rows.append(
            [
                cell.name,
                cell.learner,
                str(cell.seed) if cell.trained else "–",
                str(train.get("updates") if train.get("updates") is not None else "–"),
                f"{float(train['wall_s']):.1f}{resumed}",
                _fmt(float(train.get("cpu_s", math.nan)), 1),
                f"{eval_s:.1f}",
                str(train.get("finished", "")),
                str(result.get("trained_on", {}).get("revision", "")),
            ]
        )
    return markdown_table(rows)


_STATISTICS_NOTE = (
    "Dice (%): mean over seeds of the mean over test cases, ± sample std over seeds (– with one "
    "seed). Δ: the paired difference at the final step, case by case (each side averaged over "
    "its seeds), in points, ± std over the shared seeds of the per-seed mean differences. p: "
    "two-sided Wilcoxon signed-rank test over the n test cases. NoC@85: clicks to reach Dice "
    "0.85 (the click budget if never reached). Paper: the paper's Dice after 5 steps (BraTS2015, "
    "55×55×30), for the ordering, not for the values."
)


# ---------------------------------------------------------------------------------- csv, png


def write_csv(suite: Suite, out_dir: Path, path: Path) -> None:
    """One line per (table row, cell, step), each with its data size, revision and machine."""
    fields = [
        "suite",
        "table",
        "row",
        "group",
        "cell",
        "learner",
        "seed",
        "variant",
        "step",
        "clicks",
        "dice_mean",
        "dice_std_cases",
        "episodes",
        "shape",
        "train_cases",
        "train_wall_s",
        "revision",
        "hardware",
    ]
    lines: list[dict[str, Any]] = []
    for table in suite.tables:
        pairs: list[tuple[Row, str, str]] = (
            [
                (row, f"{row.label} | {label}", variant)
                for row in table.rows
                for label, variant in table.columns
            ]
            if table.columns
            else [(row, row.label, row.variant) for row in table.rows]
        )
        for row, label, variant in pairs:
            for cell in _row_cells(suite, row.group):
                result = read_result(out_dir, cell)
                evaluation = None if result is None else result["evaluations"].get(variant)
                if evaluation is None:
                    continue
                dice = np.asarray(evaluation["dice"], float)
                args = result["config"]["args"] if result else {}
                trained_on = result.get("trained_on", {}) if result else {}
                for step in range(dice.shape[1]):
                    lines.append(
                        {
                            "suite": suite.name,
                            "table": table.key,
                            "row": label,
                            "group": row.group,
                            "cell": cell.name,
                            "learner": cell.learner,
                            "seed": cell.seed,
                            "variant": variant,
                            "step": step,
                            "clicks": evaluation["clicks_used"][step],
                            "dice_mean": round(float(dice[:, step].mean()), 6),
                            "dice_std_cases": round(float(dice[:, step].std()), 6),
                            "episodes": dice.shape[0],
                            "shape": "x".join(str(size) for size in args.get("shape", ())),
                            "train_cases": args.get("num_train_cases"),
                            "train_wall_s": result["train"]["wall_s"] if result else None,
                            "revision": trained_on.get("revision"),
                            "hardware": hardware_line(trained_on),
                        }
                    )
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=fields)
    writer.writeheader()
    writer.writerows(lines)
    atomic_write_text(path, text.getvalue())


def write_png(
    suite: Suite, tables: Mapping[str, Mapping[str, RowSummary]], path: Path, subtitle: str
) -> None:
    """Dice vs step per row, one panel per per-step table (no pyplot: no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [table for table in suite.tables if not table.columns]
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = Figure(figsize=(5.2 * columns, 3.9 * rows + 0.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for axis, table in zip(axes, panels, strict=False):
        for summary in tables[table.key].values():
            if summary.dice_mean is None or summary.dice_std is None:
                continue
            steps = np.arange(summary.dice_mean.size)
            style = "-" if summary.label == table.reference else "--"
            (line,) = axis.plot(steps, summary.dice_mean, style, marker="o", label=summary.label)
            if np.all(np.isfinite(summary.dice_std)):
                axis.fill_between(
                    steps,
                    np.clip(summary.dice_mean - summary.dice_std, 0.0, 100.0),
                    np.clip(summary.dice_mean + summary.dice_std, 0.0, 100.0),
                    color=line.get_color(),
                    alpha=0.15,
                )
        axis.set_title(table.title.split(":")[0], fontsize=9)
        axis.set_xlabel("interaction step")
        axis.set_ylabel("Dice (%)")
        axis.grid(alpha=0.3)
        if axis.get_lines():
            axis.legend(fontsize=7)
        else:
            axis.text(0.5, 0.5, "not run yet", ha="center", transform=axis.transAxes)
    for axis in axes[len(panels) :]:
        axis.set_visible(False)
    figure.suptitle(f"{suite.name} ({suite.profile.name}): {subtitle}", fontsize=9)
    atomic_write(path, lambda stream: figure.savefig(stream, format="png", dpi=110))


# ------------------------------------------------------------------------------------ all of it


def write_reports(
    suite: Suite, out_dir: str | os.PathLike[str], *, session_wall_s: float | None = None
) -> SuiteReport:
    """Write ``OUT/<suite>.md``, ``.csv`` and ``.png`` from the finished cells."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    header = provenance_lines(suite, out, session_wall_s)
    sections = ["\n".join(header)]
    tables: dict[str, dict[str, RowSummary]] = {}
    for table in suite.tables:
        if table.columns:
            text, summaries = matrix_table_markdown(suite, out, table)
            body = [f"## {table.title}", "", text, "", table.note]
        else:
            summaries = summarise_table(suite, out, table)
            body = [f"## {table.title}", "", steps_table_markdown(table, summaries), ""]
            body += [table.note, "", ordering_line(summaries)]
        tables[table.key] = summaries
        sections.append("\n".join(line for line in body).rstrip())
    sections.append(_STATISTICS_NOTE)
    sections.append("## Cells\n\n" + cells_markdown(suite, out))
    markdown_path = out / f"{suite.name}.md"
    atomic_write_text(markdown_path, "\n\n".join(sections) + "\n")
    csv_path = out / f"{suite.name}.csv"
    write_csv(suite, out, csv_path)
    png_path = out / f"{suite.name}.png"
    subtitle = header[3].removeprefix("- Data: ").split(";")[0]
    write_png(suite, tables, png_path, subtitle)
    return SuiteReport(suite.name, out, markdown_path, csv_path, png_path, tables)
