"""How realistic is an initial segmentation? What an image-only CNN removes of its errors.

A start is realistic when its errors sit where the image is ambiguous, as a coarse CNN's do
(SPEC §5): then a network that sees only the image and ``p(0)`` cannot remove them, and the
clicks carry the missing information. For each start (the image-aware one, the smooth-noise
degraded truth and, with ``--coarse``, the coarse network trained on ``train1``) this prints,
on held-out synthetic cases:

* its error statistics: Dice, missed and false voxels, error components (26-connected) and the
  share of the largest;
* **image-only**: a small 3D U-Net (``segenv_agents.coarse.CoarseNet``) trained on ``train2`` to
  map (image, ``p(0)``) to the truth, then applied to the test starts: Dice before and after,
  and the share of the start's error it removes, ``(after - before) / (1 - before)``;
* **with clicks**: the same network also given the hint maps of the protocol's initial clicks
  (5, largest-error user): what the clicks add to what the image already says.

``python benchmarks/start_realism.py`` (defaults: 16×32×32, difficulty 1.0, Dice 0.75, 300
updates of 4 cases); ``--quick`` for a smoke run; ``--coarse`` adds the coarse network's start
(the learners' ``--start coarse``: trained first, minutes, and cached for the next run).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

import segenv  # noqa: F401  (registers the env ids)
from segenv.data.case import Case
from segenv.data.synthetic import synthetic_splits
from segenv.metrics import dice, markdown_table
from segenv_agents import coarse
from segenv_agents.common.config import COARSE_START, EnvArgs, initial_segmentation
from segenv_agents.common.runtime import configure_torch


@dataclass(frozen=True)
class Start:
    """An initial segmentation: the env's ``initialiser`` and its keyword arguments."""

    name: str
    initialiser: str
    kwargs: dict[str, object]


def error_statistics(probability: np.ndarray, label: np.ndarray) -> list[float]:
    """Dice, missed and false voxels, error components and the largest one's share."""
    prediction = probability >= 0.5
    missed, false = label & ~prediction, prediction & ~label
    errors = missed | false
    components, count = ndimage.label(errors, structure=np.ones((3, 3, 3)))
    sizes = np.bincount(components.ravel())[1:] if count else np.zeros(1)
    largest = float(sizes.max() / max(errors.sum(), 1))
    return [dice(prediction, label), missed.sum(), false.sum(), count, largest]


