"""How much can a protocol's clicks give? Learning-free ceilings, before anyone trains.

An agent can only learn to use what the clicks carry. For a learner's preset (its data, size,
start and user) this plays, on the preset's held-out test cases with IteR-MRL Table 2's protocol
(5 clicks on ``p(0)``, 5 after each step, the largest-error user):

* the initial segmentation (the no-op);
* the **click disc** at radius 1 and 2: each click's neighbourhood takes the click's label,
  nothing else is read (what the clicks say on their own, without the image);
* the hint follower (the clicks through the geodesic hint maps);
* the **clicked-region oracle**: every error region a click landed in is fixed whole, from the
  ground truth (the most an agent can gain from the clicks it was given, if it could infer each
  region's extent from the image);

and measures the clicks and the errors themselves: the share of clicks that land on a wrong
voxel (after the placement jitter), the error voxels per case, how deep the errors are (the
largest distance, in voxels, from a wrong voxel to the nearest right one) and the largest
error region's share of the errors.

``--click-noise`` and ``--shape`` vary the protocol (several values give one table each), e.g.
exact clicks, or the papers' 30×55×55 against the quick3d preset's 16×32×32::

    python benchmarks/click_ceiling.py --preset quick3d --click-noise 3 0
    python benchmarks/click_ceiling.py --preset quick3d --shape 30 55 55 --episodes 20
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
from scipy import ndimage

import segenv  # noqa: F401  (registers the env ids)
from segenv.metrics import markdown_table
from segenv_agents import registry
from segenv_agents.common.config import RunArgs, env_id_of, evaluation_env_kwargs
from segenv_agents.common.evaluation import Policy, evaluate_policy, state_channels
from segenv_agents.scripted import (
    click_disc_policy,
    clicked_region_oracle_policy,
    hint_follower_policy,
    noop_policy,
    volume_clicks,
)

SCRIPTED_ENV = {"actions": "paper", "state": "probability"}
POLICIES: dict[str, Policy] = {
    "initial segmentation (no-op)": noop_policy,
    "click disc, radius 1 (clicks only)": click_disc_policy,
    "click disc, radius 2 (clicks only)": lambda o, e: click_disc_policy(o, e, radius=2.0),
    "hint follower (geodesic hints)": hint_follower_policy,
    "clicked-region oracle (truth)": clicked_region_oracle_policy,
}


@dataclasses.dataclass(frozen=True)
class ErrorStats:
    """The clicks and the errors they are given on, over the played episodes."""

    click_hit_rate: float
    error_voxels: float
    error_depth: float
    largest_share: float

    def line(self) -> str:
        """One sentence of these figures."""
        return (
            f"{100 * self.click_hit_rate:.0f} % of the clicks land on a wrong voxel; "
            f"{self.error_voxels:.0f} wrong voxels per case at the start, "
            f"at most {self.error_depth:.2f} voxels deep on average, "
            f"the largest error region {100 * self.largest_share:.0f} % of them"
        )


def error_stats(env: gym.Env, episodes: int) -> ErrorStats:
    """Play the no-op; count the clicks that land on errors and measure the start's errors."""
    hits = clicks = 0
    voxels, depths, shares = [], [], []
    num_cases = len(env.unwrapped.dataset)  # type: ignore[attr-defined]
    for episode in range(episodes):  # the cases and seeds of evaluate_policy's episodes
        observation, _ = env.reset(seed=episode, options={"case_index": episode % num_cases})
        label = env.unwrapped.case.label  # type: ignore[attr-defined]
        label = label[0] if observation.ndim == 3 else label
        wrong = state_channels(observation, env)[1] >= 0.5
        wrong = wrong != label
        voxels.append(np.count_nonzero(wrong))
        if wrong.any():
            depths.append(float(ndimage.distance_transform_edt(wrong).max()))
            regions, _ = ndimage.label(wrong, np.ones((3,) * wrong.ndim, dtype=bool))
            shares.append(np.bincount(regions.ravel())[1:].max() / wrong.sum())
        seen = 0
        done = False
        while not done:  # the no-op keeps the errors, so each step's clicks see the start's
            observation, _, terminated, truncated, _ = env.step(noop_policy(observation, env))
            done = terminated or truncated
            coords, _ = volume_clicks(observation, env)
            new = coords[seen:]
            seen = len(coords)
            hits += int(np.count_nonzero(wrong[tuple(new.T)]))
            clicks += len(new)
    return ErrorStats(
        click_hit_rate=hits / max(clicks, 1),
        error_voxels=float(np.mean(voxels)),
        error_depth=float(np.mean(depths)) if depths else 0.0,
        largest_share=float(np.mean(shares)) if shares else 0.0,
    )


def ceiling_table(env: gym.Env, episodes: int) -> str:
    """Markdown: Dice (%) per step of each learning-free policy."""
    rows = [["policy", *(f"Dice@{t}" for t in range(env.unwrapped.max_steps + 1)), "Δ"]]  # type: ignore[attr-defined]
    for name, policy in POLICIES.items():
        metrics = evaluate_policy(env, policy, episodes, measure_assd=False, measure_nsd=False)
        dice = 100.0 * metrics.aggregate()["dice_mean"]
        rows.append([name, *(f"{value:.2f}" for value in dice), f"{dice[-1] - dice[0]:+.2f}"])
    return markdown_table(rows)


def protocol(args: RunArgs) -> str:
    """The data, size, start and user of ``args`` in words."""
    shape = "×".join(str(n) for n in args.shape)
    return (
        f"synthetic {args.family} families {shape}, difficulty {args.difficulty}, "
        f"{args.start} start at Dice {args.target_dice}, largest-error user, "
        f"{args.clicks_per_step} clicks per step with ±{args.click_noise} voxels of jitter"
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Print, for each protocol asked for, the error figures and the learning-free table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="quick3d", help="a learner preset (quick3d, quick)")
    parser.add_argument("--learner", default="a3c", choices=list(registry.LEARNERS))
    parser.add_argument("--click-noise", type=int, nargs="+", default=None, metavar="VOXELS")
    parser.add_argument("--shape", type=int, nargs="+", default=None, help="D H W, or H W")
    parser.add_argument("--episodes", type=int, default=None, help="default: the preset's")
    options = parser.parse_args(argv)
    reference = registry.preset(options.learner, options.preset)
    if options.shape is not None:
        reference = dataclasses.replace(reference, shape=tuple(options.shape))
    episodes = options.episodes or reference.num_test_cases
    for noise in options.click_noise or [reference.click_noise]:
        args = dataclasses.replace(reference, click_noise=noise)
        start = time.perf_counter()
        kwargs = evaluation_env_kwargs(args, "test", **SCRIPTED_ENV)
        env = gym.make(env_id_of(args), **kwargs)
        stats = error_stats(env, episodes)
        body = ceiling_table(env, episodes)
        env.close()
        print(
            f"\n### {protocol(args)}\n\n{episodes} held-out test cases of the {options.preset} "
            f"preset; {platform.machine()}, {os.cpu_count()} cores; "
            f"{time.perf_counter() - start:.0f} s\n\n{stats.line()}.\n\n{body}",
            flush=True,
        )


if __name__ == "__main__":
    main()
