"""The ``paper`` presets hold the papers' settings and train (one update a stage) at their size."""

import dataclasses
import json

import pytest

from segenv_agents import a3c, cli, mecca, ppo, sb3, supervised

PAPER_PRESETS = {
    "a3c": a3c.CONFIGS["paper"],
    "mecca": mecca.CONFIGS["paper"],
    "ppo": ppo.CONFIGS["paper"],
    "sb3_ppo": sb3.CONFIGS["paper"],
    "intercnn": supervised.CONFIGS["paper"],
    "rnet": dataclasses.replace(supervised.CONFIGS["paper"], variant="rnet", state="probability"),
}


@pytest.mark.parametrize("learner", sorted(PAPER_PRESETS))
def test_paper_presets_hold_the_papers_settings(learner):
    args = PAPER_PRESETS[learner]
    assert tuple(args.shape) == (30, 55, 55)  # 55×55×30 in (D, H, W)
    assert args.max_steps == 5 and args.clicks_per_step == 5 and args.gamma == 0.95
    assert args.lr == pytest.approx(1e-4)
    assert args.device == "auto"  # the GPU where there is one


def test_paper_a3c_pretrains_without_interaction_then_fine_tunes():
    args = a3c.CONFIGS["paper"]
    assert 0 < args.pretrain_updates < args.total_updates
    assert args.advantage == "mean" and args.channels == 32  # eq 7, IteR-MRL's network


SMALL_DATA = ["--num-train-cases", "2", "--num-test-cases", "1", "--no-progress"]
ONE_UPDATE = {
    "a3c": ["--total-updates", "2", "--pretrain-updates", "1"],  # one of each stage
    "mecca": ["--total-updates", "1"],
    "intercnn": ["--total-updates", "1"],
    "rnet": ["--total-updates", "1"],
    "ppo": ["--total-updates", "1", "--num-envs", "1", "--num-minibatches", "1"],
    "sb3_ppo": [
        "--total-timesteps",
        "5",
        "--num-envs",
        "1",
        "--batch-size",
        "5",
        "--n-epochs",
        "1",
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("learner", sorted(ONE_UPDATE))
def test_paper_preset_trains_one_update_at_the_papers_size(tmp_path, learner):
    out = tmp_path / learner
    command = ["train", learner, "--config", "paper", "--out", str(out), *SMALL_DATA]
    assert cli.main([*command, *ONE_UPDATE[learner]]) == 0
    recorded = json.loads((out / "config.json").read_text())
    assert recorded["args"]["shape"] == [30, 55, 55]
    assert any(out.glob("checkpoint.*"))
