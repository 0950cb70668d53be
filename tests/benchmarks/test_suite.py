"""Benchmark suites (segenv_agents.suites): tiny end-to-end runs, resume, re-runs, reports."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from benchmark_runs import run_script

from segenv.errors import ConfigError
from segenv.rewards import REWARDS
from segenv_agents import cli
from segenv_agents.suites import runner as suite
from segenv_agents.suites.report import paired_comparison
from segenv_agents.suites.validate import validate_report

CALLS = {"half_gain": 0}


@REWARDS.register("half_gain", overwrite=True)
def half_gain(inputs):
    CALLS["half_gain"] += 1
    return 0.5 * inputs.gain


@pytest.fixture(scope="module")
def designs_run(tmp_path_factory):
    """The tiny reward-design suite with a design registered in this process."""
    out = tmp_path_factory.mktemp("bench")
    before = CALLS["half_gain"]
    report = suite.compare_reward_designs(
        ["half_gain", "focal"], profile="tiny", out_dir=out, show_progress=False
    )
    return out / "tiny", report, CALLS["half_gain"] - before


def _result(out, name):
    return json.loads((out / "cells" / name / "result.json").read_text())


def test_custom_reward_trains_in_process_and_reports_are_written(designs_run):
    out, report, calls = designs_run
    assert calls > 0  # the registered reward ran inside the training envs of this process
    names = sorted(path.name for path in (out / "cells").iterdir())
    assert names == ["a3c-focal-s0", "a3c-half_gain-s0", "a3c-relative-s0"]  # + the reference
    record = _result(out, "a3c-half_gain-s0")
    assert record["config"]["args"]["reward"] == "half_gain"
    assert record["train"]["updates"] == 2
    good = record["evaluations"]["good"]
    dice = np.asarray(good["dice"])
    assert dice.shape == (2, 6) and np.all((dice >= 0) & (dice <= 1))
    nsd = np.asarray(good["nsd"])
    assert nsd.shape == (2, 6) and np.all((nsd >= 0) & (nsd <= 1))
    assert np.all(nsd[dice <= 0.2] == 0)  # the CVPR 2025 evaluator's rule
    assert len(good["false_positive_volume"]) == len(good["false_negative_volume"]) == 2
    assert all(seconds > 0 for seconds in good["seconds_per_step"])
    assert good["protocol"]["metrics"] == 2 and good["protocol"]["nsd_tolerance_mm"] == 2.0
    assert set(record["evaluations"]) == {"good", "perturbed"}
    text = report.markdown_path.read_text()
    for needle in (
        "Data: synthetic 2D slices 16×16",
        "Training seeds: 0",
        "git revision",
        "Hardware:",
        "torch",
        "Wall time",
        "| half_gain |",
        "Wilcoxon",
        "95 % Student-t",
        "| row | DSC_AUC | NSD_AUC | final DSC (%) | final NSD (%) | FPV (mm³) | FNV (mm³) "
        "| ms/step | seeds |",
        "| diverged |",
        "## Diverged cells",
        "not a result about the reward",
        "Δ final vs good",  # the robustness table compares each design with itself
        "## Cells",
    ):
        assert needle in text
    lines = report.csv_path.read_text().splitlines()
    assert lines[0].startswith("suite,table,row,group,cell,learner,seed,variant,step")
    assert "nsd_mean,dsc_auc,nsd_auc" in lines[0] and lines[0].endswith("ms_per_step,diverged")
    assert len(lines) == 1 + 2 * 3 * 6  # one line per table × cell × step
    for path in (report.png_path, report.curves_path):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = report.tables["reward_designs"]
    assert set(summary) == {"relative", "half_gain", "focal"}
    assert summary["relative"].dice_mean.shape == (6,)
    assert summary["focal"].num_cases == 2
    assert np.isfinite(summary["focal"].nsd_auc.mean)
    assert np.isfinite(summary["focal"].ms_per_step.mean)
    assert np.isnan(summary["focal"].dsc_auc.half_width)  # one seed: no interval
    robustness = report.tables["robustness"]
    assert robustness["focal"].variant == "perturbed" and robustness["focal"].num_cases == 2


def test_finished_cells_are_skipped_and_an_interrupted_one_resumes(designs_run):
    out, _, _ = designs_run
    built = suite.build_suite("reward_designs", "tiny", designs=["half_gain", "focal"])
    stamps = {p: p.stat().st_mtime_ns for p in (out / "cells").glob("*/result.json")}
    suite.run_suite(built, out, show_progress=False)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # nothing re-ran

    # interrupted during evaluation: trained.json is there, so the cell is not trained again
    cell = out / "cells" / "a3c-focal-s0"
    logged = len((cell / "run" / "scalars.jsonl").read_text().splitlines())
    (cell / "result.json").unlink()
    suite.run_suite(built, out, show_progress=False)
    assert (cell / "result.json").exists()
    assert len((cell / "run" / "scalars.jsonl").read_text().splitlines()) == logged

    # interrupted after its first update: no result, a checkpoint at update 1
    (cell / "result.json").unlink()
    (cell / "trained.json").unlink()
    state = torch.load(cell / "run" / "checkpoint.pt", weights_only=False)
    state["updates"] = 1
    torch.save(state, cell / "run" / "checkpoint.pt")
    suite.run_suite(built, out, show_progress=False)
    record = _result(out, "a3c-focal-s0")
    assert record["train"]["resumed"] and record["train"]["updates"] == 2
    # the log continues from the checkpoint's step: update 2, logged again, appears once
    lines = (cell / "run" / "scalars.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2] and len(lines) == logged
    others = {p: p.stat().st_mtime_ns for p in stamps if "focal" not in str(p)}
    assert {p: p.stat().st_mtime_ns for p in others} == others


def test_only_reruns_the_chosen_cells_and_changed_settings_are_refused(designs_run):
    out, _, _ = designs_run
    built = suite.build_suite("reward_designs", "tiny", designs=["half_gain", "focal"])
    relative = out / "cells" / "a3c-relative-s0" / "result.json"
    stamp = relative.stat().st_mtime_ns
    suite.run_suite(built, out, only="a3c-half*", rerun=True, show_progress=False)
    assert not _result(out, "a3c-half_gain-s0")["train"]["resumed"]  # trained from scratch
    assert relative.stat().st_mtime_ns == stamp
    with pytest.raises(ConfigError, match=r"matches no cell.*a3c-relative-s0"):
        suite.run_suite(built, out, only="ppo-*", show_progress=False)
    changed = dataclasses.replace(built.profile, common={**built.profile.common, "lr": 0.5})
    with pytest.raises(ConfigError, match=r"other settings.*lr.*--rerun"):
        suite.run_suite(dataclasses.replace(built, profile=changed), out, show_progress=False)


def test_a_setting_the_record_predates_counts_at_its_default():
    built = suite.build_suite("reward_designs", "quick", designs=["focal"])
    cell = next(cell for cell in built.cells if cell.learner == "a3c")
    current = suite.cell_config(cell, built.profile)
    older = json.loads(json.dumps(current))
    del older["args"]["reward_conv"]  # as if the field had been added after the cell ran
    defaults = suite.field_defaults(cell, built.profile)
    suite._check_same_config(cell, older, current, defaults)  # at its default: the same run
    newer = json.loads(json.dumps(current))
    newer["args"]["reward_conv"] = True
    with pytest.raises(ConfigError, match="reward_conv"):
        suite._check_same_config(cell, older, newer, defaults)


def test_records_from_before_the_package_rename_still_match():
    built = suite.build_suite("reward_designs", "quick", designs=["focal"])
    cell = next(cell for cell in built.cells if cell.learner == "a3c")
    current = suite.cell_config(cell, built.profile)
    assert current["args_class"] == "segenv_agents.a3c.Args"
    older = {**current, "args_class": "agents.a3c.Args"}  # the class path before segenv_agents
    suite._check_same_config(cell, older, current, suite.field_defaults(cell, built.profile))


def test_ablations_tiny_writes_every_table(tmp_path):
    built = suite.build_suite("ablations", "tiny")
    report = suite.run_suite(built, tmp_path, show_progress=False, jobs=2)  # forked workers
    text = report.markdown_path.read_text()
    for table in built.tables:
        assert f"## {table.title}" in text
    assert "not run" not in text
    assert "| min-cut |" in text and "| bad (misleading clicks) |" in text
    assert "| perturbed largest-error user |" in text and "| min-cut, start coarse 0.85 |" in text
    assert "Kendall τ" in text  # the ordering against the paper's numbers
    assert validate_report(text, min_seeds=1) == []  # every table has every column
    assert "| – (no training) |" in text  # learning-free rows are not counted as seeds
    reference = _result(tmp_path, "a3c-relative-s0")
    assert set(reference["evaluations"]) == {
        "good",
        "none",
        "bad",
        "random",
        "perturbed",
        "init BG",
        "init coarse 0.85",
    }
    assert reference["evaluations"]["bad"]["overrides"] == {"user": "misleading"}
    immediate = _result(tmp_path, "a3c-T1-s0")
    assert immediate["config"]["args"]["max_steps"] == 1
    assert len(immediate["evaluations"]["good"]["dice"][0]) == 6  # tested for T = 5 steps
    rows = report.tables["interaction"]
    assert rows["none (noise hints)"].dice_mean.shape == (6,)
    assert rows["none (noise hints)"].clicks[-1] == 0  # no clicks without a user
    lines = report.csv_path.read_text()
    assert ",methods_initial,min-cut | BG,mincut,mincut,mincut,0,init BG,5," in lines
    assert report.png_path.stat().st_size > 10_000


def test_paper_profile_builds_with_the_papers_settings():
    for name, count in (("reward_designs", 25), ("ablations", 62)):
        built = suite.build_suite(name, "paper")
        assert len(built.cells) == count
        for cell in built.cells:
            args = suite.cell_args(cell, built.profile)
            assert args.shape == (30, 55, 55)
            assert (args.clicks_per_step, args.initial_clicks, args.gamma) == (5, 5, 0.95)
            assert args.max_steps == (1 if cell.group == "a3c-T1" else 5)
            if cell.trained:
                assert args.lr == 1e-4 and args.device == "auto" and args.seed == cell.seed
    for name in ("reward_designs", "ablations"):
        quick = suite.build_suite(name, "quick")
        assert {cell.seed for cell in quick.cells if cell.trained} == {0, 1, 2, 3, 4}


def test_quick3d_profile_builds_3d_cells_shared_between_the_suites():
    configs = {}
    for name in ("reward_designs", "ablations"):
        built = suite.build_suite(name, "quick3d")
        assert {cell.seed for cell in built.cells if cell.trained} == {0, 1, 2, 3, 4}
        for cell in built.cells:
            args = suite.cell_args(cell, built.profile)
            assert args.shape == (16, 32, 32)
            assert (args.clicks_per_step, args.initial_clicks) == (5, 5)
            if cell.trained:
                assert args.threads == 1 and args.device == "cpu"
            configs.setdefault(cell.name, []).append(suite.cell_config(cell, built.profile))
    shared = [name for name, found in configs.items() if len(found) == 2]
    assert "a3c-relative-s4" in shared and "mecca-confidence-s0" in shared
    assert all(configs[name][0] == configs[name][1] for name in shared)  # one run serves both


def test_bad_inputs_raise_config_errors_that_say_what_to_do(tmp_path, capsys):
    with pytest.raises(ConfigError, match="Did you mean 'focal'"):
        suite.build_suite("reward_designs", "tiny", designs=["focla"])
    with pytest.raises(ConfigError, match="suite 'rewards' is unknown"):
        suite.build_suite("rewards", "tiny")
    with pytest.raises(ConfigError, match="profile 'fast' is unknown"):
        suite.build_suite("ablations", "fast")
    with pytest.raises(ConfigError, match="only applies to the 'reward_designs'"):
        suite.build_suite("ablations", "tiny", designs=["focal"])
    with pytest.raises(ConfigError, match="seeds"):
        suite.build_suite("ablations", "tiny", seeds=[-1])
    with pytest.raises(ConfigError, match="designs is empty"):
        suite.compare_reward_designs([], profile="tiny", out_dir=tmp_path)
    bad_cell = suite.Cell("x-s0", "x", "a3c", {"no_such_field": 1})
    with pytest.raises(ConfigError, match="has no field 'no_such_field'"):
        suite.cell_args(bad_cell, suite.PROFILES["tiny"])
    command = ["benchmark", "reward_designs", "--profile", "tiny", "--out", str(tmp_path)]
    assert cli.main([*command, "--designs", "focla"]) == 2
    assert "Did you mean 'focal'" in capsys.readouterr().err
    assert cli.main([*command, "--plugin", "no_such_module_xyz"]) == 2
    assert "cannot be imported" in capsys.readouterr().err


def test_cli_lists_cells_and_the_scripts_run():
    assert cli.main(["benchmark", "ablations", "--profile", "quick", "--list"]) == 0
    for script in ("reward_designs", "ablations"):
        result = run_script(f"{script}.py", "--help", timeout=60)
        assert result.returncode == 0, result.stderr
        assert "--only" in result.stdout and "--profile" in result.stdout


def test_paired_comparison_by_hand():
    reference = {0: np.array([[0.5, 0.70], [0.5, 0.70], [0.5, 0.70]])}
    row = {0: np.array([[0.5, 0.80], [0.5, 0.90], [0.5, 0.75]])}
    delta, spread, p_value, cases = paired_comparison(row, reference)
    assert delta == pytest.approx(100 * (0.10 + 0.20 + 0.05) / 3)
    assert np.isnan(spread) and cases == 3  # one shared seed: no spread over seeds
    assert p_value == pytest.approx(0.25)  # exact Wilcoxon, n = 3, all positive: 2 / 2³
    assert paired_comparison(reference, reference)[2] == 1.0


def test_ordering_line_prints_a_tie_as_equal():
    from segenv_agents.suites.report import RowSummary, ordering_line

    def row(label, final):
        return RowSummary(label, label, "good", dice_mean=np.array([75.0, final]))

    line = ordering_line({"a": row("relative", 0.001), "b": row("clipped_gain", 0.0)})
    assert line == "Order here (final Dice): relative = clipped_gain."
    line = ordering_line({"a": row("relative", 80.0), "b": row("focal", 81.0)})
    assert line == "Order here (final Dice): focal > relative."
