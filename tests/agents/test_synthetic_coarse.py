"""``start="coarse"`` on the synthetic data: IteR-MRL §4.1's coarse network as the start."""

import dataclasses
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from segenv.data.synthetic import HELD_OUT_FAMILIES
from segenv.errors import ConfigError
from segenv_agents import cli
from segenv_agents.coarse import Args, prepare_synthetic_run, synthetic_run_key
from segenv_agents.common.config import (
    SYNTHETIC_COARSE_EPOCHS,
    EnvArgs,
    env_id_of,
    env_kwargs,
    synthetic_splits_of,
)

TINY_DATA = {
    "shape": (8, 16, 16),
    "num_train_cases": 4,
    "num_test_cases": 3,
    "coarse_epochs": 1,
    "start": "coarse",
}
TINY = [
    *("--shape", "8", "16", "16", "--num-train-cases", "4", "--num-test-cases", "3"),
    *("--channels", "4", "--shared-dilations", "1", "--head-dilations", "1"),
    *("--num-envs", "1", "--threads", "1", "--eval-episodes", "2", "--no-progress"),
    *("--total-updates", "2", "--coarse-epochs", "1"),
]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("SEGENV_CACHE_DIR", str(folder))
    return folder


def _mtimes(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in sorted(folder.iterdir())}


def expected_names(args: EnvArgs) -> list[str]:
    """train2, test and every held-out family's test cases: what the cache must hold."""
    splits = synthetic_splits_of(args)
    names = [*splits.train2.names, *splits.test.names]
    for family in HELD_OUT_FAMILIES:
        names += synthetic_splits_of(dataclasses.replace(args, test_family=family)).test.names
    return names


def test_prepare_caches_train2_test_and_held_out_starts_once(cache, capsys):
    args = EnvArgs(**TINY_DATA, family="mixed", randomise=True)
    prepared = prepare_synthetic_run(args, device="cpu")
    printed = capsys.readouterr().out
    assert "epoch   1/1" in printed and "train2: 4 probability volume(s)" in printed
    coarse = Path(prepared.coarse)
    assert coarse.parent == cache / "coarse" and coarse.is_absolute()
    folder = coarse / "probabilities"
    names = expected_names(args)
    assert len(names) == 4 + 3 + 3 * len(HELD_OUT_FAMILIES) == len(set(names))
    assert sorted(p.stem for p in folder.glob("*.npy")) == sorted(names)
    train1 = synthetic_splits_of(args).train1.names
    assert not set(train1) & set(names)  # none where the coarse network learned
    assert any(name.startswith("synthetic-tubes-") for name in names)

    kwargs = env_kwargs(prepared, "train")
    assert kwargs["initialiser"] == "probability_files"
    assert kwargs["initialiser_kwargs"] == {"folder": str(folder)}

    # a second preparation with the same data settings trains nothing and writes nothing
    stamps = _mtimes(folder)
    again = prepare_synthetic_run(args, device="cpu")
    printed = capsys.readouterr().out
    assert f"cached: {folder} already holds this run's {len(names)}" in printed
    assert "epoch" not in printed
    assert again.coarse == prepared.coarse and _mtimes(folder) == stamps


def test_each_episode_starts_from_the_cached_probability(cache):
    args = dataclasses.replace(
        prepare_synthetic_run(EnvArgs(**TINY_DATA), device="cpu"), initial_clicks=0
    )
    folder = Path(args.coarse) / "probabilities"
    for split in ("train", "test"):
        env = gym.make(env_id_of(args), **env_kwargs(args, split))
        for index in range(2):
            observation, info = env.reset(seed=index, options={"case_index": index})
            cached = np.load(folder / f"{info['case']}.npy")
            np.testing.assert_array_equal(env.unwrapped.probability, cached)  # type: ignore[attr-defined]
            np.testing.assert_array_equal(observation[1], cached)  # image, p, hints


def test_the_cache_key_follows_every_setting_that_changes_the_cases(cache):
    args = EnvArgs(**TINY_DATA)
    first = synthetic_splits_of(args).train1[0]
    key = synthetic_run_key(Args(shape=args.shape, epochs=1), args, first)
    changes = [
        {"difficulty": 0.9},
        {"data_seed": 1},
        {"family": "tissue"},
        {"randomise": True},
        {"num_train_cases": 5},
    ]
    for change in changes:
        other = dataclasses.replace(args, **change)
        case = synthetic_splits_of(other).train1[0]
        assert synthetic_run_key(Args(shape=args.shape, epochs=1), other, case) != key, change
    assert synthetic_run_key(Args(shape=args.shape, epochs=2), args, first) != key
    assert synthetic_run_key(Args(shape=args.shape, epochs=1, seed=1), args, first) != key
    same = dataclasses.replace(args, num_test_cases=9, test_family="tubes")  # predicted on demand
    assert synthetic_run_key(Args(shape=args.shape, epochs=1), same, first) == key


