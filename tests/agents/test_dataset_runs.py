"""`segenv train --dataset`: IteR-MRL §4.1 end to end on a small MSD folder written here."""

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from segenv.data import SyntheticSource
from segenv.data.splits import Splits
from segenv_agents import cli
from segenv_agents.common.checkpoints import load_checkpoint

SHAPE = ["--shape", "8", "16", "16"]
TINY = [
    *SHAPE,
    *("--channels", "4", "--shared-dilations", "1", "--head-dilations", "1"),
    *("--num-envs", "1", "--threads", "1", "--eval-episodes", "2", "--no-progress"),
    *("--total-updates", "2", "--coarse-epochs", "2"),
]
BROKEN = "case_010"


def write_msd_task(root: Path, num_cases: int = 10) -> Path:
    """An MSD task: 3D NIfTI images and labels, 0.9 × 0.9 × 3 mm voxels, one broken case."""
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    source = SyntheticSource((10, 24, 24), num_cases=num_cases, difficulty=0.2)
    affine = np.diag([0.9, 0.9, 3.0, 1.0])  # anisotropic: thick slices along z
    training = []
    for index in range(num_cases + 1):
        name = f"case_{index:03d}"
        if index < num_cases:
            case = source[index]  # (D, H, W) = (z, y, x); NIfTI stores (x, y, z)
            image = np.asarray(case.image[0], np.float32).transpose(2, 1, 0)
            label = np.asarray(case.label, np.uint8).transpose(2, 1, 0)
        else:  # the label is not on the image's grid: the loader must reject it and say why
            image = np.zeros((24, 24, 10), np.float32)
            label = np.zeros((20, 24, 10), np.uint8)
        nib.save(nib.Nifti1Image(image, affine), root / "imagesTr" / f"{name}.nii.gz")
        nib.save(nib.Nifti1Image(label, affine), root / "labelsTr" / f"{name}.nii.gz")
        training.append(
            {"image": f"./imagesTr/{name}.nii.gz", "label": f"./labelsTr/{name}.nii.gz"}
        )
    meta = {
        "name": "Synthetic",
        "modality": {"0": "MRI"},
        "labels": {"0": "background", "1": "lesion"},
        "numTraining": len(training),
        "training": training,
    }
    (root / "dataset.json").write_text(json.dumps(meta))
    return root


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    root = tmp_path_factory.mktemp("msd")
    return write_msd_task(root / "Task00_Synthetic"), root / "cache"


def _mtimes(folder):
    return {path.name: path.stat().st_mtime_ns for path in sorted(folder.iterdir())}


