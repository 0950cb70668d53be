import json
import subprocess
import sys

import pytest

from segenv.metrics import InteractiveMetrics
from segenv_agents import a3c, cli
from segenv_agents.common.evaluation import comparison_table

TINY_FLAGS = [
    *("--shape", "16", "16", "--num-train-cases", "4", "--num-test-cases", "2"),
    *("--channels", "4", "--shared-dilations", "1", "--head-dilations", "1"),
    *("--num-envs", "2", "--threads", "1", "--eval-episodes", "2"),
]


def test_learners_and_help(capsys):
    assert cli.main(["learners"]) == 0
    out = capsys.readouterr().out
    for name in ("a3c", "mecca", "ppo", "sb3_ppo", "sb3_a2c", "sb3_ppo_scalar", "intercnn", "rnet"):
        assert name in out
    assert cli.main([]) == 0
    assert cli.main(["fly"]) == 2


def test_train_then_evaluate_prints_the_comparison_table(tmp_path, capsys):
    out = tmp_path / "run"
    command = ["train", "a3c", "--out", str(out), "--no-progress", *TINY_FLAGS]
    assert cli.main([*command, "--total-updates", "2", "--lr", "0.003"]) == 0
    recorded = json.loads((out / "config.json").read_text())
    assert recorded["learner"] == "a3c"
    assert recorded["args"]["lr"] == 0.003 and recorded["args"]["shape"] == [16, 16]
    assert cli.main(command) == 2  # the directory holds a run and --resume was not given
    assert "pass --resume" in capsys.readouterr().err
    assert cli.main(["evaluate", str(out), "--split", "test"]) == 0
    text = capsys.readouterr().out
    assert "| initial segmentation (no-op) |" in text and "| a3c, user=none |" in text
    assert "| a3c, user=perturbed |" in text and "under the perturbed user" in text
    assert "NoC@85" in text and "ASSD" in text and "fixed / broken" not in text
    for column in ("DSC_AUC", "NSD_AUC", "NSD final", "FPV", "FNV", "ms/step"):
        assert f" {column} |" in text
    record = json.loads((out / "eval_test.json").read_text())
    assert len(record["rows"]["a3c"]["dice_mean"]) == 6
    assert len(record["rows"]["a3c"]["nsd_mean"]) == 6
    assert record["rows"]["a3c"]["seconds_per_step"] > 0
    drop = (
        record["rows"]["a3c"]["dice_mean"][-1]
        - record["rows"]["a3c, user=perturbed"]["dice_mean"][-1]
    )
    assert record["perturbed_drop"] == pytest.approx(100 * drop, abs=1e-3)
    assert "flips" not in record
    assert cli.main(["evaluate", str(out), "--flips", "--no-baselines"]) == 0
    text = capsys.readouterr().out
    assert "fixed / broken" in text and "| policy | step 1 |" in text
    flips = json.loads((out / "eval_test.json").read_text())["flips"]
    assert set(flips) == {"a3c", "a3c, user=none", "a3c, user=perturbed"}
    assert len(flips["a3c"]["fixed"]) == len(flips["a3c"]["broken"]) == 5


def test_flags_follow_the_args_dataclass():
    parser = cli.argparse.ArgumentParser()
    cli.add_args_flags(parser, a3c.Args)
    namespace = parser.parse_args(["--shape", "8", "8", "--reward-conv", "true", "--lr", "1e-3"])
    args = cli.args_with_overrides(a3c.CONFIGS["quick"], namespace)
    assert args.shape == (8, 8) and args.reward_conv is True
    assert args.lr == pytest.approx(1e-3)
    assert "PixelRL" in cli._field_docs(a3c.Args)["advantage"]
    with pytest.raises(SystemExit):
        parser.parse_args(["--reward-conv", "maybe"])


def test_comparison_table_rows_and_no_click_rows():
    with_clicks, without = InteractiveMetrics(), InteractiveMetrics()
    with_clicks.update(
        [0.5, 0.7, 0.9],
        clicks_per_step=5,
        assd=1.0,
        nsd_per_step=[0.4, 0.6, 0.8],
        false_positive_volume=12.0,
        false_negative_volume=0.0,
        seconds_per_step=0.0125,
    )
    without.update([0.5, 0.6, 0.6], clicks_per_step=0, assd=2.0)
    table = comparison_table({"a": with_clicks, "b": without})
    lines = table.splitlines()
    assert lines[0] == (
        "| policy | Dice@0 | Dice@1 | Dice@2 | Δ | DSC_AUC | NSD_AUC | NSD final | ASSD | FPV "
        "| FNV | ms/step | NoC@85 | NoC@90 |"
    )
    # DSC_AUC = (0.7 + 0.9) / 2 and NSD_AUC = (0.6 + 0.8) / 2 over the two steps after clicks
    assert lines[2] == (
        "| a | 50.00 | 70.00 | 90.00 | +40.00 | 0.800 | 0.700 | 80.00 | 1.00 | 12.0 | 0.0 | 12.5 "
        "| 10.0 | 10.0 |"
    )
    assert (
        lines[3]
        == "| b | 50.00 | 60.00 | 60.00 | +10.00 | 0.600 | – | – | 2.00 | – | – | – | – | – |"
    )


def test_without_the_learners_stack_the_cli_names_the_extra(tmp_path):
    block = "import sys\nfor name in ('torch', 'stable_baselines3', 'tensorboard', 'tqdm'):\n"
    block += "    sys.modules[name] = None  # as if segenv[learners] were not installed\n"
    block += "from segenv_agents.cli import main\n"
    block += "sys.exit(main(sys.argv[1:]))\n"

    def run(*argv):
        command = [sys.executable, "-c", block, *argv]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    listed = run("learners")
    assert listed.returncode == 0 and "a3c" in listed.stdout
    for argv in (("train", "a3c", "--out", "run"), ("benchmark", "ablations", "--list")):
        result = run(*argv)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            f"segenv {argv[0]}: error: the learners need the 'learners' extra (torch is not "
            "installed): pip install 'segenv[learners]'"
        ]


@pytest.mark.parametrize(
    ("learner", "budget", "more"),
    [
        ("ppo", ["--num-minibatches", "1", "--total-updates", "1"], "2"),
        ("sb3_ppo", ["--batch-size", "5", "--total-timesteps", "10"], "20"),
        ("sb3_a2c", ["--total-timesteps", "10"], "20"),
    ],
)
def test_per_voxel_learners_train_resume_and_evaluate(tmp_path, capsys, learner, budget, more):
    out = tmp_path / learner
    command = ["train", learner, "--out", str(out), "--no-progress", *TINY_FLAGS, *budget]
    assert cli.main(command) == 0
    assert json.loads((out / "config.json").read_text())["learner"] == learner
    assert any((out / "tb").iterdir())  # TensorBoard
    assert cli.main([*command[:-1], more, "--resume"]) == 0  # a longer budget, resumed
    assert cli.main(["evaluate", str(out), "--episodes", "2", "--no-baselines"]) == 0
    text = capsys.readouterr().out
    assert f"| {learner} |" in text and f"| {learner}, user=none |" in text
