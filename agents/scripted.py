"""Scripted policies: floors and ceilings for the learners, and examples for teaching.

A policy is ``policy(observation, env) -> action`` with the observation and action layouts of
:class:`segenv.envs.InteractiveSegEnv` (:data:`.common.evaluation.Policy`). These use numpy only.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
from scipy import ndimage

from .common.config import EnvArgs, env_id_of, env_kwargs
from .common.evaluation import Policy, evaluate_policy, state_channels


def _deltas(env: gym.Env) -> np.ndarray:
    return np.asarray(env.unwrapped.deltas)  # type: ignore[attr-defined]


def noop_policy(observation: np.ndarray, env: gym.Env) -> np.ndarray:
    """The no-op floor: the smallest step that keeps every voxel on its side of 0.5.

    The action sets have no zero action (MECCA §3.1), so "do nothing" sharpens ``p`` without
    changing ``p >= 0.5``: Dice stays that of the initial segmentation at every step.
    """
    deltas = _deltas(env)
    up_small = int(np.argmin(np.where(deltas > 0, deltas, np.inf)))
    down_small = int(np.argmax(np.where(deltas < 0, deltas, -np.inf)))
    _, probability, _, _ = state_channels(observation, env)
    return np.where(probability >= 0.5, up_small, down_small)


def random_policy(observation: np.ndarray, env: gym.Env) -> np.ndarray:
    """Uniformly random action per voxel (from the action space's own seeded generator)."""
    return env.action_space.sample()


def hint_follower_policy(
    observation: np.ndarray, env: gym.Env, *, margin: float = 0.3
) -> np.ndarray:
    """Trust the hints: a hand-written prior.

    The largest step towards the hinted class where one hint leads by ``margin``; elsewhere
    the smallest step that sharpens the current prediction.
    """
    deltas = _deltas(env)
    _, probability, hint_pos, hint_neg = state_channels(observation, env)
    up_small = int(np.argmin(np.where(deltas > 0, deltas, np.inf)))
    down_small = int(np.argmax(np.where(deltas < 0, deltas, -np.inf)))
    action = np.where(probability >= 0.5, up_small, down_small)
    lead = hint_pos - hint_neg
    action = np.where(lead > margin, int(np.argmax(deltas)), action)
    return np.where(lead < -margin, int(np.argmin(deltas)), action)


def oracle_policy(observation: np.ndarray, env: gym.Env) -> np.ndarray:
    """The label oracle (a ceiling): the largest step towards the ground truth everywhere."""
    deltas = _deltas(env)
    label = env.unwrapped.case.label  # type: ignore[attr-defined]
    label = label[0] if observation.ndim == 3 else label
    return np.where(label, int(np.argmax(deltas)), int(np.argmin(deltas)))


def volume_clicks(observation: np.ndarray, env: gym.Env) -> tuple[np.ndarray, np.ndarray]:
    """The clicks so far as indices into the observation's spatial layout, and their labels."""
    clicks = env.unwrapped.clicks  # type: ignore[attr-defined]
    coords = np.asarray(clicks.coords, dtype=np.int64)
    coords = coords[:, 1:] if observation.ndim == 3 else coords  # 2D views drop the z axis
    return coords, np.asarray(clicks.labels, dtype=bool)


def click_disc_policy(observation: np.ndarray, env: gym.Env, *, radius: float = 1.0) -> np.ndarray:
    """Trust each click around it: a learning-free rule that reads the clicks and nothing else.

    Every voxel within ``radius`` voxels of its nearest click takes the largest step towards
    that click's label; elsewhere the smallest step that sharpens the current prediction. What
    this rule gains over the no-op is the Dice a protocol's clicks carry on their own, without
    the image: when it is small, the clicks say little an agent could use.
    """
    deltas = _deltas(env)
    _, probability, _, _ = state_channels(observation, env)
    action = noop_policy(observation, env)
    coords, labels = volume_clicks(observation, env)
    if labels.size == 0:
        return action
    seeds = np.ones(probability.shape, dtype=bool)
    seeds[tuple(coords.T)] = False
    distance, nearest = ndimage.distance_transform_edt(seeds, return_indices=True)
    clicked_label = np.zeros(probability.shape, dtype=bool)
    clicked_label[tuple(coords.T)] = labels
    towards = clicked_label[tuple(nearest)]
    near = distance <= radius
    action = np.where(near & towards, int(np.argmax(deltas)), action)
    return np.where(near & ~towards, int(np.argmin(deltas)), action)


def clicked_region_oracle_policy(observation: np.ndarray, env: gym.Env) -> np.ndarray:
    """A ceiling on what the clicks point at: fix every error region a click landed in.

    The error regions are the user's (26-connected components of the false negatives and,
    separately, of the false positives, from the ground truth); a region with a click in it
    takes the largest step towards the truth, every other voxel the no-op's. It knows the
    regions' extent, which an agent must infer from the image, so it bounds what an agent can
    gain from the clicks it was given.
    """
    deltas = _deltas(env)
    _, probability, _, _ = state_channels(observation, env)
    label = env.unwrapped.case.label  # type: ignore[attr-defined]
    label = label[0] if observation.ndim == 3 else label
    prediction = probability >= 0.5
    action = noop_policy(observation, env)
    coords, _ = volume_clicks(observation, env)
    if coords.shape[0] == 0:
        return action
    structure = np.ones((3,) * prediction.ndim, dtype=bool)
    clicked = tuple(coords.T)
    for missed in (True, False):  # false negatives, then false positives
        regions, _ = ndimage.label((prediction != label) & (label == missed), structure)
        hit = np.unique(regions[clicked])
        fix = np.isin(regions, hit[hit > 0])
        action = np.where(fix, int(np.argmax(deltas)) if missed else int(np.argmin(deltas)), action)
    return action


POLICIES: dict[str, Policy] = {
    "noop": noop_policy,
    "random": random_policy,
    "hint_follower": hint_follower_policy,
    "oracle": oracle_policy,
    "click_disc": click_disc_policy,
    "clicked_region_oracle": clicked_region_oracle_policy,
}


def main(argv: list[str] | None = None) -> None:
    """Evaluate the scripted policies on held-out synthetic cases; print Dice per step.

    The cases are the learners' ``test`` split (:func:`~.common.config.synthetic_split`).
    """
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument(
        "--shape", type=int, nargs="+", default=[30, 55, 55], help="D H W, or H W for 2D"
    )
    parser.add_argument("--episodes", type=int, default=10, help="held-out cases to evaluate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode")
    parser.add_argument(
        "--policies", nargs="+", default=list(POLICIES), choices=list(POLICIES), metavar="NAME"
    )
    parser.add_argument(
        "--initial-clicks",
        type=int,
        default=5,
        help="clicks on p(0) before step 1 (5 = IteR-MRL Table 2's protocol)",
    )
    args = parser.parse_args(argv)
    settings = EnvArgs(
        shape=tuple(args.shape), num_test_cases=args.episodes, initial_clicks=args.initial_clicks
    )
    env = gym.make(env_id_of(settings), **env_kwargs(settings, "test"))
    print(
        f"{env_id_of(settings)}: the synthetic test split (data seed {settings.data_seed}), "
        f"shape {settings.shape}, {args.episodes} episodes, seed {args.seed}"
    )
    for name in args.policies:
        start = time.perf_counter()
        metrics = evaluate_policy(env, POLICIES[name], args.episodes, seed=args.seed)
        summary = metrics.aggregate()
        print(f"\n### {name}  ({time.perf_counter() - start:.1f} s)")
        print(metrics.table())
        print(f"final ASSD {summary['assd_mean']:.2f} mm")


if __name__ == "__main__":
    main()
