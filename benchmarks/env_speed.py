"""Env speed: reset and step of InteractiveSeg3D-v0, with a per-phase breakdown.

Times the real env (geodesic hints, 5 clicks per step, largest-error user, the image-aware
start; ``--start degraded_truth`` for the smooth one) on realistic states — a hint-following
policy's episodes — and the straightforward reference of ``reference_step.py`` on the *same*
states in the same run, then prints medians and speed-ups. Run:
``python benchmarks/env_speed.py`` (``--quick`` for a short run). ``--vector`` runs
``vector_speed.py`` instead (volumes/s and voxel-agent steps/s of the vector envs, the batched
torch env and the PettingZoo view against the reference env); the flags after it are
``vector_speed.py``'s own, e.g. ``--vector --quick --profile``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
from reference_step import (
    reference_action,
    reference_clicks,
    reference_hint,
    reference_reward,
)

from segenv.actions import apply_action
from segenv.envs.interactive_seg import InteractiveSegEnv
from segenv.hints import DEFAULT_GEODESIC_SCALE, make_hint_encoder
from segenv.interaction import UserContext, simulate_clicks
from segenv.rewards import RewardInputs, compute_reward, cross_entropy
from segenv_agents.scripted import hint_follower_policy

SIZES = ((30, 55, 55), (64, 128, 128), (128, 256, 256))
TARGETS_MS = {(30, 55, 55): 5.0, (64, 128, 128): 60.0}


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``fn`` in ms over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def record_states(env: InteractiveSegEnv, episodes: int) -> list[dict[str, np.ndarray]]:
    """Run hint-follower episodes and keep each step's input state and action."""
    states = []
    for seed in range(episodes):
        observation, _ = env.reset(seed=seed, options={"case_index": seed % len(env.dataset)})
        done = False
        while not done:
            action = hint_follower_policy(observation, env)
            states.append({"probability": env.probability, "action": action.copy()})
            observation, _, done, _, _ = env.step(action)
    return states


def time_env_step(env: InteractiveSegEnv, episodes: int) -> tuple[float, float]:
    """Median ms of a whole ``env.step`` and of a (cached-case) ``env.reset``."""
    step_times, reset_times = [], []
    for seed in range(episodes):
        start = time.perf_counter()
        observation, _ = env.reset(seed=seed, options={"case_index": seed % len(env.dataset)})
        reset_times.append(time.perf_counter() - start)
        done = False
        while not done:
            action = hint_follower_policy(observation, env)
            start = time.perf_counter()
            observation, _, done, _, _ = env.step(action)
            step_times.append(time.perf_counter() - start)
    return 1000 * statistics.median(step_times), 1000 * statistics.median(reset_times)