def episode_inputs(
    env: gym.Env, case_index: int, seed: int, clicks: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The network input (image, p(0)[, hints]) and the label of one reset."""
    observation, _ = env.reset(seed=seed, options={"case_index": case_index})
    case: Case = env.unwrapped.case  # type: ignore[attr-defined]
    channels = observation if clicks else observation[:-2]  # drop h+, h- for image-only
    return channels.reshape(-1, *case.shape), case.label


def refinement_gain(
    make_env: Callable[[str], gym.Env],
    *,
    clicks: bool,
    updates: int,
    batch: int,
    seed: int,
) -> tuple[float, float]:
    """Train a U-Net on the train split's starts; mean test Dice before and after it."""
    train, test = make_env("train"), make_env("test")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    first, _ = episode_inputs(train, 0, seed, clicks)
    network = coarse.CoarseNet(first.shape[0])
    optimiser = torch.optim.Adam(network.parameters(), lr=1e-3)
    num_train = len(train.unwrapped.dataset)  # type: ignore[attr-defined]
    for _ in range(updates):
        pairs = [
            episode_inputs(train, int(rng.integers(num_train)), int(rng.integers(2**31)), clicks)
            for _ in range(batch)
        ]
        inputs = torch.from_numpy(np.stack([x for x, _ in pairs]))
        labels = torch.from_numpy(np.stack([y for _, y in pairs]).astype(np.float32))[:, None]
        logits = network(inputs)
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        loss = loss + coarse.soft_dice_loss(logits, labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    network.eval()
    before, after = [], []
    num_test = len(test.unwrapped.dataset)  # type: ignore[attr-defined]
    with torch.no_grad():
        for index in range(num_test):
            channels, label = episode_inputs(test, index, seed + index, clicks)
            start = channels[-3] if clicks else channels[-1]
            refined = torch.sigmoid(network(torch.from_numpy(channels[None])))[0, 0].numpy()
            before.append(dice(start >= 0.5, label))
            after.append(dice(refined >= 0.5, label))
    return float(np.mean(before)), float(np.mean(after))


def coarse_start(args: EnvArgs) -> Start:
    """The learners' ``start="coarse"``: the coarse network trained on ``train1`` of ``args``.

    Trained once and cached by :func:`segenv_agents.coarse.prepare_synthetic_run` (a second
    run with the same settings reuses it).
    """
    prepared = coarse.prepare_synthetic_run(
        dataclasses.replace(args, start=COARSE_START), device="cpu"
    )
    chosen = initial_segmentation(prepared)
    return Start("coarse network", chosen["initialiser"], chosen["initialiser_kwargs"])


def main(argv: Sequence[str] | None = None) -> None:
    """Print the error statistics and image-only / with-clicks gains of each start."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", type=int, nargs=3, default=(16, 32, 32), metavar="N")
    parser.add_argument("--difficulty", type=float, default=1.0)
    parser.add_argument("--target-dice", type=float, default=0.75)
    parser.add_argument("--train-cases", type=int, default=300)
    parser.add_argument("--test-cases", type=int, default=50)
    parser.add_argument("--updates", type=int, default=300, help="U-Net updates per start")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--coarse", action="store_true", help="also the coarse network's start")
    parser.add_argument("--coarse-epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a smoke run (tiny sizes)")
    options = parser.parse_args(argv)
    if options.quick:
        options.shape, options.train_cases, options.test_cases = (8, 16, 16), 8, 4
        options.updates, options.coarse_epochs = 3, 1
    configure_torch(1)
    wall = time.perf_counter()
    shape = tuple(options.shape)
    splits = synthetic_splits(
        shape,
        num_train1=options.train_cases,
        num_train2=options.train_cases,
        num_test=options.test_cases,
        seed=0,
        difficulty=options.difficulty,
        cache_size=options.train_cases,
    )
    target = {"target_dice": options.target_dice}
    starts = [
        Start("image-aware", "image_aware", target),
        Start("degraded truth (smooth noise)", "degraded_truth", target),
    ]
    if options.coarse:  # the same splits as above: seed 0, the 'lesion' family
        data = EnvArgs(
            shape=shape,
            difficulty=options.difficulty,
            num_train_cases=options.train_cases,
            num_test_cases=options.test_cases,
            coarse_epochs=options.coarse_epochs,
        )
        starts.append(coarse_start(data))
    rows = []
    for start in starts:

        def make_env(split: str, start: Start = start) -> gym.Env:
            return gym.make(
                "InteractiveSeg3D-v0",
                dataset=splits.train2 if split == "train" else splits.test,
                initialiser=start.initialiser,
                initialiser_kwargs=start.kwargs,
                initial_clicks=5,
            )

        test = make_env("test")
        starts_and_labels = [
            episode_inputs(test, i, options.seed + i, False) for i in range(options.test_cases)
        ]
        stats = np.mean([error_statistics(x[-1], y) for x, y in starts_and_labels], axis=0)
        gains = {}
        for clicks in (False, True):
            before, after = refinement_gain(
                make_env,
                clicks=clicks,
                updates=options.updates,
                batch=options.batch,
                seed=options.seed,
            )
            gains[clicks] = (before, after, (after - before) / max(1 - before, 1e-9))
        rows.append(
            [
                start.name,
                f"{100 * stats[0]:.2f}",
                f"{stats[1]:.0f} / {stats[2]:.0f}",
                f"{stats[3]:.1f} ({100 * stats[4]:.0f} %)",
                f"{100 * gains[False][1]:.2f} ({100 * gains[False][2]:+.0f} %)",
                f"{100 * gains[True][1]:.2f} ({100 * gains[True][2]:+.0f} %)",
            ]
        )
    print(
        f"Synthetic 'lesion' cases {shape} (D, H, W), difficulty {options.difficulty}, "
        f"target Dice {options.target_dice}; {options.train_cases} train2 and "
        f"{options.test_cases} test cases; U-Net {options.updates} updates × {options.batch}; "
        f"seed {options.seed}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}; "
        f"{time.perf_counter() - wall:.0f} s wall\n"
    )
    header = [
        "start",
        "Dice@0",
        "missed / false voxels",
        "error components (largest)",
        "image-only U-Net: Dice (error removed)",
        "+ 5 clicks' hints: Dice (error removed)",
    ]
    print(markdown_table([header, *rows]))


if __name__ == "__main__":
    main()
