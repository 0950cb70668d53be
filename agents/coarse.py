"""The initial method: a small 3D CNN trained on ``train1`` whose probabilities start the episodes.

IteR-MRL §4.1 trains the coarse ("initial") segmentation method on ``train1`` and feeds its
probabilities for ``train2`` (where the update method learns) and ``test`` to the update
method, so the update method never starts from a prediction made on a case the initial method
was trained on. This file does that, top to bottom:

``Args`` → data (a NIfTI folder, its seeded splits saved as JSON) → network (a two-level 3D
U-Net) → training loop (BCE + soft Dice, flips/rotations, validation Dice on a held-out part
of ``train1``, best checkpoint kept) → probabilities for ``train2`` and ``test`` written once as
``<out>/probabilities/<case>.npy`` (atomically). A second run with the same settings finds
them and does nothing; an interrupted one resumes (training from its last finished epoch).
The env reads them through the ``probability_files`` initialiser::

    python -m segenv_agents.coarse --dataset path/to/Task01_BrainTumour \
        --preset brats_flair_whole_tumour

    env = gym.make("InteractiveSeg3D-v0", dataset=splits_sources["train2"],
                   initialiser="probability_files",
                   initialiser_kwargs={"folder": "runs/coarse/probabilities"})

A learner's run on real data does all of it through :func:`prepare_dataset_run`
(``segenv train LEARNER --dataset PATH``): the splits kept in the run directory, the coarse
network cached under segenv's cache folder by its settings and the data, so every learner and
every run on the same data and splits shares one. A run on the synthetic data with
``start="coarse"`` (``segenv train LEARNER --start coarse``) does the same through
:func:`prepare_synthetic_run`: trained on the synthetic ``train1`` split, its probabilities
cached for ``train2``, ``test`` and the held-out families' test cases.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from segenv.data.cache import default_cache_dir, file_fingerprint
from segenv.data.case import Case
from segenv.data.preprocess import augment_case
from segenv.data.presets import get_preset
from segenv.data.sources import NiftiSource, load_dataset
from segenv.data.splits import PAPER_FRACTIONS, Splits, three_way_split
from segenv.data.synthetic import HELD_OUT_FAMILIES
from segenv.devices import resolve_device
from segenv.errors import ConfigError
from segenv.files import atomic_write, atomic_write_text, atomic_writer
from segenv.metrics import dice

from .common import datasets, interrupts
from .common.config import COARSE_START, EnvArgs, randomisation_knobs, synthetic_splits_of


@dataclass
class Args:
    """Settings of a coarse-network run."""

    dataset: str = ""
    """An MSD task folder or a folder of image/label pairs."""
    preset: str | None = None
    """A name of ``segenv.data.presets.PRESETS`` (modality, labels, crop, split sizes)."""
    out: str = "runs/coarse"
    """Output folder: splits.json, model.pt, summary.json, probabilities/."""
    splits: str | None = None
    """Splits JSON (created with ``split_seed`` if missing); default ``<out>/splits.json``."""
    split_seed: int = 0
    """Seed of the train1/train2/test split when it is created."""
    shape: tuple[int, int, int] = (30, 55, 55)
    """(D, H, W) the volumes are resized to."""
    cache_dir: str | None = None
    """Preprocessed-volume cache (default: segenv's cache folder)."""
    epochs: int = 30
    """Passes over the training part of train1."""
    batch_size: int = 2
    """Volumes per optimisation step."""
    lr: float = 1e-3
    """Adam learning rate."""
    channels: int = 16
    """Feature maps of the first level (doubled at the second)."""
    validation_fraction: float = 0.2
    """Part of train1 held out for the validation Dice (at least one case when train1 has 2+)."""
    augment: bool = True
    """Random flips and rotations of the training volumes."""
    seed: int = 0
    """Seeds torch and numpy."""
    device: str = "auto"
    """"cpu", "cuda" or "auto" (cuda when available)."""
    force: bool = False
    """Retrain and recompute even when cached outputs match these settings."""


# --------------------------------------------------------------------------- network


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, 3, padding=1),
        nn.InstanceNorm3d(out_channels, affine=True),
        nn.LeakyReLU(0.01, inplace=True),
        nn.Conv3d(out_channels, out_channels, 3, padding=1),
        nn.InstanceNorm3d(out_channels, affine=True),
        nn.LeakyReLU(0.01, inplace=True),
    )


