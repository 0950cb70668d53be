"""Reports of a benchmark suite: Markdown tables, a CSV and two PNGs, each with its provenance.

:func:`write_reports` reads the finished cells of a suite (:mod:`.runner`) and writes

* ``OUT/<suite>.md`` — a provenance header (data, size, protocol, seeds, git revision,
  hardware, wall time), then every table: Dice (%) after each step as mean ± the 95 %
  confidence interval over seeds, the paired comparison with the table's reference at the final
  step, NoC@85, the seeds, how many of the row's cells diverged, the paper's number and the
  ordering against the paper's; under it the interactive 3D metrics of the same rows (DSC_AUC,
  NSD_AUC, final DSC and NSD of the CVPR 2025 protocol, autoPET's false-positive /
  false-negative component volumes, the time per interaction step), each ± its 95 % CI; then
  the diverged cells and the wall time of every cell;
* ``OUT/<suite>.csv`` — one line per (table row, cell, step): mean and std of Dice over the
  test cases, the mean NSD, clicks used, and the cell's per-episode metrics;
* ``OUT/<suite>.png`` — Dice vs step, one line per row (mean over seeds, band = 95 % CI),
  one panel per per-step table (MECCA Fig. 9 for ``reward_designs``);
* ``OUT/<suite>_curves.png`` — the learning curve of every trained cell (the final Dice of its
  training episodes per update, from ``run/scalars.jsonl``, against their start Dice), one
  panel per row group, so one can see whether the budget has flattened them.

Statistics. A row's value at a step = the mean over seeds of the mean over the test cases; its
± = the half-width of the two-sided 95 % Student-t confidence interval over seeds,
``t(0.975, n − 1) · s / √n`` with ``s`` the sample std of the n per-seed means ("–" with one
seed). The paired comparison pairs the test cases: per case, a row's final Dice averaged over
its seeds minus the reference's; Δ is their mean (points), its ± the 95 % t-interval of the
per-seed mean differences over the shared seeds, and p the two-sided Wilcoxon signed-rank test
over the cases (``scipy.stats.wilcoxon``, zero differences dropped; p = 1 when all are zero).

Divergence. A trained cell *diverged* when, evaluated under the protocol it was trained for
(variant ``good``), its final Dice is ≤ 1 % (collapsed) or below its Dice before any step: the
learner made the segmentation worse than doing nothing. Such cells are counted in every row,
flagged and listed: a collapse is a learner failure to report, not a result about a reward.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from segenv.files import atomic_write, atomic_write_text
from segenv.metrics import interaction_auc, markdown_table

from ..common.datasets import run_splits
from .cells import cell_args, cell_dir, read_result
from .definitions import Cell, Row, Suite, Table
from .provenance import hardware_line

CONFIDENCE = 0.95
"""The level of every confidence interval of the reports."""
COLLAPSE_DICE = 0.01
"""A cell whose final Dice (fraction) is at or below this has collapsed."""
TRAINED_VARIANT = "good"
"""The variant that evaluates a cell under the protocol it was trained for."""

# ------------------------------------------------------------------------------------ gathering


def t_interval(values: Any) -> tuple[float, float]:
    """Mean and the half-width of its two-sided 95 % Student-t interval (NaN with < 2 values).

    ``t(0.975, n − 1) · s / √n`` with ``s`` the sample standard deviation; NaN values are
    dropped first.
    """
    from scipy import stats

    array = np.asarray(values, float).ravel()
    array = array[np.isfinite(array)]
    if array.size == 0:
        return math.nan, math.nan
    mean = float(array.mean())
    if array.size < 2:
        return mean, math.nan
    quantile = float(stats.t.ppf(0.5 + CONFIDENCE / 2, array.size - 1))
    return mean, quantile * float(array.std(ddof=1)) / math.sqrt(array.size)


@dataclass
class Estimate:
    """A mean over seeds and the half-width of its 95 % t-interval (NaN when unknown)."""

    mean: float = math.nan
    half_width: float = math.nan

    @classmethod
    def of(cls, values: Any) -> Estimate:
        """The estimate of per-seed values."""
        return cls(*t_interval(values))


@dataclass
class RowSummary:
    """A table row's statistics over seeds (Dice and NSD in %, volumes in mm³, time in ms)."""

    label: str
    group: str
    variant: str
    seeds: list[int] = field(default_factory=list)
    dice_mean: np.ndarray | None = None
    dice_std: np.ndarray | None = None
    """sample std over seeds of the per-seed means, per step"""
    dice_ci: np.ndarray | None = None
    """half-width of the 95 % t-interval over seeds, per step"""
    clicks: list[int] = field(default_factory=list)
    delta: float = math.nan
    delta_std: float = math.nan
    """half-width of the 95 % t-interval of the per-seed mean differences"""
    p_value: float = math.nan
    num_cases: int = 0
    noc85: float = math.nan
    paper: float | None = None
    trained: bool = True
    dsc_auc: Estimate = field(default_factory=Estimate)
    nsd_auc: Estimate = field(default_factory=Estimate)
    final_dsc: Estimate = field(default_factory=Estimate)
    final_nsd: Estimate = field(default_factory=Estimate)
    false_positive_volume: Estimate = field(default_factory=Estimate)
    false_negative_volume: Estimate = field(default_factory=Estimate)
    ms_per_step: Estimate = field(default_factory=Estimate)
    diverged: list[str] = field(default_factory=list)
    """names of the row's cells that diverged under their trained protocol"""
    num_cells: int = 0

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
    curves_path: Path | None = None
    diverged: list[DivergedCell] = field(default_factory=list)


