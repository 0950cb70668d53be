"""Long runs under signals: a clean stop with a checkpoint, one line, a resume that continues."""

import dataclasses
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from segenv.errors import ConfigError
from segenv.rewards import REWARDS
from segenv_agents import cli, sb3
from segenv_agents.common import interrupts
from segenv_agents.common.checkpoints import load_checkpoint
from segenv_agents.common.logger import RunLogger
from segenv_agents.common.training import TrainingLoop, UpdateResult
from segenv_agents.suites import runner

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    *("--shape", "16", "16", "--num-train-cases", "4", "--num-test-cases", "2"),
    *("--channels", "4", "--shared-dilations", "1", "--head-dilations", "1"),
    *("--num-envs", "1", "--threads", "1", "--eval-episodes", "2", "--no-progress"),
    *("--log-every", "1", "--checkpoint-every-s", "1000000"),  # only the signal checkpoints
]
LINE = re.compile(
    r"^interrupted at update (\d+)/(\d+); checkpoint saved; resume with: segenv train a3c .*"
    r"--resume$"
)


def _steps(run):
    return [json.loads(line)["step"] for line in (run / "scalars.jsonl").open()]


# --- the pieces ------------------------------------------------------------------------------


def test_parse_signal_names_numbers_and_refusals():
    assert interrupts.parse_signal("USR1") == interrupts.parse_signal("SIGUSR1") == signal.SIGUSR1
    assert interrupts.parse_signal(str(int(signal.SIGUSR2))) == signal.SIGUSR2
    assert interrupts.parse_signal("") is None and interrupts.parse_signal(None) is None
    for bad in ("FOO", "KILL", "0"):
        with pytest.raises(ConfigError, match="not a signal that can be caught"):
            interrupts.parse_signal(bad)


def test_interrupted_says_where_and_exits_128_plus_the_signal():
    stop = interrupts.Interrupted(signal.SIGTERM, 58, 300)
    assert stop.line == "interrupted at update 58/300; checkpoint saved"
    assert stop.exit_code == 143 and interrupts.exit_code(signal.SIGINT) == 130
    early = interrupts.Interrupted(signal.SIGINT)
    assert early.line == "interrupted; no new checkpoint"
    cell = interrupts.Interrupted(2, 1, 2, stage="cell x", note="1 of 2 cells finished and kept")
    assert cell.line == (
        "interrupted in cell x at update 1/2; checkpoint saved; 1 of 2 cells finished and kept"
    )


def test_outside_a_loop_the_first_signal_raises_at_once_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(interrupts.Interrupted) as caught, interrupts.handle_signals():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # interrupted long before
    assert caught.value.signum == signal.SIGINT and caught.value.done is None
    assert signal.getsignal(signal.SIGINT) is before
    assert interrupts.stop_requested() is None


def test_inside_a_loop_a_signal_is_recorded_and_the_checkpoint_signal_is_opt_in(monkeypatch):
    with interrupts.handle_signals(), interrupts.deferred():
        assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        assert interrupts.stop_requested() == signal.SIGTERM
    monkeypatch.setenv(interrupts.CHECKPOINT_SIGNAL_ENV, "USR1")
    with interrupts.handle_signals(), interrupts.deferred():
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(0.05)
        assert interrupts.stop_requested() == signal.SIGUSR1
    assert signal.getsignal(signal.SIGUSR1) is signal.SIG_DFL


