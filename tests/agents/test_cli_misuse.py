"""Every user mistake on the command line: exit status 2, one line naming it, no traceback."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from segenv_agents import a3c, cli

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    *("--shape", "16", "16", "--num-train-cases", "4", "--num-test-cases", "2"),
    *("--channels", "4", "--shared-dilations", "1", "--head-dilations", "1"),
    *("--num-envs", "1", "--threads", "1", "--eval-episodes", "2", "--no-progress"),
]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """A trained 16×16 run, an untrained one, a damaged one, a file and a fresh path."""
    root = tmp_path_factory.mktemp("misuse")
    run = root / "run16"
    assert cli.main(["train", "a3c", "--out", str(run), "--total-updates", "2", *TINY]) == 0
    untrained = root / "untrained"
    args = a3c.Args(
        shape=(16, 16),
        num_train_cases=4,
        num_test_cases=2,
        channels=4,
        shared_dilations=(1,),
        head_dilations=(1,),
        threads=1,
        total_updates=0,  # the library still allows it; the command line refuses it
    )
    a3c.train(args, untrained, show_progress=False)
    damaged = root / "damaged"
    damaged.mkdir()
    (damaged / "config.json").write_text('{"learner": "a3c", "args": {')
    broken_checkpoint = root / "broken_checkpoint"
    shutil.copytree(run, broken_checkpoint)
    (broken_checkpoint / "checkpoint.pt").write_bytes(b"not a checkpoint")
    (root / "afile").write_text("a file, not a directory\n")
    return {
        "run": str(run),
        "untrained": str(untrained),
        "damaged": str(damaged),
        "broken_checkpoint": str(broken_checkpoint),
        "file": str(root / "afile"),
        "file_sub": str(root / "afile" / "sub"),
        "new": str(root / "new"),
        "nowhere": str(root / "nowhere"),
        "empty_dir": str(root),
    }


SHAPE_RULE = "takes 2 ints (H W: the 2D env) or 3 (D H W: the 3D env), each >= 1"

# (argv with {placeholders}, text the last line of stderr must contain)
MISUSE = [
    (["fly"], "unknown command 'fly'; the commands are: train, evaluate, learners, benchmark"),
    (["trian"], "unknown command 'trian' (did you mean 'train'?)"),
    (["help", "fly"], "unknown command 'fly'"),
    (["train"], "choose a learner: segenv train LEARNER --out DIR"),
    (["train", "--out", "{new}"], "the learner comes first"),
    (["train", "dqn", "--out", "{new}"], "learner 'dqn' is unknown; the learners are: a3c"),
    (["train", "a3cc", "--out", "{new}"], "learner 'a3cc' is unknown (did you mean 'a3c'?)"),
    (["train", "a3c"], "the following arguments are required: --out"),
    (["train", "a3c", "--out", "{file}", *TINY], "is a file, not a directory"),
    (["train", "a3c", "--out", "{file_sub}", *TINY], "afile is a file, so no directory can"),
    (["train", "a3c", "--out", "/proc/segenv-misuse/run", *TINY], "cannot create the directory"),
    (["train", "a3c", "--out", "{new}", "--total-updates", "0", *TINY], "--total-updates 0 trains"),
    (
        ["train", "sb3_ppo", "--out", "{new}", "--total-timesteps", "0"],
        "total_timesteps must be >= 1",
    ),
    (["train", "ppo", "--out", "{new}", "--total-updates", "0"], "trains nothing"),
    (
        ["train", "a3c", "--out", "{new}", "--shape", "0", "0"],
        "takes 2 ints (H W: the 2D env) or 3",
    ),
    (["train", "a3c", "--out", "{new}", "--shape", "8"], SHAPE_RULE),
    (
        ["train", "a3c", "--out", "{new}", "--lr", "abc"],
        "argument --lr: invalid float value: 'abc'",
    ),
    (["train", "a3c", "--out", "{new}", "--reward-conv", "maybe"], "expected true or false"),
    (["train", "a3c", "--out", "{new}", "--num-envs", "0"], "num_envs must be >= 1, got 0"),
    (["train", "a3c", "--out", "{new}", "--config", "fast"], "argument --config: invalid choice"),
    (["train", "a3c", "--out", "{new}", "--checkpoint-signal", "FOO"], "checkpoint signal 'FOO'"),
    (["train", "a3c", "--out", "{new}", "--dataset", "{nowhere}"], "nowhere: does not exist"),
    (
        ["train", "a3c", "--out", "{new}", "--dataset", "{empty_dir}", "--shape", "16", "16"],
        "--dataset needs a 3D --shape D H W",
    ),
    (["train", "a3c", "--out", "{run}", *TINY], "already holds a run; pass --resume"),
    (
        ["train", "a3c", "--out", "{run}", "--resume", "--shape", "32", "32"],
        "shape is (16, 16) in its config.json, (32, 32) now (--shape)",
    ),
    (
        ["train", "a3c", "--out", "{run}", "--resume", "--config", "paper"],
        "shape is (16, 16) in its config.json, (30, 55, 55) now (--config paper)",
    ),
    (["train", "a3c", "--out", "{run}", "--resume", "--lr", "0.5"], "lr is 0.0003 in its"),
    (["train", "mecca", "--out", "{run}", "--resume"], "holds a 'a3c' run, not 'mecca'"),
    (["train", "a3c", "--out", "{broken_checkpoint}", "--resume"], "cannot read checkpoint"),
    (["evaluate", "{damaged}"], "config.json is damaged (Expecting property name"),
    (["evaluate", "{nowhere}"], "nowhere does not exist; give a run directory"),
    (["evaluate", "{file}"], "afile is a file; give a run directory"),
    (["evaluate", "{empty_dir}"], "is not a run directory: config.json is missing"),
    (["evaluate", "{untrained}"], "holds an untrained network (0 updates); train it first"),
    (["evaluate", "{run}", "--episodes", "0"], "argument --episodes: must be >= 1, got 0"),
    (["evaluate", "{run}", "--split", "val"], "argument --split: invalid choice: 'val'"),
    (["evaluate", "{run}", "--dataset", "{nowhere}"], "--dataset needs a run trained on 3D"),
    (["benchmark", "ablations", "--jobs", "0"], "argument --jobs: must be >= 1, got 0"),
    (["benchmark", "nosuch"], "argument suite: invalid choice: 'nosuch'"),
    (["benchmark", "ablations", "--out", "{file}"], "is a file, not a directory"),
    (["benchmark", "ablations", "--shape", "8", "16", "16"], "need --dataset PATH"),
    (["benchmark", "ablations", "--profile", "fast"], "argument --profile: invalid choice"),
    (["learners", "--all"], "unrecognized arguments: --all"),
]


@pytest.mark.parametrize(("argv", "message"), MISUSE, ids=[" ".join(a) for a, _ in MISUSE])
def test_every_mistake_exits_2_with_one_line_and_no_traceback(places, capsys, argv, message):
    words = [word.format(**places) for word in argv]
    message = message.format(**places)
    assert cli.main(words) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    lines = captured.err.strip().splitlines()
    assert message in lines[-1], captured.err
    # the error is the last line; only argparse's usage may come before it
    assert all(not line.startswith("segenv") or "usage" in line for line in lines[:-1])


def test_shape_errors_speak_the_flags_language(places, capsys):
    assert cli.main(["train", "a3c", "--out", places["new"], "--shape", "0", "0"]) == 2
    assert "(1, 0, 0)" not in capsys.readouterr().err  # no internal 3-tuple


def test_debug_shows_the_traceback(places, capsys, monkeypatch):
    assert cli.main(["evaluate", places["damaged"], "--debug"]) == 2
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    assert cli.main(["evaluate", places["damaged"]]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("segenv evaluate: error")


HELP = [
    (["--help"], "usage: segenv"),
    (["help"], "usage: segenv"),
    (["help", "train"], "usage: segenv train LEARNER"),
    (["train", "--help"], "usage: segenv train LEARNER"),
    (["train", "-h"], "usage: segenv train LEARNER"),
    (["train", "a3c", "--help"], "usage: segenv train a3c"),
    (["help", "train", "a3c"], "usage: segenv train a3c"),
    (["help", "evaluate"], "usage: segenv evaluate"),
    (["evaluate", "--help"], "usage: segenv evaluate"),
    (["learners", "--help"], "usage: segenv learners"),
    (["help", "benchmark"], "usage: segenv benchmark"),
]


@pytest.mark.parametrize(("argv", "usage"), HELP, ids=[" ".join(a) for a, _ in HELP])
def test_help_prints_usage_and_exits_0(capsys, argv, usage):
    assert cli.main(argv) == 0
    assert usage in capsys.readouterr().out


def test_train_help_lists_every_learner_and_what_may_change_on_resume(capsys):
    assert cli.main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    for name, spec in cli.registry.LEARNERS.items():
        assert any(line.split()[:1] == [name] and spec.summary in line for line in out.splitlines())
    assert "--total-updates" in out and "--checkpoint-every-s" in out and "--threads" in out
    assert cli.main(["train", "a3c", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--checkpoint-signal" in out and "--dataset" in out and "[may change on" in out


def test_the_console_script_answers_help_and_unknown_commands_without_a_traceback(tmp_path):
    def run(*argv):
        command = [sys.executable, "-m", "segenv_agents.cli", *argv]
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    helped = run("--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: segenv")
    unknown = run("fly")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert unknown.stderr.strip().splitlines()[-1].startswith("segenv: error: unknown command")


def test_help_needs_no_torch(tmp_path):
    block = "import sys\nfor name in ('torch', 'stable_baselines3', 'tensorboard', 'tqdm'):\n"
    block += "    sys.modules[name] = None  # as if segenv[learners] were not installed\n"
    block += "from segenv_agents.cli import main\n"
    block += "sys.exit(main(sys.argv[1:]))\n"
    for argv in (["--help"], ["help"], ["train", "--help"], ["evaluate", "--help"], ["help", "x"]):
        command = [sys.executable, "-c", block, *argv]
        result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert result.returncode == (2 if argv == ["help", "x"] else 0), result.stderr
        assert "Traceback" not in result.stderr and "usage: segenv" in result.stdout + result.stderr
