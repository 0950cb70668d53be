import json

import gymnasium as gym
import numpy as np
import pytest
import torch

import segenv  # noqa: F401  (registers the env ids)
from segenv.data import SyntheticSource
from segenv.data.export import export_msd
from segenv.data.sources import NiftiSource
from segenv.data.splits import Splits
from segenv.errors import ConfigError
from segenv_agents.coarse import (
    Args,
    CoarseNet,
    parse_args,
    probabilities_folder,
    run,
    soft_dice_loss,
)

SHAPE = (8, 16, 16)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("coarse") / "Task00_Synthetic"
    return export_msd(SyntheticSource((10, 20, 20), num_cases=6, difficulty=0.2), root)


def tiny_args(dataset, out, **overrides):
    settings = dict(
        dataset=str(dataset),
        out=str(out),
        shape=SHAPE,
        epochs=2,
        channels=4,
        cache_dir=str(out / "cache"),
        device="cpu",
    )
    settings.update(overrides)
    return Args(**settings)


def test_network_keeps_odd_grids():
    network = CoarseNet(in_channels=2, channels=4)
    assert network(torch.zeros(1, 2, 5, 11, 7)).shape == (1, 1, 5, 11, 7)


def test_soft_dice_loss_hand_value():
    logits = torch.tensor([[[100.0, -100.0, 100.0, -100.0]]])  # p = 1, 0, 1, 0
    target = torch.tensor([[[1.0, 1.0, 0.0, 0.0]]])
    # 1 - (2 * 1 + 1) / (2 + 2 + 1) = 0.4
    assert float(soft_dice_loss(logits, target)) == pytest.approx(0.4)


def test_run_trains_on_train1_and_caches_train2_test_probabilities(dataset, tmp_path, capsys):
    out = tmp_path / "run"
    summary = run(tiny_args(dataset, out))
    printed = capsys.readouterr().out
    assert "epoch   2/2" in printed and "validation Dice" in printed
    splits = Splits.load(out / "splits.json")
    folder = probabilities_folder(out)
    written = sorted(p.stem for p in folder.glob("*.npy"))
    assert written == sorted([*splits["train2"], *splits["test"]])
    assert not set(written) & set(splits["train1"])
    for name in written:
        p = np.load(folder / f"{name}.npy")
        assert p.shape == SHAPE and p.dtype == np.float32 and 0 <= p.min() <= p.max() <= 1
    assert set(summary["dice"]) == {"train2", "test"}
    assert json.loads((out / "summary.json").read_text())["key"] == summary["key"]

    mtimes = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    again = run(tiny_args(dataset, out))
    assert "cached:" in capsys.readouterr().out
    assert again["key"] == summary["key"]
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == mtimes

    source = NiftiSource.from_msd(dataset, shape=SHAPE, cache_dir=out / "cache", verbose=False)
    train2 = source.subset(splits["train2"])
    env = gym.make(
        "InteractiveSeg3D-v0",
        dataset=train2,
        shape=SHAPE,
        initialiser="probability_files",
        initialiser_kwargs={"folder": str(folder)},
    )
    obs, info = env.reset(seed=0)
    np.testing.assert_array_equal(obs[1], np.load(folder / f"{info['case']}.npy"))


def test_command_line_and_bad_settings(dataset, tmp_path):
    args = parse_args(["--dataset", str(dataset), "--shape", "8", "16", "16", "--no-augment"])
    assert args.shape == SHAPE and args.augment is False and args.epochs == 30
    with pytest.raises(ConfigError, match="--epochs must be >= 1"):
        run(tiny_args(dataset, tmp_path / "bad", epochs=0))
    with pytest.raises(ConfigError, match="--dataset is required"):
        run(Args(out=str(tmp_path / "none")))


@pytest.mark.gpu
def test_trains_on_cuda(dataset, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    summary = run(tiny_args(dataset, tmp_path / "cuda", device="cuda", epochs=1))
    assert set(summary["dice"]) == {"train2", "test"}
