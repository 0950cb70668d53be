"""Step 6 exercise: compare your reward design with the benchmark runner and read its CSV.

Fill in the functions below (replace each ``raise NotImplementedError``), then run the checks
from the project root::

    pytest course/06_compare_rewards

Everything you need is in this step's README.md. Step 2 must pass first: this step registers
your ``balanced_gain``.
"""

from __future__ import annotations

import csv  # noqa: F401  (you will need it)
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import numpy as np


def reward_design_module() -> ModuleType:
    """Your step-2 module, where ``balanced_gain`` lives (given, not a TODO)."""
    path = Path(__file__).resolve().parents[1] / "02_reward_design" / "exercise.py"
    spec = importlib.util.spec_from_file_location("course_step6_reward_design", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def designs_to_compare() -> list[str]:
    """Register your step-2 ``balanced_gain`` and return ``["relative", <its name>]``."""
    # TODO: reward_design_module() is your step-2 module; it has a function that registers
    # balanced_gain and returns the name.
    raise NotImplementedError("step 6: write designs_to_compare")


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
    # TODO: csv.DictReader(open(csv_path, newline="")) yields one dict per line; keep the
    # lines of this design and variant, group dice_mean by step, average over the seeds.
    raise NotImplementedError("step 6: write dice_curve")


def final_dice_by_design(csv_path: Path, variant: str = "good") -> dict[str, float]:
    """Every design's Dice (fraction) after the last step, averaged over its seeds."""
    # TODO: the designs are the distinct values of the CSV's row column.
    raise NotImplementedError("step 6: write final_dice_by_design")


def winner(final_dice: Mapping[str, float]) -> str:
    """The design with the highest final Dice; a tie goes to the name first in sorted order."""
    # TODO: max() or min() with a key function.
    raise NotImplementedError("step 6: write winner")