@dataclass
class DivergedCell:
    """A trained cell that diverged: its Dice (%) before any step and after the last."""

    cell: str
    learner: str
    seed: int
    initial: float
    final: float
    reason: str


def _row_cells(suite: Suite, group: str) -> list[Cell]:
    return [cell for cell in suite.cells if cell.group == group]


def row_evaluations(
    suite: Suite, out_dir: Path, group: str, variant: str
) -> dict[int, dict[str, Any]]:
    """The evaluation records of a row's finished cells under ``variant``, by seed."""
    records: dict[int, dict[str, Any]] = {}
    for cell in _row_cells(suite, group):
        result = read_result(out_dir, cell)
        evaluation = None if result is None else result.get("evaluations", {}).get(variant)
        if evaluation is not None:
            records[cell.seed] = evaluation
    return records


def row_dice(
    suite: Suite, out_dir: Path, group: str, variant: str
) -> tuple[dict[int, np.ndarray], list[int], dict[str, float]]:
    """Per-seed Dice ``(cases, T + 1)`` of a row, its clicks per step and mean NoC values."""
    records = row_evaluations(suite, out_dir, group, variant)
    per_seed = {seed: np.asarray(record["dice"], float) for seed, record in records.items()}
    clicks = list(next(reversed(records.values()))["clicks_used"]) if records else []
    nocs = [record.get("noc", {}) for record in records.values()]
    noc = {key: float(np.mean([n[key] for n in nocs])) for key in (nocs[0] if nocs else {})}
    return per_seed, clicks, noc


def seed_metrics(evaluation: Mapping[str, Any]) -> dict[str, float]:
    """One cell's means over its test cases: DSC_AUC, NSD_AUC, final DSC / NSD (%), FPV, FNV, ms.

    A record written before a metric existed gives NaN for it.
    """
    dice = np.asarray(evaluation["dice"], float)
    metrics = {
        "dsc_auc": float(np.mean([interaction_auc(np.clip(d, 0, 1)) for d in dice])),
        "final_dsc": 100.0 * float(dice[:, -1].mean()),
        "nsd_auc": math.nan,
        "final_nsd": math.nan,
    }
    if evaluation.get("nsd") is not None:
        nsd = np.asarray(evaluation["nsd"], float)
        metrics["nsd_auc"] = float(np.mean([interaction_auc(np.clip(n, 0, 1)) for n in nsd]))
        metrics["final_nsd"] = 100.0 * float(nsd[:, -1].mean())
    for key, scale in (
        ("false_positive_volume", 1.0),
        ("false_negative_volume", 1.0),
        ("seconds_per_step", 1000.0),
    ):
        values = evaluation.get(key)
        metrics[key] = math.nan if values is None else scale * float(np.mean(values))
    return metrics