def test_a_second_signal_quits_at_once():
    script = (
        "import os, signal, time\n"
        "from segenv_agents.common import interrupts\n"
        "with interrupts.handle_signals(), interrupts.deferred():\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(0.2)\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(30)\n"
        "print('not reached')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 130 and "not reached" not in result.stdout
    assert result.stderr.strip() == (
        "segenv: SIGINT again: stopped at once; the last checkpoint written stays"
    )


def test_training_loop_stops_after_the_current_update_and_resumes_with_the_rng(tmp_path):
    drawn, signal_at = [], {2}

    def update(index):
        drawn.append(float(torch.rand(())))  # the global generator, which checkpoints keep
        if index in signal_at:
            signal_at.discard(index)
            os.kill(os.getpid(), signal.SIGTERM)  # arrives during update 3
        return UpdateResult(index, {"charts/final_dice": 0.5}, 1, 10)

    def state(done):
        return {"learner": "fake", "updates": done}

    torch.manual_seed(0)
    loop = TrainingLoop(tmp_path, 6, checkpoint_every_s=1e9, log_every=1, show_progress=False)
    assert loop.open("fake", _FakeArgs(), resume=False) is None
    with pytest.raises(interrupts.Interrupted) as caught:
        loop.run_updates(0, update, state)
    assert (caught.value.done, caught.value.total, caught.value.signum) == (3, 6, signal.SIGTERM)
    assert load_checkpoint(tmp_path / "checkpoint.pt")["updates"] == 3
    assert _steps(tmp_path) == [1, 2, 3]

    torch.manual_seed(123)  # the resumed run draws what the uninterrupted one would
    resumed = TrainingLoop(tmp_path, 6, checkpoint_every_s=1e9, log_every=1, show_progress=False)
    start = resumed.open("fake", _FakeArgs(), resume=True)["updates"]
    assert resumed.run_updates(start, update, state) == 6
    torch.manual_seed(0)
    assert drawn == [float(torch.rand(())) for _ in range(6)]
    assert _steps(tmp_path) == [1, 2, 3, 4, 5, 6]


@dataclasses.dataclass
class _FakeArgs:
    lr: float = 0.1


def test_the_log_drops_what_came_after_the_checkpoint_and_continues_its_totals(tmp_path):
    lines = [
        {"step": s, "wall_s": float(s), "env_steps_total": 10 * s, "transitions_total": 100 * s}
        for s in range(1, 6)
    ]
    (tmp_path / "scalars.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines) + '{"step": 6, "cut sh'
    )
    logger = RunLogger(tmp_path, total=10, initial=3, show_progress=False)
    logger.progress(1, 2, 20)
    logger.scalars({"x": 1.0}, 4)
    logger.close()
    records = [json.loads(line) for line in (tmp_path / "scalars.jsonl").open()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert records[-1]["env_steps_total"] == 32 and records[-1]["transitions_total"] == 320
    assert records[-1]["wall_s"] >= 3.0


# --- a real `segenv train` under SIGINT and SIGTERM ------------------------------------------


def _train_until_signal(command, run, sig, at_least):
    """Start ``command``, wait until ``run`` logged ``at_least`` more steps, send ``sig``."""
    before = len(_steps(run)) if (run / "scalars.jsonl").exists() else 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    pipe = subprocess.PIPE
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=pipe, stderr=pipe, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        logged = len(_steps(run)) if (run / "scalars.jsonl").exists() else 0
        if logged >= before + at_least:
            break
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    process.send_signal(sig)
    out, err = process.communicate(timeout=120)
    return process.returncode, out, err


def test_sigint_and_sigterm_leave_a_checkpoint_and_the_resumed_run_ends_like_an_uninterrupted_one(
    tmp_path,
):
    total = 400  # far more than the few seconds before the signal need
    run = tmp_path / "run"
    command = [sys.executable, "-m", "segenv_agents.cli", "train", "a3c", "--out", str(run)]
    command += ["--total-updates", str(total), *TINY]

    code, _, err = _train_until_signal(command, run, signal.SIGINT, at_least=3)
    assert code == 130, err
    assert "Traceback" not in err
    first = LINE.match(err.strip().splitlines()[-1])
    assert first, err
    stopped_at = int(first.group(1))
    assert int(first.group(2)) == total and stopped_at >= 3
    assert load_checkpoint(run / "checkpoint.pt")["updates"] == stopped_at
    assert _steps(run) == list(range(1, stopped_at + 1))

    resume = [*command, "--resume"]
    assert first.group(0).endswith(shlex.join(["segenv", *resume[3:]]))
    code, _, err = _train_until_signal(resume, run, signal.SIGTERM, at_least=3)
    assert code == 143, err
    assert "Traceback" not in err
    second = LINE.match(err.strip().splitlines()[-1])
    assert second, err
    stopped_again = int(second.group(1))
    assert stopped_again >= stopped_at + 3  # continued from the checkpoint, not from 0
    assert load_checkpoint(run / "checkpoint.pt")["updates"] == stopped_again

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(resume, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    steps = _steps(run)
    assert steps == list(range(1, total + 1))  # strictly increasing, none twice, none lost

    full = tmp_path / "full"
    assert cli.main(["train", "a3c", "--out", str(full), "--total-updates", str(total), *TINY]) == 0
    resumed = load_checkpoint(run / "checkpoint.pt")
    uninterrupted = load_checkpoint(full / "checkpoint.pt")
    assert resumed["updates"] == uninterrupted["updates"] == total
    for key, value in uninterrupted["model"].items():
        assert torch.equal(value, resumed["model"][key]), key  # bit-identical weights


def test_asynchronous_workers_stop_with_their_parent_without_tracebacks(tmp_path):
    run = tmp_path / "async"
    command = [sys.executable, "-m", "segenv_agents.cli", "train", "a3c", "--out", str(run)]
    command += ["--total-updates", "100000", "--workers", "2", *TINY]
    code, _, err = _train_until_signal(command, run, signal.SIGINT, at_least=2)
    assert code == 130 and "Traceback" not in err, err
    stopped = re.search(r"interrupted at update (\d+)/100000; checkpoint saved", err)
    assert stopped, err
    assert load_checkpoint(run / "checkpoint.pt")["updates"] == int(stopped.group(1))


# --- the other learners and the benchmark runner ---------------------------------------------


def test_sb3_stops_at_a_rollout_boundary_and_resumes(tmp_path, monkeypatch):
    rollouts = []
    original = sb3._Progress._on_rollout_end

    def end_then_signal(self):
        original(self)
        rollouts.append(self.model.num_timesteps)
        if len(rollouts) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # during the third rollout

    monkeypatch.setattr(sb3._Progress, "_on_rollout_end", end_then_signal)
    args = sb3.Args(
        shape=(16, 16), num_train_cases=4, num_test_cases=2, total_timesteps=60, num_envs=2,
        n_steps=5, batch_size=10, n_epochs=1, channels=4, shared_dilations=(1,),
        head_dilations=(1,), threads=1, checkpoint_every_s=1e9,
    )  # fmt: skip
    with pytest.raises(interrupts.Interrupted) as caught:
        sb3.train(args, tmp_path / "ppo", show_progress=False)
    assert caught.value.unit == "env step" and caught.value.done == rollouts[-1] == 20
    assert sb3.load_model(tmp_path / "ppo").num_timesteps == 20
    sb3.train(args, tmp_path / "ppo", resume=True, show_progress=False)
    assert sb3.load_model(tmp_path / "ppo").num_timesteps == 60
    steps = _steps(tmp_path / "ppo")
    assert steps == sorted(set(steps)) and steps[-1] == 60


SIGNALLED = {"armed": False}


@REWARDS.register("gain_then_sigint", overwrite=True)
def gain_then_sigint(inputs):
    if SIGNALLED["armed"]:
        SIGNALLED["armed"] = False
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C during this cell's first update
    return inputs.gain


def test_an_interrupted_benchmark_keeps_its_finished_cells_and_continues(tmp_path, capsys):
    built = runner.build_suite("reward_designs", "tiny", designs=["gain_then_sigint"])
    names = [cell.name for cell in built.cells]
    assert names.index("a3c-relative-s0") < names.index("a3c-gain_then_sigint-s0")
    SIGNALLED["armed"] = True
    with pytest.raises(interrupts.Interrupted) as caught:
        runner.run_suite(built, tmp_path, show_progress=False)
    assert caught.value.line == (
        "interrupted in cell a3c-gain_then_sigint-s0 at update 1/2; checkpoint saved; "
        f"1 of {len(names)} cells finished and kept"
    )
    finished = tmp_path / "cells" / "a3c-relative-s0" / "result.json"
    stamp = finished.stat().st_mtime_ns
    stopped = tmp_path / "cells" / "a3c-gain_then_sigint-s0"
    assert load_checkpoint(stopped / "run" / "checkpoint.pt")["updates"] == 1
    runner.run_suite(built, tmp_path, show_progress=False)
    assert finished.stat().st_mtime_ns == stamp  # kept, not re-run
    record = json.loads((stopped / "result.json").read_text())
    assert record["train"]["resumed"] and record["train"]["updates"] == 2
    assert _steps(stopped / "run") == [1, 2]


@pytest.mark.parametrize("learner", ["a3c", "mecca", "intercnn"])
def test_every_loop_learner_resumes_to_the_uninterrupted_weights(tmp_path, learner):
    from segenv_agents import registry

    args = dataclasses.replace(
        registry.preset(learner, "quick"),
        shape=(16, 16), num_train_cases=4, num_test_cases=2, channels=4,
        shared_dilations=(1,), head_dilations=(1,), num_envs=1, threads=1,
        checkpoint_every_s=1e9, total_updates=3, reward="gain_then_sigint",
    )  # fmt: skip
    module = registry.load(learner)
    module.train(args, tmp_path / "full", show_progress=False)
    SIGNALLED["armed"] = True
    with pytest.raises(interrupts.Interrupted) as caught:
        module.train(args, tmp_path / "split", show_progress=False)
    assert caught.value.done == 1
    module.train(args, tmp_path / "split", resume=True, show_progress=False)
    full = load_checkpoint(tmp_path / "full" / "checkpoint.pt")
    split = load_checkpoint(tmp_path / "split" / "checkpoint.pt")
    assert split["updates"] == full["updates"] == 3
    for key, value in full["model"].items():
        assert torch.equal(value, split["model"][key]), key


def test_parallel_cells_stop_with_a_checkpoint_and_the_suite_continues(tmp_path):
    built = runner.build_suite("reward_designs", "tiny", designs=["gain_then_sigint"])
    SIGNALLED["armed"] = True  # the forked cells inherit it; the signalled cell stops
    with pytest.raises(interrupts.Interrupted) as caught:
        runner.run_suite(built, tmp_path, show_progress=False, jobs=2)
    SIGNALLED["armed"] = False
    assert caught.value.line.startswith(
        "interrupted in cell a3c-gain_then_sigint-s0 at update 1/2; checkpoint saved; "
    )
    stopped = tmp_path / "cells" / "a3c-gain_then_sigint-s0"
    assert load_checkpoint(stopped / "run" / "checkpoint.pt")["updates"] == 1
    runner.run_suite(built, tmp_path, show_progress=False, jobs=2)
    record = json.loads((stopped / "result.json").read_text())
    assert record["train"]["resumed"] and record["train"]["updates"] == 2
