"""Reference solution of step 6 (compare reward designs). Try the exercise before reading it."""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import numpy as np

from segenv.rewards import REWARDS


def reward_design_module() -> ModuleType:
    """Your step-2 module, where ``balanced_gain`` lives (given, not a TODO)."""
    here = Path(__file__).resolve()
    path = here.parent / "02_reward_design.py"  # course/solutions/
    if not path.exists():  # a submission laid out as the hand-out: <step>/exercise.py
        path = here.parents[1] / "02_reward_design" / "exercise.py"
    spec = importlib.util.spec_from_file_location("course_step6_reward_design", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def designs_to_compare() -> list[str]:
    """Register your step-2 ``balanced_gain`` and return ``["relative", <its name>]``."""
    name = reward_design_module().register_balanced_gain()
    if name not in REWARDS:
        raise RuntimeError(f"{name!r} did not end up in segenv.rewards.REWARDS")
    return ["relative", name]


def _rows(csv_path: Path, variant: str) -> list[dict[str, str]]:
    with Path(csv_path).open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["variant"] == variant]


def dice_curve(csv_path: Path, design: str, variant: str = "good") -> np.ndarray:
    """Mean Dice (fraction) of one design after each step, averaged over its seeds.

    Args:
        csv_path: The runner's ``reward_designs.csv`` (one line per row, cell and step; the
            design is the ``row`` column, the Dice the ``dice_mean`` column).
        design: The design (row) to read.
        variant: The test-time variant (``"good"``: the standard protocol).

    Returns:
        ``(T + 1,)`` float, step 0 first.
    """
    by_step: dict[int, list[float]] = {}
    for row in _rows(csv_path, variant):
        if row["row"] == design:
            by_step.setdefault(int(row["step"]), []).append(float(row["dice_mean"]))
    if not by_step:
        raise KeyError(f"{design!r} has no lines in {csv_path} (variant {variant!r})")
    return np.array([np.mean(by_step[step]) for step in sorted(by_step)])


def final_dice_by_design(csv_path: Path, variant: str = "good") -> dict[str, float]:
    """Every design's Dice (fraction) after the last step, averaged over its seeds."""
    designs = dict.fromkeys(row["row"] for row in _rows(csv_path, variant))
    return {design: float(dice_curve(csv_path, design, variant)[-1]) for design in designs}


def winner(final_dice: Mapping[str, float]) -> str:
    """The design with the highest final Dice; a tie goes to the name first in sorted order."""
    return min(final_dice, key=lambda design: (-final_dice[design], design))
