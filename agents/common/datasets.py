"""Real data for the learners: a run's NIfTI cases, its splits and the coarse network's start.

A run trains on a folder (``EnvArgs.dataset``) with IteR-MRL §4.1's protocol: the cases are
split into ``train1`` (the coarse network's), ``train2`` (the learner's, augmented) and
``test``; every episode starts from the coarse network's probability for its case
(``initialiser="probability_files"``). ``segenv train --dataset`` prepares the splits and the
coarse network (:func:`segenv_agents.coarse.prepare_dataset_run`) and records their paths in
``config.json``; from then on :func:`dataset_env_kwargs` is all the env needs, so evaluation
and resuming need no flags. Sources are loaded once per process (the preprocessed volumes
come from segenv's cache). Nothing here imports torch.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

from segenv.data.sources import NiftiSource, load_dataset
from segenv.data.splits import Splits
from segenv.errors import ConfigError

DATASET_SHAPE = (30, 55, 55)
"""The papers' volume, 55×55×30 as ``(D, H, W)``: the shape of a run on real data by default."""

PROBABILITIES = "probabilities"
"""The folder of a coarse network run that holds ``<case>.npy`` probabilities."""

SPLIT_GROUPS = {"train1": "train1", "train": "train2", "train2": "train2", "test": "test"}
"""The learners' split names → the groups of IteR-MRL's three-way split."""


def load_source(args: Any, *, verbose: bool = False) -> NiftiSource:
    """Every usable case of ``args.dataset``, preprocessed to ``args.shape`` (once per process).

    Raises:
        ConfigError: No such folder, or a shape that is not ``(D, H, W)``.
        DataError: No usable case (the message lists each rejected one and why).
    """
    folder = Path(args.dataset).expanduser()
    if not folder.is_dir():
        what = "is a file" if folder.exists() else "does not exist"
        raise ConfigError(
            f"--dataset {args.dataset}: {what}; give an MSD task folder (dataset.json, "
            "imagesTr/, labelsTr/) or a folder of image/label pairs"
        )
    shape = tuple(args.shape)
    if len(shape) != 3:
        raise ConfigError(
            f"--dataset needs a 3D --shape D H W (default {' '.join(map(str, DATASET_SHAPE))}); "
            f"got {' '.join(map(str, shape))}"
        )
    return _load(str(folder.resolve()), args.preset or "", shape, verbose)


@functools.lru_cache(maxsize=4)
def _load(folder: str, preset: str, shape: tuple[int, ...], verbose: bool) -> NiftiSource:
    if preset:
        return NiftiSource.from_preset(preset, folder, shape=shape, verbose=verbose)
    return load_dataset(folder, shape=shape, verbose=verbose)


def run_splits(args: Any) -> Splits:
    """The splits recorded for a run (``args.splits``)."""
    if not args.splits:
        raise ConfigError(
            "this run on --dataset has no splits file; `segenv train --dataset` draws one (or "
            "call segenv_agents.coarse.prepare_dataset_run)"
        )
    path = Path(args.splits).resolve()
    modified = path.stat().st_mtime_ns if path.exists() else 0
    return _splits(str(path), modified)


@functools.lru_cache(maxsize=8)
def _splits(path: str, modified: int) -> Splits:
    return Splits.load(path)


def split_source(args: Any, split: str) -> NiftiSource:
    """The cases of ``split`` (``train`` = ``train2``, ``test``, ``train1``) of a run."""
    if split not in SPLIT_GROUPS:
        raise ConfigError(f"split={split!r} is unknown; use one of {sorted(SPLIT_GROUPS)}")
    names = run_splits(args)[SPLIT_GROUPS[split]]
    if not names:
        raise ConfigError(f"the {SPLIT_GROUPS[split]!r} split of {args.splits} is empty")
    return load_source(args).subset(names)


def probabilities_folder(coarse: str | os.PathLike[str]) -> Path:
    """Where a coarse network run keeps its probability volumes."""
    return Path(coarse) / PROBABILITIES


def coarse_probabilities(args: Any) -> Path:
    """The folder of a run's coarse-network probabilities (``--dataset`` or start ``coarse``).

    Raises:
        ConfigError: The run has no coarse network yet, or its folder is gone (each says how
            to make it).
    """
    if args.dataset:
        what, how = "this run on --dataset", "`segenv train --dataset`"
        function = "prepare_dataset_run"
    else:
        what, how = "this run with start='coarse'", "`segenv train LEARNER --start coarse`"
        function = "prepare_synthetic_run"
    if not args.coarse:
        raise ConfigError(
            f"{what} has no coarse network yet; {how} trains it (or call "
            f"segenv_agents.coarse.{function})"
        )
    folder = probabilities_folder(args.coarse)
    if not folder.is_dir():
        raise ConfigError(
            f"the coarse network's probabilities {folder} are gone (a cleaned cache?); "
            "`segenv train LEARNER --out RUN --resume` computes them again"
        )
    return folder


def check_probability_files(kwargs: dict[str, Any], split: str, args: Any) -> None:
    """Every case of the env keywords' synthetic ``dataset`` has its cached ``p(0)`` file.

    A start ``coarse`` run's cache holds ``train2``, ``test`` and the held-out families' test
    cases; another ``test_family`` (or more test cases) is predicted on request.

    Raises:
        ConfigError: Some case has no file (naming how to predict the missing ones).
    """
    if kwargs.get("initialiser") != "probability_files":
        return
    names = getattr(kwargs.get("dataset"), "names", None)
    folder = Path(kwargs.get("initialiser_kwargs", {}).get("folder", ""))
    if names is None or not folder.is_dir():
        return
    missing = [name for name in names if not (folder / f"{name}.npy").is_file()]
    if missing:
        family = f", test_family={args.test_family!r}" if args.test_family else ""
        raise ConfigError(
            f"the coarse network's cache {folder} has no p(0) for {len(missing)} of the "
            f"{len(names)} {split} cases ({missing[0]}, ...{family}); "
            "segenv_agents.coarse.prepare_synthetic_run(args) predicts them with the cached "
            "network, without training it again"
        )


def dataset_env_kwargs(args: Any, split: str) -> dict[str, Any]:
    """The env keywords of a run on real data: the split's cases, p(0), augmentation."""
    folder = coarse_probabilities(args)
    return {
        "dataset": split_source(args, split),
        "augment": SPLIT_GROUPS[split] == "train2",
        "initialiser": "probability_files",
        "initialiser_kwargs": {"folder": str(folder)},
    }