def time_state(
    env: InteractiveSegEnv,
    state: dict[str, np.ndarray],
    encode: Callable[[np.ndarray], np.ndarray],
    repeats: int,
    reference: bool,
) -> tuple[dict[str, float], dict[str, float | None]]:
    """Median ms per phase on one recorded state: segenv's functions and the reference's."""
    case, rng = env.case, np.random.default_rng(0)
    p, action, y = state["probability"], state["action"], case.label
    current = apply_action(p, action, env.deltas)
    ce_previous = cross_entropy(p, y)
    context = UserContext(
        prediction=current >= 0.5, label=y, image=case.image, probability=current, step=1
    )
    clicks = simulate_clicks("largest_error", context, 5, rng)
    pos, neg = clicks.of_class(True), clicks.of_class(False)

    def reward() -> np.ndarray:  # what env.step does: one new cross-entropy, then the design
        inputs = RewardInputs(p, current, y, ce_previous, cross_entropy(current, y))
        return compute_reward("relative", inputs)

    ours = {
        "action": median_ms(lambda: apply_action(p, action, env.deltas), repeats),
        "reward": median_ms(reward, repeats),
        "clicks": median_ms(lambda: simulate_clicks("largest_error", context, 5, rng), repeats),
        "hints": median_ms(lambda: (encode(pos), encode(neg)), repeats),
    }
    if not reference:
        return ours, dict.fromkeys(ours)
    prediction, scale = current >= 0.5, DEFAULT_GEODESIC_SCALE
    theirs: dict[str, float | None] = {
        "action": median_ms(lambda: reference_action(p, action, env.deltas), repeats),
        "reward": median_ms(lambda: reference_reward(p, current, y), repeats),
        "clicks": median_ms(
            lambda: reference_clicks(prediction, y, 5, rng, 3), max(1, repeats // 5)
        ),
        "hints": median_ms(
            lambda: (
                reference_hint(case.image, pos, scale),
                reference_hint(case.image, neg, scale),
            ),
            max(1, repeats // 20),
        ),
    }
    return ours, theirs


def phase_timings(
    env: InteractiveSegEnv, states: list[dict[str, np.ndarray]], repeats: int, reference: bool
) -> dict[str, tuple[float, float | None]]:
    """Median ms per phase over the recorded states, segenv's and the reference's."""
    encode = make_hint_encoder("geodesic", env.case.image, env.case.spacing)
    timed = [time_state(env, state, encode, repeats, reference) for state in states]
    summary: dict[str, tuple[float, float | None]] = {}
    for phase in timed[0][0]:
        ours = statistics.median(mine[phase] for mine, _ in timed)
        refs = [theirs[phase] for _, theirs in timed if theirs[phase] is not None]
        summary[phase] = (ours, statistics.median(refs) if refs else None)  # type: ignore[type-var]
    return summary


def main(argv: list[str] | None = None) -> None:
    """Print the timing tables (or, with ``--vector``, those of ``vector_speed.py``)."""
    argv = sys.argv[1:] if argv is None else argv
    if "--vector" in argv:
        from vector_speed import main as vector_main

        vector_main([flag for flag in argv if flag != "--vector"])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, two sizes")
    parser.add_argument(
        "--reference-max-voxels",
        type=int,
        default=1_100_000,
        help="skip the (slow) reference above this many voxels",
    )
    parser.add_argument(
        "--sizes", nargs="+", metavar="DxHxW", help="volume shapes to time (default: the three)"
    )
    parser.add_argument(
        "--vector", action="store_true", help="run vector_speed.py (flags after it are its own)"
    )
    parser.add_argument(
        "--start",
        default="image_aware",
        help="initialiser of p(0) (default: the learners' image-aware start)",
    )
    args = parser.parse_args(argv)
    sizes = SIZES[:2] if args.quick else SIZES
    if args.sizes:
        sizes = tuple(tuple(int(n) for n in size.split("x")) for size in args.sizes)
    print(
        f"segenv env speed · {platform.processor() or platform.machine()} · "
        f"{os.cpu_count()} cores · python {platform.python_version()} · numpy {np.__version__}"
    )
    print(f"config: geodesic hints, 5 clicks/step, largest_error user, {args.start} start,")
    print("        hint-following policy; medians; reference = benchmarks/reference_step.py\n")
    for shape in sizes:
        voxels = int(np.prod(shape))
        big = voxels > 2_000_000
        episodes = 2 if big else (6 if args.quick else 20)
        repeats = 3 if big else (10 if args.quick else 30)
        env = InteractiveSegEnv(shape=shape, num_cases=2, initialiser=args.start)
        start = time.perf_counter()
        env.reset(seed=0, options={"case_index": 0})
        first_reset = 1000 * (time.perf_counter() - start)
        step_ms, reset_ms = time_env_step(env, episodes)
        states = record_states(env, 1)
        env.reset(seed=0, options={"case_index": 0})
        phases = phase_timings(env, states, repeats, reference=voxels <= args.reference_max_voxels)
        d, h, w = shape
        print(f"## volume {d}x{h}x{w} (D, H, W) = {voxels:,} voxel agents")
        print(f"reset: first visit of a case {first_reset:.1f} ms (generation + distance maps)")
        print(f"reset: cached case {reset_ms:.2f} ms = {reset_ms / step_ms:.2f} steps")
        target = TARGETS_MS.get(shape)
        verdict = "" if target is None else f"  (target <= {target:g} ms: "
        if target is not None:
            verdict += ("met" if step_ms <= target else "MISSED") + ")"
        print(f"step:  full env.step {step_ms:.2f} ms{verdict}")
        print("| phase | segenv ms | reference ms | speed-up |")
        print("|---|---:|---:|---:|")
        total_ours = total_ref = 0.0
        for phase, (mine, ref) in phases.items():
            total_ours += mine
            if ref is None:
                print(f"| {phase} | {mine:.3f} | – | – |")
            else:
                total_ref += ref
                print(f"| {phase} | {mine:.3f} | {ref:.3f} | {ref / mine:.1f}x |")
        if total_ref:
            print(
                f"| **sum** | {total_ours:.3f} | {total_ref:.3f} | {total_ref / total_ours:.1f}x |"
            )
        print()


if __name__ == "__main__":
    main()
