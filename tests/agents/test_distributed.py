"""Data-parallel training under torchrun (issue 16): exactness, resume at any world size."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from segenv.errors import ConfigError
from segenv_agents import a3c
from segenv_agents.common import distributed
from segenv_agents.common.checkpoints import load_checkpoint
from segenv_agents.common.rollout import Rollout, episode_seeds
from segenv_agents.common.runs import check_resume, read_config, write_config
from segenv_agents.common.runtime import seed_everything

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
for _name in (*distributed.ENV_VARS, "LOCAL_WORLD_SIZE", "GROUP_RANK", "TORCHELASTIC_RUN_ID"):
    ENV.pop(_name, None)
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone"]


def torchrun(ranks, *command):
    return [*TORCHRUN, f"--nproc_per_node={ranks}", *command]


# --- one process: no group, every helper a no-op ---------------------------------------------


def test_single_process_helpers_do_nothing(monkeypatch):
    for name in distributed.ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    assert not distributed.launched() and not distributed.active()
    assert (distributed.rank(), distributed.world_size(), distributed.is_main()) == (0, 1, True)
    assert distributed.rank_seed(7, start=5) == 7
    assert distributed.rank_slice(3) == slice(0, 3)
    assert distributed.agree([0.0, 1.0]) == [0.0, 1.0]
    layer = torch.nn.Linear(2, 2)
    layer.weight.grad = torch.ones(2, 2)
    before = layer.weight.grad
    distributed.average_gradients(layer.parameters())
    assert layer.weight.grad is before
    with distributed.session(torch.device("cpu")) as device:
        assert device == torch.device("cpu")
        assert not torch.distributed.is_initialized()
    args = a3c.Args(num_envs=4)
    assert a3c.rank_episode_seeds(args, 3) == episode_seeds(0, 3, 4)  # unchanged seeds


def test_backend_follows_the_device():
    assert distributed.backend_for(torch.device("cpu")) == "gloo"
    assert distributed.backend_for(torch.device("cuda", 1)) == "nccl"


def test_batch_line_says_the_effective_batch_and_the_lr_rule():
    assert distributed.batch_line(4, 3e-4) == (
        "world size 1: 1×4 envs per update = 4 episodes; lr 3e-4 unscaled (gradients are averaged)"
    )


def test_asynchronous_a3c_is_refused_under_torchrun(monkeypatch, tmp_path):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="use --workers 1 with torchrun"):
        a3c.train(a3c.Args(workers=2), tmp_path / "run", show_progress=False)
    assert not (tmp_path / "run").exists()


def test_resume_check_ignores_the_world_size(tmp_path):
    args = a3c.Args(num_envs=2)
    write_config(tmp_path, "a3c", args, world_size=2)
    assert json.loads((tmp_path / "config.json").read_text())["world_size"] == 2
    check_resume(tmp_path, "a3c", args)  # any world size resumes it
    with pytest.raises(ConfigError, match="num_envs"):
        check_resume(tmp_path, "a3c", dataclasses.replace(args, num_envs=3))


# --- two ranks: one update equals one process's update on both ranks' episodes -------------


def _concatenated(rollouts):
    fields = {}
    for field in dataclasses.fields(Rollout):
        axis = 0 if field.name == "final_observation" else 1
        fields[field.name] = np.concatenate([r[field.name] for r in rollouts], axis=axis)
    return Rollout(**fields)


def test_two_rank_a3c_update_equals_one_update_on_the_combined_batch_and_ppo_ranks_agree(tmp_path):
    sys.path.insert(0, str(HERE))
    try:
        import ddp_one_update
    finally:
        sys.path.remove(str(HERE))
    done = subprocess.run(
        torchrun(2, str(HERE / "ddp_one_update.py"), str(tmp_path)),
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    torch.set_num_threads(1)
    for case, changes in ddp_one_update.CASES.items():
        ranks = [torch.load(tmp_path / f"rank{r}-{case}.pt", weights_only=False) for r in (0, 1)]
        args = ddp_one_update.tiny_args(**changes)
        # each rank played its own slice of the update's seeds
        assert ranks[0]["seeds"] + ranks[1]["seeds"] == episode_seeds(args.seed, 0, 4)
        assert not np.array_equal(ranks[0]["rollout"]["actions"], ranks[1]["rollout"]["actions"])
        # the ranks end with the same parameters, changed by the step
        for name, value in ranks[0]["after"].items():
            assert torch.equal(value, ranks[1]["after"][name]), name
        assert any(
            not torch.equal(ranks[0]["after"][n], ranks[0]["before"][n]) for n in ranks[0]["after"]
        )
        # one process, same initial parameters, one update on both ranks' episodes together
        shape, num_actions = a3c.observation_layout(args)
        seed_everything(args.seed)
        learner = a3c.Learner(args, shape, num_actions)
        for name, value in learner.named_parameters():
            assert torch.equal(value.detach(), ranks[0]["before"][name]), name
        device = torch.device("cpu")
        for rank in ranks:  # the pure loss is the loss each rank trained on
            own = a3c.rollout_loss(learner, Rollout(**rank["rollout"]), args, device)
            assert float(own.total.detach()) == pytest.approx(rank["loss"], rel=1e-5, abs=1e-6)
        combined = _concatenated([rank["rollout"] for rank in ranks])
        loss = a3c.rollout_loss(learner, combined, args, device)
        mean = (ranks[0]["loss"] + ranks[1]["loss"]) / 2  # the loss is a mean over envs
        assert float(loss.total.detach()) == pytest.approx(mean)
        optimizer = torch.optim.Adam(learner.parameters(), lr=args.lr)
        a3c.apply_gradients(learner, optimizer, loss, args, a3c.learning_rate(args, 0))
        for name, value in learner.named_parameters():
            torch.testing.assert_close(
                value.detach(), ranks[0]["after"][name], atol=1e-6, rtol=0, msg=name
            )
    # PPO: each rank's epochs of minibatches on its own volumes, the same steps everywhere
    ranks = [torch.load(tmp_path / f"rank{r}-ppo.pt", weights_only=False) for r in (0, 1)]
    for name, value in ranks[0]["after"].items():
        assert torch.equal(value, ranks[1]["after"][name]), name
    assert any(
        not torch.equal(ranks[0]["after"][n], ranks[0]["before"][n]) for n in ranks[0]["after"]
    )


# --- the command: SIGTERM to torchrun, then resume with another world size -----------------

TINY = [
    *("--shape", "16", "16", "--num-train-cases", "4", "--num-test-cases", "2"),
    *("--channels", "4", "--shared-dilations", "1", "--head-dilations", "1"),
    *("--num-envs", "1", "--threads", "1", "--log-every", "1", "--no-progress"),
]


def _train(out, *flags):
    return ["-m", "segenv_agents.cli", "train", "a3c", "--out", str(out), *TINY, *flags]


def _run(command):
    done = subprocess.run(
        command, cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_two_ranks_stopped_by_sigterm_resume_on_one_rank_and_on_two(tmp_path):
    out = tmp_path / "run"
    command = torchrun(2, *_train(out, "--total-updates", "100000", "--checkpoint-every-s", "0.2"))
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    checkpoint = out / "checkpoint.pt"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        state = load_checkpoint(checkpoint) if checkpoint.exists() else None
        if state is not None and state["updates"] >= 2:
            break
        assert process.poll() is None, process.communicate()[1][-3000:]
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGTERM)  # what a scheduler sends to the job
    stdout, stderr = process.communicate(timeout=120)
    assert "world size 2: 2×1 envs per update = 2 episodes" in stdout
    lines = [line for line in stderr.splitlines() if line.startswith("interrupted at update")]
    assert len(lines) == 1, stderr[-3000:]  # rank 0 alone says it
    stopped_at = int(lines[0].split()[3].split("/")[0])
    state = load_checkpoint(checkpoint)
    assert state["updates"] == stopped_at and state["world_size"] == 2
    assert set(state["model"]) == {key.removeprefix("module.") for key in state["model"]}
    assert read_config(out)[0] == "a3c"
    assert json.loads((out / "config.json").read_text())["world_size"] == 2
    first = json.loads((out / "scalars.jsonl").open().readline())
    assert first["env_steps_total"] == 2 * a3c.Args().max_steps  # both ranks' episodes count
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoint.pt",
        "config.json",
        "scalars.jsonl",
        "tb",
    ]

    target = stopped_at + 2  # one process continues the two ranks' run
    _run([sys.executable, *_train(out, "--total-updates", str(target), "--resume")])
    assert load_checkpoint(checkpoint)["updates"] == target
    assert json.loads((out / "config.json").read_text())["world_size"] == 1

    done = _run(torchrun(2, *_train(out, "--total-updates", str(target + 1), "--resume")))
    assert load_checkpoint(checkpoint)["updates"] == target + 1
    assert done.stdout.count("trained a3c") == 1  # rank 0 alone prints
    steps = [json.loads(line)["step"] for line in (out / "scalars.jsonl").open()]
    assert steps == list(range(1, target + 2))


@pytest.mark.parametrize("learner", ["ppo", "mecca"])
def test_ppo_and_mecca_train_on_two_ranks_and_resume_on_one(tmp_path, learner):
    out = tmp_path / learner
    flags = [
        *("--shape", "16", "16", "--num-train-cases", "4", "--num-test-cases", "2"),
        *("--channels", "4", "--shared-dilations", "1", "--head-dilations", "1"),
        *("--num-envs", "2", "--threads", "1", "--log-every", "1", "--no-progress"),
    ]
    train = ["-m", "segenv_agents.cli", "train", learner, "--out", str(out), *flags]
    done = _run(torchrun(2, *train, "--total-updates", "2"))
    assert "world size 2: 2×2 envs per update = 4" in done.stdout
    assert load_checkpoint(out / "checkpoint.pt")["updates"] == 2
    _run([sys.executable, *train, "--total-updates", "3", "--resume"])
    assert load_checkpoint(out / "checkpoint.pt")["updates"] == 3
    steps = [json.loads(line)["step"] for line in (out / "scalars.jsonl").open()]
    assert steps == [1, 2, 3]


def test_learners_without_data_parallel_training_are_refused_under_torchrun(tmp_path):
    command = ["-m", "segenv_agents.cli", "train", "intercnn", "--out", str(tmp_path / "s")]
    done = subprocess.run(
        torchrun(1, *command), cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300
    )
    assert done.returncode != 0
    assert "does not train under torchrun" in done.stderr
    assert not (tmp_path / "s").exists()


def test_a_fresh_dataset_run_under_torchrun_is_refused_before_anything_is_written(
    monkeypatch, tmp_path, capsys
):
    from segenv_agents import cli

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    out = tmp_path / "run"
    status = cli.main(["train", "a3c", "--dataset", str(tmp_path), "--out", str(out)])
    assert status == 2
    assert "prepare the run in one process first" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="NCCL needs a GPU per rank (2 here)")
def test_two_ranks_train_with_nccl_on_two_gpus(tmp_path):
    out = tmp_path / "nccl"
    done = _run(torchrun(2, *_train(out, "--total-updates", "2", "--device", "cuda")))
    assert "world size 2" in done.stdout
    assert load_checkpoint(out / "checkpoint.pt")["updates"] == 2
