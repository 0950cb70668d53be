"""Scripted policies: floors and ceilings for the learners, and examples for teaching.

A policy is ``policy(observation, env) -> action`` with the observation and action layouts of
:class:`segenv.envs.InteractiveSegEnv` (:data:`.common.evaluation.Policy`). These use numpy only.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

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


POLICIES: dict[str, Policy] = {
    "noop": noop_policy,
    "random": random_policy,
    "hint_follower": hint_follower_policy,
    "oracle": oracle_policy,
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