def test_train_on_a_folder_splits_trains_the_coarse_network_once_and_evaluates(
    task, tmp_path, capsys, monkeypatch
):
    dataset, cache = task
    monkeypatch.setenv("SEGENV_CACHE_DIR", str(cache))
    run = tmp_path / "a3c"
    assert cli.main(["train", "a3c", "--dataset", str(dataset), "--out", str(run), *TINY]) == 0
    captured = capsys.readouterr()
    assert f"rejected {BROKEN}" in captured.err and "does not match image" in captured.err
    assert "splits: drew" in captured.out and "epoch   2/2" in captured.out

    # the seeded three-way split, kept in the run directory, without the broken case
    splits = Splits.load(run / "splits.json")
    assert set(splits.groups) == {"train1", "train2", "test"}
    names = [name for group in splits.groups.values() for name in group]
    assert len(names) == len(set(names)) == 10 and BROKEN not in names
    assert all(splits.groups.values())

    # config.json records the data, so evaluate and --resume need no flags
    recorded = json.loads((run / "config.json").read_text())["args"]
    assert recorded["shape"] == [8, 16, 16]
    assert recorded["dataset"] == str(dataset.resolve())
    assert recorded["splits"] == str((run / "splits.json").resolve())
    coarse = Path(recorded["coarse"])
    assert coarse.parent == cache / "coarse"  # the shared cache, keyed by settings and data
    probabilities = coarse / "probabilities"
    assert sorted(p.stem for p in probabilities.glob("*.npy")) == sorted(
        [*splits["train2"], *splits["test"]]
    )  # none for train1, where the coarse network learned
    for path in probabilities.glob("*.npy"):
        assert np.load(path).shape == (8, 16, 16)
    assert load_checkpoint(run / "checkpoint.pt")["updates"] == 2

    assert cli.main(["evaluate", str(run)]) == 0
    table = capsys.readouterr().out
    assert f"test split of {dataset.resolve()}" in table and "shape (8, 16, 16)" in table
    assert "| a3c |" in table and "| initial segmentation (no-op) |" in table
    assert "NoC@85" in table and "ASSD" in table
    record = json.loads((run / "eval_test.json").read_text())
    assert record["episodes"] == len(splits["test"])

    # a second run, another learner: the same splits (same seed) and the cached coarse network
    stamps = _mtimes(probabilities)
    other = tmp_path / "intercnn"
    command = ["train", "intercnn", "--dataset", str(dataset), "--out", str(other), *TINY]
    assert cli.main(command) == 0
    out = capsys.readouterr().out
    assert f"cached: {probabilities} already holds this run's" in out
    assert "epoch" not in out
    assert _mtimes(probabilities) == stamps
    assert json.loads((other / "config.json").read_text())["args"]["coarse"] == str(coarse)
    assert Splits.load(other / "splits.json").groups == splits.groups

    # --splits reuses a split; resuming continues every stage without retraining any
    third = tmp_path / "from-splits"
    command = ["train", "a3c", "--dataset", str(dataset), "--out", str(third), *TINY]
    assert cli.main([*command, "--splits", str(run / "splits.json"), "--data-seed", "1"]) == 0
    assert Splits.load(third / "splits.json").groups == splits.groups
    capsys.readouterr()
    resume = ["train", "a3c", "--out", str(run), "--resume", "--total-updates", "3"]
    assert cli.main([*resume, "--no-progress"]) == 0
    assert "cached:" in capsys.readouterr().out
    assert load_checkpoint(run / "checkpoint.pt")["updates"] == 3
    assert _mtimes(probabilities) == stamps

    # resuming with other splits or other data is refused, naming the field
    (tmp_path / "other.json").write_text(
        json.dumps({"format": "segenv.splits", "version": 1, "splits": {"test": names[:1]}})
    )
    assert cli.main([*resume, "--splits", str(tmp_path / "other.json")]) == 2
    assert "splits is" in capsys.readouterr().err
    assert cli.main([*resume, "--coarse-epochs", "5"]) == 2
    assert "coarse_epochs is 2 in its config.json, 5 now" in capsys.readouterr().err


def test_a_benchmark_runs_its_cells_on_the_folder(task, tmp_path, capsys, monkeypatch):
    dataset, cache = task
    monkeypatch.setenv("SEGENV_CACHE_DIR", str(cache))
    out = tmp_path / "bench"
    command = ["benchmark", "ablations", "--profile", "tiny", "--out", str(out), *SHAPE]
    command += ["--dataset", str(dataset), "--coarse-epochs", "2", "--no-progress"]
    assert cli.main([*command, "--only", "noop,a3c-relative-s0"]) == 0
    printed = capsys.readouterr().out
    assert f"- Data: {dataset.resolve()} (3D volumes 8×16×16)" in printed
    assert "p(0) = the coarse network's probability" in printed
    cell = json.loads((out / "cells" / "a3c-relative-s0" / "cell.json").read_text())["config"]
    assert cell["args"]["dataset"] == str(dataset.resolve())
    assert cell["args"]["splits"] == str((out / "splits.json").resolve())
    result = json.loads((out / "cells" / "noop" / "result.json").read_text())
    test_cases = len(Splits.load(out / "splits.json")["test"])
    assert len(result["evaluations"]["good"]["dice"]) == test_cases