def test_missing_or_gone_cache_and_uncached_test_family_are_one_line_errors(cache, capsys):
    with pytest.raises(ConfigError, match=r"start='coarse' has no coarse network yet.*--start"):
        env_kwargs(EnvArgs(**TINY_DATA), "train")
    with pytest.raises(ConfigError, match="needs the 3D env"):
        env_kwargs(EnvArgs(**{**TINY_DATA, "shape": (16, 16)}), "train")
    prepared = prepare_synthetic_run(EnvArgs(**TINY_DATA), device="cpu")

    organ = dataclasses.replace(prepared, test_family="organ")
    with pytest.raises(ConfigError, match=r"no p\(0\) for 3 of the 3 test cases") as error:
        env_kwargs(organ, "test")
    assert "\n" not in str(error.value) and "prepare_synthetic_run" in str(error.value)
    capsys.readouterr()
    assert prepare_synthetic_run(organ, device="cpu").coarse == prepared.coarse
    printed = capsys.readouterr().out
    assert "predicting test-organ" in printed and "epoch" not in printed  # no retraining
    assert env_kwargs(organ, "test")["initialiser"] == "probability_files"

    for path in Path(prepared.coarse).glob("probabilities/*"):
        path.unlink()
    Path(prepared.coarse, "probabilities").rmdir()
    with pytest.raises(ConfigError, match=r"are gone .*--resume` computes them again") as error:
        env_kwargs(prepared, "test")
    assert "\n" not in str(error.value)


def test_synthetic_coarse_epochs_default_only_where_not_given():
    assert SYNTHETIC_COARSE_EPOCHS == 12
    base = EnvArgs()
    assert cli.implied_defaults(base, {"start": "coarse"})["coarse_epochs"] == 12
    assert cli.implied_defaults(base, {"start": "coarse", "coarse_epochs": 3})["coarse_epochs"] == 3
    assert "coarse_epochs" not in cli.implied_defaults(base, {"start": "image_aware"})
    real = cli.implied_defaults(base, {"start": "coarse", "dataset": "/data"})
    assert "coarse_epochs" not in real  # real data keeps its 30


def test_cli_trains_with_the_coarse_start_evaluates_and_reuses_the_cache(cache, tmp_path, capsys):
    run = tmp_path / "a3c"
    assert cli.main(["train", "a3c", "--start", "coarse", "--out", str(run), *TINY]) == 0
    printed = capsys.readouterr().out
    assert "coarse network:" in printed and "epoch   1/1" in printed
    assert "test: 3 probability volume(s), mean Dice" in printed
    recorded = json.loads((run / "config.json").read_text())["args"]
    assert recorded["start"] == "coarse" and recorded["coarse_epochs"] == 1
    coarse = Path(recorded["coarse"])
    assert coarse.parent == cache / "coarse"
    folder = coarse / "probabilities"
    stamps = _mtimes(folder)

    assert cli.main(["evaluate", str(run)]) == 0  # no flags: config.json has the coarse start
    assert "| a3c |" in capsys.readouterr().out
    assert json.loads((run / "eval_test.json").read_text())["episodes"] == 2  # --eval-episodes

    # another run with the same data settings, and a resumed one: the cached network
    other = tmp_path / "other"
    assert cli.main(["train", "a3c", "--start", "coarse", "--out", str(other), *TINY]) == 0
    printed = capsys.readouterr().out
    assert f"cached: {folder} already holds" in printed and "epoch " not in printed
    assert json.loads((other / "config.json").read_text())["args"]["coarse"] == str(coarse)
    command = ["train", "a3c", "--out", str(run), "--resume", "--total-updates", "3"]
    assert cli.main([*command, "--no-progress"]) == 0
    assert f"cached: {folder} already holds" in capsys.readouterr().out
    assert _mtimes(folder) == stamps

    # the cache cleaned: evaluation says how to rebuild it, in one line
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    assert cli.main(["evaluate", str(run)]) != 0
    error = capsys.readouterr().err.strip()
    assert "are gone" in error and "--resume" in error and "\n" not in error