def divergence(result: Mapping[str, Any]) -> tuple[float, float, str] | None:
    """``(initial %, final %, why)`` if a trained cell diverged under its trained protocol."""
    evaluation = result.get("evaluations", {}).get(TRAINED_VARIANT)
    if evaluation is None:
        return None
    dice = np.asarray(evaluation["dice"], float)
    initial, final = float(dice[:, 0].mean()), float(dice[:, -1].mean())
    if final <= COLLAPSE_DICE:
        why = f"collapsed: final Dice {100 * final:.2f} % ≤ {100 * COLLAPSE_DICE:g} %"
    elif final < initial:
        why = f"final Dice {100 * final:.2f} % below its start {100 * initial:.2f} %"
    else:
        return None
    return 100.0 * initial, 100.0 * final, why


def diverged_cells(suite: Suite, out_dir: Path) -> list[DivergedCell]:
    """Every finished trained cell of ``suite`` that diverged (see the module docstring)."""
    found = []
    for cell in suite.cells:
        result = read_result(out_dir, cell) if cell.trained else None
        verdict = None if result is None else divergence(result)
        if verdict is not None:
            found.append(DivergedCell(cell.name, cell.learner, cell.seed, *verdict))
    return found


def paired_comparison(
    row: Mapping[int, np.ndarray], reference: Mapping[int, np.ndarray]
) -> tuple[float, float, float, int]:
    """Δ (points), its 95 % CI half-width over shared seeds, the Wilcoxon p, the case count.

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
    spread = t_interval(per_seed)[1]
    if not np.any(np.abs(difference) > 1e-9):
        p_value = 1.0
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p_value = float(stats.wilcoxon(difference, zero_method="wilcox").pvalue)
    return float(difference.mean()), spread, p_value, int(difference.size)


def summarise_row(
    suite: Suite, out_dir: Path, row: Row, label: str | None = None, variant: str | None = None
) -> RowSummary:
    """The statistics of one row (optionally under another variant) without comparisons."""
    chosen = row.variant if variant is None else variant
    records = row_evaluations(suite, out_dir, row.group, chosen)
    cells = _row_cells(suite, row.group)
    summary = RowSummary(label or row.label, row.group, chosen, paper=row.paper)
    summary.trained = any(cell.trained for cell in cells)
    summary.num_cells = len(cells)
    if not records:
        return summary
    per_seed_dice = {seed: np.asarray(r["dice"], float) for seed, r in records.items()}
    means = np.stack([100.0 * values.mean(axis=0) for values in per_seed_dice.values()])
    summary.seeds = sorted(records)
    summary.dice_mean = means.mean(axis=0)
    if len(means) >= 2:
        summary.dice_std = means.std(axis=0, ddof=1)
        summary.dice_ci = np.array([t_interval(means[:, t])[1] for t in range(means.shape[1])])
    else:
        summary.dice_std = summary.dice_ci = np.full(means.shape[1], np.nan)
    summary.clicks = list(next(reversed(records.values()))["clicks_used"])
    nocs = [r.get("noc", {}).get("NoC@85", math.nan) for r in records.values()]
    summary.noc85 = float(np.mean(nocs))
    metrics = [seed_metrics(record) for record in records.values()]
    for name, key in (
        ("dsc_auc", "dsc_auc"),
        ("nsd_auc", "nsd_auc"),
        ("final_dsc", "final_dsc"),
        ("final_nsd", "final_nsd"),
        ("false_positive_volume", "false_positive_volume"),
        ("false_negative_volume", "false_negative_volume"),
        ("ms_per_step", "seconds_per_step"),
    ):
        setattr(summary, name, Estimate.of([m[key] for m in metrics]))
    for cell in cells:
        result = read_result(out_dir, cell) if cell.trained else None
        if result is not None and divergence(result) is not None:
            summary.diverged.append(cell.name)
    return summary


def summarise_table(suite: Suite, out_dir: Path, table: Table) -> dict[str, RowSummary]:
    """Statistics of every row of a per-step table (see the module docstring)."""
    summaries: dict[str, RowSummary] = {}
    groups = {row.label: row.group for row in table.rows}
    reference_dice: dict[int, np.ndarray] = {}
    if not table.against_variant and table.reference in groups:
        reference_row = next(row for row in table.rows if row.label == table.reference)
        reference_dice = row_dice(suite, out_dir, reference_row.group, reference_row.variant)[0]
    for row in table.rows:
        summary = summarise_row(suite, out_dir, row)
        if summary.dice_mean is not None:
            if table.against_variant:
                against = row_dice(suite, out_dir, row.group, table.against_variant)[0]
            else:
                against = {} if row.label == table.reference else reference_dice
            per_seed = row_dice(suite, out_dir, row.group, row.variant)[0]
            if against:
                summary.delta, summary.delta_std, summary.p_value, summary.num_cases = (
                    paired_comparison(per_seed, against)
                )
        summaries[row.label] = summary
    return summaries


# ------------------------------------------------------------------------------------ markdown


def _fmt(value: float | None, digits: int = 2, signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _p_text(value: float) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:.3f}" if value >= 0.001 else f"{value:.1e}"


def _with_ci(mean: float, half_width: float, digits: int = 2) -> str:
    if not math.isfinite(mean):
        return "–"
    return f"{mean:.{digits}f} ± {_fmt(half_width, digits)}"


def _seeds_text(summary: RowSummary) -> str:
    if not summary.trained:
        return "– (no training)"
    return ",".join(str(seed) for seed in summary.seeds)


def _diverged_text(summary: RowSummary) -> str:
    if not summary.trained:
        return "–"
    count = len(summary.diverged)
    return f"{count}/{summary.num_cells} ⚠" if count else f"0/{summary.num_cells}"


def steps_table_markdown(
    table: Table, summaries: Mapping[str, RowSummary], against: str | None = None
) -> str:
    """The Markdown of a per-step table: Dice ± 95 % CI per step and the paired comparisons."""
    known = [s for s in summaries.values() if s.dice_mean is not None]
    known.sort(key=lambda s: s.label != table.reference)  # the reference row's clicks first
    steps = known[0].dice_mean.size if known else 0  # type: ignore[union-attr]
    clicks = known[0].clicks if known else []
    compared = against or table.against_variant or table.reference
    header = [
        "row",
        *(
            f"Dice@{t} ({clicks[t]:.1f} clicks)" if t < len(clicks) else f"Dice@{t}"
            for t in range(steps)
        ),
        f"Δ final vs {compared}",
        "p (Wilcoxon)",
        "NoC@85",
        "seeds",
        "diverged",
        "paper",
    ]
    rows = [header]
    for summary in summaries.values():
        if summary.dice_mean is None or summary.dice_ci is None:
            rows.append([summary.label, *("not run" for _ in range(steps)), *[""] * 6])
            continue
        dice_cells = [
            _with_ci(mean, half)
            for mean, half in zip(summary.dice_mean, summary.dice_ci, strict=True)
        ]
        is_reference = summary.label == table.reference and not table.against_variant
        delta = "(reference)" if is_reference else _delta_text(summary)
        rows.append(
            [
                summary.label,
                *dice_cells,
                delta,
                "" if is_reference else _p_text(summary.p_value),
                _fmt(summary.noc85, 1),
                _seeds_text(summary),
                _diverged_text(summary),
                _fmt(summary.paper) if summary.paper is not None else "–",
            ]
        )
    return markdown_table(rows)


METRICS_TITLE = (
    "Interactive 3D metrics (CVPR 2025 protocol; lesion volumes of autoPET IV), mean ± 95 % CI "
    "over seeds:"
)


def metrics_table_markdown(summaries: Mapping[str, RowSummary]) -> str:
    """DSC_AUC, NSD_AUC, final DSC / NSD, FPV / FNV and ms/step of every row, ± 95 % CI."""
    header = [
        "row",
        "DSC_AUC",
        "NSD_AUC",
        "final DSC (%)",
        "final NSD (%)",
        "FPV (mm³)",
        "FNV (mm³)",
        "ms/step",
        "seeds",
    ]
    rows = [header]
    for summary in summaries.values():
        if summary.dice_mean is None:
            rows.append([summary.label, *("not run" for _ in range(7)), ""])
            continue
        rows.append(
            [
                summary.label,
                _with_ci(summary.dsc_auc.mean, summary.dsc_auc.half_width, 3),
                _with_ci(summary.nsd_auc.mean, summary.nsd_auc.half_width, 3),
                _with_ci(summary.final_dsc.mean, summary.final_dsc.half_width),
                _with_ci(summary.final_nsd.mean, summary.final_nsd.half_width),
                _with_ci(
                    summary.false_positive_volume.mean, summary.false_positive_volume.half_width, 1
                ),
                _with_ci(
                    summary.false_negative_volume.mean, summary.false_negative_volume.half_width, 1
                ),
                _with_ci(summary.ms_per_step.mean, summary.ms_per_step.half_width, 1),
                _seeds_text(summary),
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
    """Final Dice (%) ± 95 % CI of every row under each column's variant (IteR-MRL Table 1).

    Returns the matrix and one summary per (row, column) pair, labelled ``"row, start column"``
    (no ``|``: the label is a Markdown cell).
    """
    rows = [["row", *(label for label, _variant in table.columns)]]
    summaries: dict[str, RowSummary] = {}
    for row in table.rows:
        line = [row.label]
        for label, variant in table.columns:
            summary = summarise_row(suite, out_dir, row, f"{row.label}, start {label}", variant)
            summary.paper = None
            summaries[summary.label] = summary
            if summary.dice_mean is None:
                line.append("not run")
                continue
            half = summary.dice_ci[-1] if summary.dice_ci is not None else math.nan
            line.append(_with_ci(summary.final, half))
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
        f"- Data: synthetic {kind} {shape} (family {args.family}"
        f"{', domain-randomised' if args.randomise else ''}, difficulty {args.difficulty}, "
        f"data seed {args.data_seed}); {args.num_train_cases} training cases (`train2`), "
        f"{args.num_test_cases} held-out test cases (`test`), one test episode per case."
    )


def _start_of(args: Any) -> str:
    if getattr(args, "dataset", ""):
        return "the coarse network's probability (trained on `train1`)"
    if getattr(args, "start", "degraded") == "image_aware":
        return f"the image-aware start (errors where the image misleads), Dice {args.target_dice}"
    return f"degraded ground truth with Dice {args.target_dice}"


def provenance_lines(suite: Suite, out_dir: Path, session_wall_s: float | None) -> list[str]:
    """The header of a report: data, size, protocol, seeds, revisions, hardware, wall time."""
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
        f"- Size: {shape} voxels per case, spacing 1 mm.",
        f"- Protocol: p(0) = {_start_of(args)}; "
        f"{args.initial_clicks} clicks on p(0), then {args.clicks_per_step} per step "
        f"(largest-error user unless a row says otherwise); T = {profile.eval_steps} at test, "
        f"greedy actions, evaluation seed {profile.eval_seed}.",
        f"- Training seeds: {', '.join(map(str, seeds)) or '–'} ({len(seeds)} per trained row).",
        f"- Statistics: mean over seeds ± the half-width of the {100 * CONFIDENCE:g} % Student-t "
        "confidence interval over seeds.",
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


DIVERGED_TITLE = "## Diverged cells"
DIVERGED_NOTE = (
    "A trained cell diverged when, under the protocol it was trained for (largest-error user, "
    "the same start), its final Dice is at or below 1 % (collapsed) or below its Dice before "
    "any step. A collapsed cell is a learner failure to report, not a result about the reward "
    "or setting it was trained with: its rows include it (and say how many of their cells "
    "diverged), so compare such rows with care."
)


def diverged_markdown(cells: list[DivergedCell], finished: int) -> str:
    """The "Diverged cells" section: the note and one line per diverged cell."""
    lines = [DIVERGED_TITLE, "", DIVERGED_NOTE, ""]
    if not cells:
        lines.append(f"None of the {finished} finished trained cells diverged.")
        return "\n".join(lines)
    rows = [["cell", "learner", "seed", "initial Dice (%)", "final Dice (%)", "why"]]
    rows += [
        [d.cell, d.learner, str(d.seed), f"{d.initial:.2f}", f"{d.final:.2f}", d.reason]
        for d in cells
    ]
    lines.append(f"{len(cells)} of {finished} finished trained cells diverged ⚠:")
    lines += ["", markdown_table(rows)]
    return "\n".join(lines)


_STATISTICS_NOTE = (
    "Dice (%): mean over seeds of the mean over test cases, ± the half-width of the 95 % "
    "Student-t confidence interval over seeds, t(0.975, n−1)·s/√n (– with one seed). Δ: the "
    "paired difference at the final step, case by case (each side averaged over its seeds), in "
    "points, ± the 95 % t-interval of the per-seed mean differences. p: two-sided Wilcoxon "
    "signed-rank test over the n test cases. NoC@85: clicks to reach Dice 0.85 (the click "
    "budget if never reached). diverged: how many of the row's cells diverged (see Diverged "
    "cells). DSC_AUC / NSD_AUC: the CVPR 2025 interactive 3D challenge's trapezoidal area "
    "(scipy.integrate.cumulative_trapezoid, unit spacing) over the Dice / NSD after each "
    "interaction step, without the start (at most T − 1). NSD: normalised surface Dice at 2 mm, "
    "0 where the Dice ≤ 0.2 as that evaluator scores it. FPV / FNV: autoPET IV's false-positive "
    "/ false-negative component volumes of the final prediction (18-connectivity), mm³. "
    "ms/step: the policy's wall time per interaction step, measured in the evaluation loop on "
    "the hardware above (machine load included). Paper: the paper's Dice after 5 steps "
    "(BraTS2015, 55×55×30), for the ordering, not for the values."
)


# ---------------------------------------------------------------------------------- csv, png


CSV_FIELDS = [
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
    "nsd_mean",
    "dsc_auc",
    "nsd_auc",
    "false_positive_volume_mm3",
    "false_negative_volume_mm3",
    "ms_per_step",
    "diverged",
]


def write_csv(suite: Suite, out_dir: Path, path: Path) -> None:
    """One line per (table row, cell, step), each with its data size, revision and machine."""
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
                if result is None or evaluation is None:
                    continue
                dice = np.asarray(evaluation["dice"], float)
                nsd = evaluation.get("nsd")
                nsd_values = None if nsd is None else np.asarray(nsd, float)
                metrics = seed_metrics(evaluation)
                args = result["config"]["args"]
                trained_on = result.get("trained_on", {})
                diverged = cell.trained and divergence(result) is not None
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
                            "train_wall_s": result["train"]["wall_s"],
                            "revision": trained_on.get("revision"),
                            "hardware": hardware_line(trained_on),
                            "nsd_mean": ""
                            if nsd_values is None
                            else round(float(nsd_values[:, step].mean()), 6),
                            "dsc_auc": _csv_number(metrics["dsc_auc"]),
                            "nsd_auc": _csv_number(metrics["nsd_auc"]),
                            "false_positive_volume_mm3": _csv_number(
                                metrics["false_positive_volume"]
                            ),
                            "false_negative_volume_mm3": _csv_number(
                                metrics["false_negative_volume"]
                            ),
                            "ms_per_step": _csv_number(metrics["seconds_per_step"]),
                            "diverged": int(diverged),
                        }
                    )
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=CSV_FIELDS)
    writer.writeheader()
    writer.writerows(lines)
    atomic_write_text(path, text.getvalue())


def _csv_number(value: float) -> str | float:
    return "" if not math.isfinite(value) else round(value, 6)


def _figure(panels: int, columns: int, width: float, height: float) -> tuple[Any, np.ndarray]:
    """A constrained-layout figure with an Agg canvas (no pyplot: no global backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    columns = max(1, min(columns, panels))
    rows = max(1, math.ceil(panels / columns))
    figure = Figure(figsize=(width * columns, height * rows + 0.5), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    return figure, axes


def write_png(
    suite: Suite, tables: Mapping[str, Mapping[str, RowSummary]], path: Path, subtitle: str
) -> None:
    """Dice vs step per row, one panel per per-step table, bands = 95 % CI over seeds."""
    panels = [table for table in suite.tables if not table.columns]
    figure, axes = _figure(len(panels), 3, 5.2, 3.9)
    for axis, table in zip(axes, panels, strict=False):
        for summary in tables[table.key].values():
            if summary.dice_mean is None or summary.dice_ci is None:
                continue
            steps = np.arange(summary.dice_mean.size)
            style = "-" if summary.label == table.reference else "--"
            label = summary.label + (" ⚠" if summary.diverged else "")
            (line,) = axis.plot(steps, summary.dice_mean, style, marker="o", label=label)
            if np.all(np.isfinite(summary.dice_ci)):
                axis.fill_between(
                    steps,
                    np.clip(summary.dice_mean - summary.dice_ci, 0.0, 100.0),
                    np.clip(summary.dice_mean + summary.dice_ci, 0.0, 100.0),
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
    figure.suptitle(
        f"{suite.name} ({suite.profile.name}): {subtitle}; bands: 95 % CI over seeds", fontsize=9
    )
    atomic_write(path, lambda stream: figure.savefig(stream, format="png", dpi=110))


@dataclass
class TrainingCurve:
    """A run's learning curve: a value per logged update, and the episodes' start Dice."""

    updates: np.ndarray
    values: np.ndarray
    name: str
    """what ``values`` are: the final Dice of the training episodes (%), or their return"""
    start: float = math.nan
    """mean Dice (%) of the training episodes before any step, NaN if not logged"""


def training_curve(run_dir: Path) -> TrainingCurve | None:
    """A run's learning curve from ``scalars.jsonl``, None without a log.

    The final Dice (%) of the training episodes per logged update (``charts/final_dice``),
    or the episode return where no Dice is logged.
    """
    path = Path(run_dir) / "scalars.jsonl"
    if not path.exists():
        return None
    points: dict[str, list[tuple[float, float]]] = {"dice": [], "return": []}
    starts: list[float] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if "charts/final_dice" in record:
            points["dice"].append((float(record["step"]), 100.0 * record["charts/final_dice"]))
            if "charts/initial_dice" in record:
                starts.append(100.0 * record["charts/initial_dice"])
        elif "charts/episode_return" in record:
            points["return"].append((float(record["step"]), record["charts/episode_return"]))
    for name, found in (("final Dice of training episodes (%)", "dice"), ("return", "return")):
        if points[found]:
            updates, values = np.asarray(points[found]).T
            start = float(np.mean(starts)) if starts and found == "dice" else math.nan
            return TrainingCurve(updates, values, name, start)
    return None


def _smooth(values: np.ndarray) -> np.ndarray:
    """A centred moving average over about 1/20 of the curve (at least one point)."""
    window = max(1, values.size // 20)
    if window == 1:
        return values
    kernel = np.ones(window) / window
    padded = np.pad(values, (window // 2, window - 1 - window // 2), mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def write_curves_png(suite: Suite, out_dir: Path, path: Path) -> None:
    """The learning curve of every trained cell, one panel per row group, a line per seed."""
    groups = list(dict.fromkeys(cell.group for cell in suite.cells if cell.trained))
    figure, axes = _figure(max(1, len(groups)), 4, 4.2, 3.0)
    for axis, group in zip(axes, groups, strict=False):
        ylabel = ""
        starts = []
        for cell in _row_cells(suite, group):
            curve = training_curve(cell_dir(out_dir, cell) / "run")
            if curve is None:
                continue
            ylabel = curve.name
            axis.plot(curve.updates, _smooth(curve.values), lw=1.0, label=f"seed {cell.seed}")
            starts.append(curve.start)
        if starts and np.isfinite(starts).all():
            axis.axhline(float(np.mean(starts)), color="0.5", ls=":", lw=1.0, label="start")
        axis.set_title(group, fontsize=9)
        axis.set_xlabel("update")
        axis.set_ylabel(ylabel or "final Dice (%)", fontsize=8)
        axis.grid(alpha=0.3)
        if axis.get_lines():
            axis.legend(fontsize=6)
        else:
            axis.text(0.5, 0.5, "no log yet", ha="center", transform=axis.transAxes)
    for axis in axes[len(groups) :]:
        axis.set_visible(False)
    figure.suptitle(
        f"{suite.name} ({suite.profile.name}): learning curves (moving average); has the "
        "budget flattened them?",
        fontsize=9,
    )
    atomic_write(path, lambda stream: figure.savefig(stream, format="png", dpi=100))


# ------------------------------------------------------------------------------------ all of it


def write_reports(
    suite: Suite, out_dir: str | os.PathLike[str], *, session_wall_s: float | None = None
) -> SuiteReport:
    """Write ``OUT/<suite>.md``, ``.csv``, ``.png`` and ``_curves.png`` from the finished cells."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    header = provenance_lines(suite, out, session_wall_s)
    sections = ["\n".join(header)]
    tables: dict[str, dict[str, RowSummary]] = {}
    for table in suite.tables:
        if table.columns:
            text, summaries = matrix_table_markdown(suite, out, table)
            body = [f"## {table.title}", "", text, "", table.note, ""]
            body += ["Dice (%) after each step from each start, ± 95 % CI over seeds:", ""]
            body += [steps_table_markdown(table, summaries, against="–"), ""]
        else:
            summaries = summarise_table(suite, out, table)
            body = [f"## {table.title}", "", steps_table_markdown(table, summaries), ""]
            body += [table.note, "", ordering_line(summaries), ""]
        body += [METRICS_TITLE, "", metrics_table_markdown(summaries)]
        tables[table.key] = summaries
        sections.append("\n".join(line for line in body).rstrip())
    sections.append(_STATISTICS_NOTE)
    diverged = diverged_cells(suite, out)
    finished = sum(1 for cell in suite.cells if cell.trained and read_result(out, cell))
    sections.append(diverged_markdown(diverged, finished))
    sections.append("## Cells\n\n" + cells_markdown(suite, out))
    markdown_path = out / f"{suite.name}.md"
    atomic_write_text(markdown_path, "\n\n".join(sections) + "\n")
    csv_path = out / f"{suite.name}.csv"
    write_csv(suite, out, csv_path)
    png_path = out / f"{suite.name}.png"
    subtitle = header[3].removeprefix("- Data: ").split(";")[0]
    write_png(suite, tables, png_path, subtitle)
    curves_path = out / f"{suite.name}_curves.png"
    write_curves_png(suite, out, curves_path)
    return SuiteReport(
        suite.name, out, markdown_path, csv_path, png_path, tables, curves_path, diverged
    )
