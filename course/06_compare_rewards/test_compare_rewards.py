"""Checks of step 5: run ``pytest course/05_compare_rewards`` from the project root."""

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from segenv.rewards import REWARDS, RewardInputs, cross_entropy

FIELDS = ["suite", "table", "row", "group", "cell", "learner", "seed", "variant", "step",
          "clicks", "dice_mean", "dice_std_cases", "episodes"]  # fmt: skip
# design → seed → Dice per step (fractions); a "bad" variant line must be ignored
RESULTS = {
    "relative": {0: [0.75, 0.80, 0.82], 1: [0.75, 0.78, 0.84]},
    "balanced_gain": {0: [0.75, 0.81, 0.85], 1: [0.75, 0.79, 0.86]},
}


@pytest.fixture
def results_csv(tmp_path):
    path = tmp_path / "reward_designs.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for design, seeds in RESULTS.items():
            for seed, dice in seeds.items():
                for variant, shift in (("good", 0.0), ("bad", -0.5)):
                    for step, value in enumerate(dice):
                        cell = f"a3c-{design}-s{seed}"
                        writer.writerow({
                            "suite": "reward_designs", "table": "reward_designs", "row": design,
                            "group": f"a3c-{design}", "cell": cell, "learner": "a3c",
                            "seed": seed, "variant": variant, "step": step, "clicks": 5 * step,
                            "dice_mean": value + shift, "dice_std_cases": 0.01, "episodes": 24,
                        })  # fmt: skip
    return path


# --- designs_to_compare ------------------------------------------------------------------------


def test_designs_to_compare_registers_the_step2_design(exercise):
    designs = exercise.designs_to_compare()
    assert designs[0] == "relative" and len(designs) == 2
    design = REWARDS.get(designs[1])
    previous = np.array([0.5, 0.5], dtype=np.float32)
    current = np.array([0.9, 0.9], dtype=np.float32)
    label = np.array([True, False])
    inputs = RewardInputs(
        previous, current, label, cross_entropy(previous, label), cross_entropy(current, label)
    )
    expected = [4 * (math.log(0.9) - math.log(0.5)), math.log(0.1) - math.log(0.5)]
    np.testing.assert_allclose(design(inputs), expected, rtol=1e-5)


# --- reading the CSV ---------------------------------------------------------------------------


def test_dice_curve_averages_the_seeds(exercise, results_csv):
    np.testing.assert_allclose(exercise.dice_curve(results_csv, "relative"), [0.75, 0.79, 0.83])
    np.testing.assert_allclose(
        exercise.dice_curve(results_csv, "balanced_gain", variant="bad"), [0.25, 0.30, 0.355]
    )


def test_final_dice_by_design(exercise, results_csv):
    final = exercise.final_dice_by_design(results_csv)
    assert set(final) == {"relative", "balanced_gain"}
    assert final["relative"] == pytest.approx(0.83)
    assert final["balanced_gain"] == pytest.approx(0.855)


def test_winner(exercise, results_csv):
    assert exercise.winner(exercise.final_dice_by_design(results_csv)) == "balanced_gain"
    assert exercise.winner({"relative": 0.9, "focal": 0.8}) == "relative"
    assert exercise.winner({"relative": 0.8, "focal": 0.8}) == "focal"  # a tie: sorted order


# --- with the benchmark runner -----------------------------------------------------------------


def test_reading_a_real_run_of_the_runner(exercise, tmp_path):
    from segenv_agents.suites import compare_reward_designs

    designs = exercise.designs_to_compare()
    report = compare_reward_designs(
        designs, profile="tiny", out_dir=tmp_path, seeds=[0], show_progress=False
    )
    final = exercise.final_dice_by_design(report.csv_path)
    assert set(final) == set(designs)
    summaries = report.tables["reward_designs"]
    for design in designs:
        assert 100 * final[design] == pytest.approx(summaries[design].final, abs=1e-3)
        curve = exercise.dice_curve(report.csv_path, design)
        np.testing.assert_allclose(100 * curve, summaries[design].dice_mean, atol=1e-3)
    assert exercise.winner(final) in designs


# --- answers.py: the result and its evidence ---------------------------------------------------


def answer(answers, name):
    value = getattr(answers, name, None)
    if value is None or (isinstance(value, str) and not value.strip()):
        pytest.fail(f"answers.py: fill in {name}", pytrace=False)
    return value


@pytest.fixture(scope="module")
def evidence(answers):
    """The student's CSV (``EVIDENCE``, relative to answers.py) and its rows."""
    path = Path(answers.__file__).parent / str(getattr(answers, "EVIDENCE", "") or "?")
    if not path.is_file():
        pytest.fail(f"answers.py: no evidence at {path}; copy reward_designs.csv there",
                    pytrace=False)  # fmt: skip
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["variant"] == "good"]
    return path, rows


@pytest.mark.parametrize(
    ("name", "design"),
    [("RELATIVE_FINAL_DICE", "relative"), ("BALANCED_GAIN_FINAL_DICE", "balanced_gain")],
)
def test_answer_final_dice_is_in_the_evidence(exercise, answers, evidence, name, design):
    given = float(answer(answers, name))
    final = exercise.final_dice_by_design(evidence[0])
    assert design in final, f"the evidence has no {design!r} row"
    assert given == pytest.approx(final[design], abs=6e-4), (
        f"{name} = {given}, but your CSV gives {final[design]:.4f}"
    )


def test_answer_winner_follows_the_evidence(exercise, answers, evidence):
    given = answer(answers, "WINNER")
    assert given == exercise.winner(exercise.final_dice_by_design(evidence[0])), (
        "WINNER: the design with the higher final Dice in your CSV"
    )


@pytest.mark.parametrize(
    ("name", "column"), [("NUM_SEEDS", "seed"), ("NUM_TEST_CASES", "episodes")]
)
def test_answer_counts_what_stands_behind_the_result(answers, evidence, name, column):
    given = int(answer(answers, name))
    values = {row[column] for row in evidence[1]}
    expected = len(values) if column == "seed" else int(max(values, key=int))
    assert given == expected, f"{name} = {given}; count the {column!r} column of your CSV"


@pytest.mark.points(3)
def test_conclusion_is_there(answers):
    words = len(str(answer(answers, "CONCLUSION")).split())
    assert words >= 40, f"answers.py: CONCLUSION has {words} words; write three to five sentences"