class CoarseNet(nn.Module):
    """A two-level 3D U-Net: ``(B, M, D, H, W)`` image → ``(B, 1, D, H, W)`` foreground logits."""

    def __init__(self, in_channels: int, channels: int = 16) -> None:
        """Build the encoder (two levels), the decoder and the 1×1×1 output convolution."""
        super().__init__()
        self.encode1 = _block(in_channels, channels)
        self.encode2 = _block(channels, 2 * channels)
        self.decode = _block(3 * channels, channels)
        self.head = nn.Conv3d(channels, 1, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Logits on the input grid (any size: the skip connection is resampled to match)."""
        first = self.encode1(image)
        second = self.encode2(F.max_pool3d(first, 2, ceil_mode=True))
        upsampled = F.interpolate(second, size=first.shape[2:], mode="trilinear")
        return self.head(self.decode(torch.cat([first, upsampled], dim=1)))


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """``1 - (2 Σ p y + s) / (Σ p + Σ y + s)`` per volume, averaged over the batch."""
    probability = torch.sigmoid(logits).flatten(1)
    truth = target.flatten(1)
    overlap = (probability * truth).sum(1)
    return (1 - (2 * overlap + smooth) / (probability.sum(1) + truth.sum(1) + smooth)).mean()


# --------------------------------------------------------------------------- data


def load_source(args: Args) -> NiftiSource:
    """The data set of ``args`` (through the preset when one is named)."""
    options: dict[str, Any] = {"shape": args.shape}
    if args.cache_dir is not None:
        options["cache_dir"] = args.cache_dir
    if args.preset:
        return NiftiSource.from_preset(args.preset, args.dataset, **options)
    return load_dataset(args.dataset, **options)


def load_or_make_splits(args: Args, names: Sequence[str]) -> Splits:
    """Read the splits file, or draw train1/train2/test and write it."""
    path = Path(args.splits) if args.splits else Path(args.out) / "splits.json"
    if path.is_file():
        print(f"splits: {path}")
        return Splits.load(path)
    fractions = get_preset(args.preset).split_fractions if args.preset else PAPER_FRACTIONS
    splits = three_way_split(names, fractions=fractions, seed=args.split_seed)
    splits.save(path)
    print(f"splits: drew {path} with seed {args.split_seed}")
    return splits


def _batch(cases: Sequence[Case], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.from_numpy(np.stack([c.image for c in cases])).to(device)
    labels = torch.from_numpy(np.stack([c.label for c in cases]).astype(np.float32))
    return images, labels[:, None].to(device)


@torch.no_grad()
def predict(network: CoarseNet, case: Case, device: torch.device) -> np.ndarray:
    """The foreground probability of one case, float32 ``(D, H, W)``."""
    network.eval()
    images, _ = _batch([case], device)
    return torch.sigmoid(network(images))[0, 0].float().cpu().numpy()


def mean_dice(network: CoarseNet, cases: Sequence[Case], device: torch.device) -> float:
    """Mean Dice of ``p >= 0.5`` over ``cases``."""
    scores = [dice(predict(network, c, device) >= 0.5, c.label) for c in cases]
    return float(np.mean(scores)) if scores else float("nan")


# --------------------------------------------------------------------------- training


def _split_validation(
    cases: list[Case], fraction: float, rng: np.random.Generator
) -> tuple[list[Case], list[Case]]:
    if not 0 <= fraction < 1:
        raise ConfigError(f"--validation-fraction must be in [0, 1), got {fraction}")
    order = rng.permutation(len(cases))
    count = max(1, round(fraction * len(cases))) if fraction > 0 and len(cases) > 1 else 0
    return [cases[i] for i in order[count:]], [cases[i] for i in order[:count]]


def check_args(args: Args) -> None:
    """Reject settings that cannot train on ``args.dataset``, naming the flag."""
    if not args.dataset:
        raise ConfigError("--dataset is required: an MSD task folder or a folder of pairs")
    check_training(args)


def check_training(args: Args) -> None:
    """Reject training settings that cannot train (any source), naming the flag."""
    for name in ("epochs", "batch_size", "channels"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if not args.lr > 0:
        raise ConfigError(f"--lr must be > 0, got {args.lr}")


def train(
    args: Args,
    train_cases: list[Case],
    device: torch.device,
    *,
    checkpoint: Path | None = None,
    key: str = "",
) -> tuple[CoarseNet, float, list[dict[str, float]]]:
    """Train on ``train_cases``; return the best network, its validation Dice and the log.

    With ``checkpoint``, the state after every epoch (network, optimiser, best network,
    generators) is written there atomically and a later call with the same ``key`` resumes
    from it, ending exactly where an uninterrupted run ends. A signal (see
    :mod:`.common.interrupts`) abandons the current epoch and raises
    :class:`~.common.interrupts.Interrupted` with the epochs done.
    """
    check_training(args)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    fit, validation = _split_validation(train_cases, args.validation_fraction, rng)
    network = CoarseNet(fit[0].num_modalities, args.channels).to(device)
    optimiser = torch.optim.Adam(network.parameters(), lr=args.lr)
    best_state: dict[str, torch.Tensor] | None = None
    best_dice, log, first = -1.0, [], 1
    saved = _load_training(checkpoint, key)
    if saved is not None:
        network.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        best_state, best_dice, log = saved["best_state"], saved["best_dice"], saved["log"]
        rng.bit_generator.state = saved["numpy_rng"]
        torch.set_rng_state(saved["torch_rng"])
        first = int(saved["epoch"]) + 1
        print(f"resuming the coarse network after epoch {first - 1}/{args.epochs}")
    print(f"training on {len(fit)} case(s), validating on {len(validation)}, device {device}")
    with interrupts.handle_signals(), interrupts.deferred():
        for epoch in range(first, args.epochs + 1):
            start, losses = time.perf_counter(), []
            network.train()
            order = rng.permutation(len(fit))
            for batch_start in range(0, len(order), args.batch_size):
                interrupts.raise_if_requested(
                    done=epoch - 1,
                    total=args.epochs,
                    unit="epoch",
                    stage="the coarse network",
                    saved=checkpoint is not None and epoch > 1,
                )
                cases = [fit[i] for i in order[batch_start : batch_start + args.batch_size]]
                if args.augment:
                    cases = [augment_case(c, rng) for c in cases]
                images, labels = _batch(cases, device)
                logits = network(images)
                loss = F.binary_cross_entropy_with_logits(logits, labels) + soft_dice_loss(
                    logits, labels
                )
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                losses.append(float(loss.detach()))
            score = mean_dice(network, validation or fit, device)
            if score > best_dice:
                best_dice = score
                best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
            log.append({"epoch": epoch, "loss": float(np.mean(losses)), "val_dice": score})
            which = "val" if validation else "train"
            print(
                f"epoch {epoch:3d}/{args.epochs}  loss {np.mean(losses):.4f}  {which} Dice "
                f"{score:.4f}  best {best_dice:.4f}  ({time.perf_counter() - start:.1f} s)"
            )
            if checkpoint is not None:
                payload = {
                    "key": key,
                    "epoch": epoch,
                    "model": network.state_dict(),
                    "optimiser": optimiser.state_dict(),
                    "best_state": best_state,
                    "best_dice": best_dice,
                    "log": log,
                    "numpy_rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(),
                }
                _save_training(checkpoint, payload)
    if best_state is not None:
        network.load_state_dict(best_state)
    return network, best_dice, log


def _save_training(checkpoint: Path, payload: dict[str, Any]) -> None:
    atomic_write(checkpoint, lambda stream: torch.save(payload, stream))


def _load_training(checkpoint: Path | None, key: str) -> dict[str, Any] | None:
    """The saved training state for ``key``, or None (none, another key, or unreadable)."""
    if checkpoint is None or not checkpoint.is_file():
        return None
    try:
        saved = torch.load(checkpoint, map_location="cpu", weights_only=False)
    except Exception as error:  # a damaged file: train again, and say so
        print(f"ignoring the unreadable coarse checkpoint {checkpoint} ({error}); starting over")
        return None
    if not isinstance(saved, dict) or saved.get("key") != key:
        return None
    return saved


# --------------------------------------------------------------------------- outputs


def run_key(args: Args, source: NiftiSource, splits: Splits) -> str:
    """A hash of everything the cached outputs depend on: settings, splits and the data.

    The data count by their normalisation statistics and, like the preprocessed-volume cache,
    by the path, size and modification time of every file of the used cases.
    """
    settings = dataclasses.asdict(args)
    for irrelevant in ("out", "splits", "cache_dir", "device", "force"):
        settings.pop(irrelevant)
    settings["dataset"] = str(Path(args.dataset).resolve()) if args.dataset else ""
    settings["splits"] = {k: list(v) for k, v in splits.groups.items()}
    settings["statistics"] = repr(source.statistics)
    used = set(source.names)
    files = [f for f in source.layout.files if f.name in used]
    settings["files"] = file_fingerprint([p for f in files for p in (f.image, f.label)])
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def probabilities_folder(out: str | os.PathLike[str]) -> Path:
    """Where a run writes the probability volumes (the initialiser's ``folder=``)."""
    return datasets.probabilities_folder(out)


TRAINING_CHECKPOINT = "training.pt"
"""The coarse network's state after its last finished epoch, in its output folder."""


def run(args: Args, source: NiftiSource | None = None) -> dict[str, Any]:
    """Train (unless cached) and write the probabilities of train2 and test; return the summary.

    Every stage resumes: the splits file is kept, training continues from its last finished
    epoch (``<out>/training.pt``), probability volumes are written one by one, atomically,
    and ``summary.json`` (written last) marks the run done. ``source``: the data of ``args``,
    if already loaded.
    """
    check_args(args)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    source = load_source(args) if source is None else source
    splits = load_or_make_splits(args, source.names)
    parts = splits.sources(source)
    for needed in ("train1", "train2", "test"):
        if needed not in parts or not parts[needed].names:
            raise ConfigError(f"the splits need a non-empty {needed!r} group; got {list(parts)}")
    key = run_key(args, source, splits)
    return run_on(args, key, parts["train1"], {"train2": parts["train2"], "test": parts["test"]})


def run_on(
    args: Args, key: str, train1: Iterable[Case], targets: Mapping[str, Any]
) -> dict[str, Any]:
    """Train on ``train1`` (unless cached under ``key``) and write every target case's p(0).

    The generic part of :func:`run` (real data) and :func:`prepare_synthetic_run`: ``targets``
    maps a group name (``train2``, ``test``, ...) to its cases: a source with ``names`` (a
    :class:`~segenv.data.sources.NiftiSource` or :class:`~segenv.data.synthetic.SyntheticSource`).
    ``<args.out>/summary.json`` with the same ``key`` and ``model.pt`` mark a trained network:
    then only the missing probability volumes are predicted (none: nothing is done).
    """
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    folder = probabilities_folder(out)
    summary_path = out / "summary.json"
    names = {group: list(source.names) for group, source in targets.items()}
    summary: dict[str, Any] | None = None
    if not args.force and summary_path.is_file() and (out / MODEL).is_file():
        summary = json.loads(summary_path.read_text())
        summary = summary if summary.get("key") == key else None
    device = resolve_device(args.device)
    if summary is not None:
        missing = [g for g, group in names.items() if not _all_files(folder, group)]
        if not missing:
            count = sum(len(group) for group in names.values())
            print(f"cached: {folder} already holds this run's {count} probability volumes")
            print(f"validation Dice {summary['validation_dice']:.4f}")
            return summary
        network = load_network(out / MODEL, device)
        print(f"cached: the coarse network in {out}; predicting {', '.join(missing)}")
    else:
        network, best, log = train(
            args, list(train1), device, checkpoint=out / TRAINING_CHECKPOINT, key=key
        )
        print(f"validation Dice {best:.4f}")
        model = {"state_dict": network.state_dict(), "args": dataclasses.asdict(args)}
        atomic_write(out / MODEL, lambda stream: torch.save(model, stream))
        summary = {"key": key, "validation_dice": best, "dice": {}, "log": log}
        missing = list(names)
    folder.mkdir(parents=True, exist_ok=True)
    for name in missing:
        scores = []
        for case in targets[name]:
            probability = predict(network, case, device)
            with atomic_writer(folder / f"{case.name}.npy") as stream:
                np.save(stream, probability.astype(np.float32))
            scores.append(dice(probability >= 0.5, case.label))
        summary["dice"][name] = float(np.mean(scores))
        print(f"{name}: {len(scores)} probability volume(s), mean Dice {summary['dice'][name]:.4f}")
    summary["probabilities"] = str(folder)
    atomic_write_text(summary_path, json.dumps(summary, indent=2))
    print(f"wrote {folder} (initialiser='probability_files', folder={str(folder)!r})")
    return summary


def _all_files(folder: Path, names: Sequence[str]) -> bool:
    return all((folder / f"{name}.npy").is_file() for name in names)


MODEL = "model.pt"
"""The trained (best) coarse network and its settings, in its output folder."""


def load_network(path: Path, device: torch.device) -> CoarseNet:
    """The coarse network saved by :func:`run_on` (``model.pt``), on ``device``."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    state = saved["state_dict"]
    network = CoarseNet(int(state["encode1.0.weight"].shape[1]), int(saved["args"]["channels"]))
    network.load_state_dict(state)
    return network.to(device)


# --------------------------------------------------------------- a learner's run on real data


COARSE_CACHE = "coarse"
"""The coarse network runs under segenv's cache folder: ``<cache>/coarse/<run key>/``."""


def prepare_dataset_run(
    args: EnvArgs, splits_path: Path, *, device: str = "auto", coarse_seed: int = 0
) -> EnvArgs:
    """IteR-MRL §4.1's first stages for a learner's run on ``args.dataset``; the args to train with.

    1. The data: every usable case, preprocessed to ``args.shape`` (rejected cases and why are
       printed).
    2. The splits ``train1`` / ``train2`` / ``test``: ``args.splits`` if given (copied to
       ``splits_path``), else ``splits_path`` if it exists (a resumed run), else drawn with
       ``args.data_seed`` (the preset's fractions, or IteR-MRL's 0.4 / 0.4 / 0.2) and saved there.
    3. The coarse network trained on ``train1`` and its probabilities for ``train2`` and
       ``test``, in ``args.coarse`` or else in the shared cache folder named by the run key
       (settings, splits and data): a second run, of any learner, with the same data, splits
       and ``coarse_epochs`` reuses it (and says so). Training resumes after an interruption.

    Returns:
        ``args`` with ``dataset``, ``splits`` and ``coarse`` as absolute paths: what
        ``config.json`` records, so evaluation and resuming need no flags.
    """
    if args.coarse_epochs < 1:
        raise ConfigError(f"--coarse-epochs must be >= 1, got {args.coarse_epochs}")
    source = datasets.load_source(args, verbose=True)
    splits_path = Path(splits_path)
    if args.splits:
        given = Path(args.splits).expanduser()
        splits = Splits.load(given)
        if given.resolve() != splits_path.resolve():
            if splits_path.is_file() and Splits.load(splits_path).groups != splits.groups:
                raise ConfigError(
                    f"--splits {args.splits} differs from the splits this run was trained with "
                    f"({splits_path}); drop --splits, or train into another --out directory"
                )
            splits.save(splits_path)
            print(f"splits: copied {given} to {splits_path} ({_split_sizes(splits)})")
    elif splits_path.is_file():
        splits = Splits.load(splits_path)
    else:
        fractions = get_preset(args.preset).split_fractions if args.preset else PAPER_FRACTIONS
        splits = three_way_split(source.names, fractions=fractions, seed=args.data_seed)
        splits.save(splits_path)
        print(f"splits: drew {splits_path} with seed {args.data_seed} ({_split_sizes(splits)})")
    coarse_args = Args(
        dataset=str(Path(args.dataset).expanduser().resolve()),
        preset=args.preset or None,
        splits=str(splits_path),
        shape=tuple(args.shape),  # type: ignore[arg-type]  # checked by load_source
        epochs=args.coarse_epochs,
        seed=coarse_seed,
        device=device,
    )
    folder = Path(args.coarse).expanduser() if args.coarse else None
    if folder is None:
        folder = default_cache_dir() / COARSE_CACHE / run_key(coarse_args, source, splits)
    print(f"coarse network: {folder}")
    run(dataclasses.replace(coarse_args, out=str(folder)), source)
    return dataclasses.replace(
        args,
        dataset=coarse_args.dataset,
        splits=str(splits_path.resolve()),
        coarse=str(folder.resolve()),
    )


# ------------------------------------------------------- a learner's run on the synthetic data


def prepare_synthetic_run(args: EnvArgs, *, device: str = "auto", coarse_seed: int = 0) -> EnvArgs:
    """IteR-MRL §4.1's initial method for a synthetic run (``start="coarse"``); the args to use.

    The coarse network is trained on the synthetic ``train1`` split of ``args`` (its family,
    randomisation, difficulty, shape, data seed, ``num_train_cases`` cases) for
    ``args.coarse_epochs`` epochs, and its probabilities are written as ``<case name>.npy`` for
    ``train2``, ``test``, the test split of every family of
    :data:`~segenv.data.synthetic.HELD_OUT_FAMILIES` and, if set, of ``args.test_family``. It
    lives in ``args.coarse`` or else in the shared cache folder named by its key
    (:func:`synthetic_run_key`): a second run, of any learner, with the same data settings
    reuses it (and says so); a run asking for cases not cached yet (another ``test_family``,
    more test cases) has them predicted by the cached network. Training resumes after an
    interruption.

    Returns:
        ``args`` with ``coarse`` the absolute folder: what ``config.json`` records, so
        evaluation and resuming need no flags.
    """
    if len(tuple(args.shape)) != 3:
        raise ConfigError(
            "start='coarse' needs the 3D env (--shape D H W): the coarse network is 3D"
        )
    if args.coarse_epochs < 1:
        raise ConfigError(f"--coarse-epochs must be >= 1, got {args.coarse_epochs}")
    splits = synthetic_splits_of(dataclasses.replace(args, test_family=""))
    targets: dict[str, Any] = {"train2": splits.train2, "test": splits.test}
    extra = [*HELD_OUT_FAMILIES, *([args.test_family] if args.test_family else [])]
    for family in extra:
        other = synthetic_splits_of(dataclasses.replace(args, test_family=family)).test
        targets.setdefault(f"test-{family}", other)
    coarse_args = Args(
        shape=tuple(args.shape),  # type: ignore[arg-type]  # checked above
        epochs=args.coarse_epochs,
        seed=coarse_seed,
        device=device,
    )
    key = synthetic_run_key(coarse_args, args, splits.train1[0])
    if args.coarse:
        folder = Path(args.coarse).expanduser()
    else:
        folder = default_cache_dir() / COARSE_CACHE / f"synthetic-{key}"
    print(f"coarse network: {folder}")
    run_on(dataclasses.replace(coarse_args, out=str(folder)), key, splits.train1, targets)
    return dataclasses.replace(args, coarse=str(folder.resolve()))


def synthetic_run_key(args: Args, data: EnvArgs, first: Case) -> str:
    """A hash of everything a synthetic coarse network depends on: its settings and the data's.

    The data count by the settings that change the cases (shape, difficulty, data seed,
    families, randomisation, ``num_train_cases``) and by the bytes of ``first``, the first
    ``train1`` case, so a changed generator gets a new network. ``num_test_cases`` and
    ``test_family`` do not count: test cases are named by their seed and family, and missing
    ones are predicted.
    """
    settings: dict[str, Any] = dataclasses.asdict(args)
    for irrelevant in ("dataset", "preset", "out", "splits", "split_seed", "cache_dir"):
        settings.pop(irrelevant)
    for irrelevant in ("device", "force"):
        settings.pop(irrelevant)
    digest = hashlib.sha256(np.ascontiguousarray(first.image).tobytes())
    digest.update(np.ascontiguousarray(first.label).tobytes())
    settings["synthetic"] = {
        "shape": list(data.shape),
        "difficulty": data.difficulty,
        "data_seed": data.data_seed,
        "family": data.family,
        "randomise": data.randomise,
        "knobs": randomisation_knobs(data),
        "num_train_cases": data.num_train_cases,
        "first_case": digest.hexdigest(),
    }
    text = json.dumps(settings, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def prepare_run(args: EnvArgs, out: Path, *, device: str = "auto") -> EnvArgs:
    """The coarse network a run starts from, if any; the args to train with.

    ``--dataset``: :func:`prepare_dataset_run` (splits kept as ``<out>/splits.json``); the
    synthetic data with ``start="coarse"``: :func:`prepare_synthetic_run`; else ``args``.
    """
    if args.dataset:
        return prepare_dataset_run(args, Path(out) / "splits.json", device=device)
    if args.start == COARSE_START:
        return prepare_synthetic_run(args, device=device)
    return args


def _split_sizes(splits: Splits) -> str:
    return ", ".join(f"{group} {len(names)}" for group, names in splits.groups.items())


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """Command-line flags → :class:`Args` (one flag per field)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Args()
    parser.add_argument(
        "--dataset", required=True, help="an MSD task folder or a folder of image/label pairs"
    )
    parser.add_argument("--preset", default=None, help="named task configuration")
    parser.add_argument("--out", default=defaults.out, help="output folder")
    parser.add_argument("--splits", default=None, help="splits JSON (created if missing)")
    parser.add_argument("--split-seed", type=int, default=defaults.split_seed)
    parser.add_argument("--shape", type=int, nargs=3, default=list(defaults.shape), metavar="N")
    parser.add_argument("--cache-dir", default=None, help="preprocessed-volume cache folder")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--channels", type=int, default=defaults.channels)
    parser.add_argument("--validation-fraction", type=float, default=defaults.validation_fraction)
    parser.add_argument("--no-augment", dest="augment", action="store_false")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--device", default=defaults.device, choices=["auto", "cpu", "cuda"])
    parser.add_argument("--force", action="store_true", help="ignore cached outputs")
    namespace = vars(parser.parse_args(argv))
    namespace["shape"] = tuple(namespace["shape"])
    return Args(**namespace)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m segenv_agents.coarse``."""
    args = parse_args(argv)
    try:
        with interrupts.handle_signals():
            run(args)
    except interrupts.Interrupted as stop:
        print(f"{stop.line}; resume with the same command", file=sys.stderr)
        return stop.exit_code
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
