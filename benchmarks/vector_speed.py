"""Vector speed: the reference env, vector envs, the batched torch env and the PettingZoo view.

Throughput with ratios against the reference env measured in the same run. Every contestant
runs whole episodes (reset + ``max_steps`` = 5 steps, resets and autoresets inside the timed
region) with uniformly random actions drawn beforehand, on a 4-case synthetic data set whose
cases are generated before timing. A *volume-step* is one MDP transition of one volume;
*voxel-agent steps* are volume-steps × voxels. Run ``python benchmarks/vector_speed.py``
(about 2 minutes; ``--quick`` for one episode each). Torch runs on one CPU thread by default
(``--torch-threads``): on a machine with few cores, OpenMP workers spinning beside the
per-volume host work (clicks, hints) slow the batched env down severalfold.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import segenv  # noqa: F401
from segenv import marl
from segenv.envs.interactive_seg import InteractiveSegEnv
from segenv.views.batched import BatchedInteractiveSegEnv

VOLUME = (30, 55, 55)
MARL_VOLUME = (16, 16, 8)
BATCH_SIZES = (1, 8, 32)
ENV_KWARGS = {"num_cases": 4, "max_steps": 5}


@dataclass
class Result:
    """One contestant's throughput."""

    name: str
    volume_steps: int
    seconds: float
    voxels: int

    @property
    def volume_steps_per_s(self) -> float:
        """MDP transitions of one volume per second."""
        return self.volume_steps / self.seconds

    @property
    def voxel_steps_per_s(self) -> float:
        """Voxel-agent steps per second."""
        return self.volume_steps_per_s * self.voxels


def time_reference(shape: tuple[int, ...], episodes: int) -> Result:
    """The reference env, one volume, episode after episode."""
    env = InteractiveSegEnv(shape, **ENV_KWARGS)
    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 6, size=env.action_space.shape) for _ in range(5)]

    def episode(seed: int) -> int:
        env.reset(seed=seed)
        for action in actions:
            env.step(action)
        return len(actions)

    for case_index in range(ENV_KWARGS["num_cases"]):  # generate every case
        env.reset(options={"case_index": case_index})
    for seed in range(2):  # warm-up: kernels compiled
        episode(seed)
    start = time.perf_counter()
    steps = sum(episode(100 + seed) for seed in range(episodes))
    return Result("reference env", steps, time.perf_counter() - start, int(np.prod(shape)))


def time_vector(
    name: str, envs: gym.vector.VectorEnv, episodes: int, make_actions: Callable[[], object]
) -> Result:
    """A vector env stepped through whole episodes (NEXT_STEP autoreset inside the timing)."""
    actions = make_actions()
    for case_index in range(ENV_KWARGS["num_cases"]):  # generate every case (every sub-env)
        envs.reset(options={"case_index": case_index})
    envs.reset(seed=0)
    for _ in range(6 * 2):  # warm-up: two episodes with their autoresets
        envs.step(actions)
    calls = 6 * episodes  # 5 steps + 1 autoreset step per episode
    sync = torch.cuda.synchronize if "cuda" in name else (lambda: None)
    sync()
    transitions = 0
    start = time.perf_counter()
    for _ in range(calls):
        info = envs.step(actions)[4]
        transitions += int(np.count_nonzero(info.get("_reward_map", ())))
    sync()
    seconds = time.perf_counter() - start
    voxels = int(np.prod(envs.single_action_space.shape))
    envs.close()
    return Result(name, transitions, seconds, voxels)


def time_marl(episodes: int) -> tuple[Result, Result, Result]:
    """The PettingZoo view at 16×16×8: dict protocol, array path, and the reference env."""
    env = marl.parallel_env(shape=MARL_VOLUME, **ENV_KWARGS)
    rng = np.random.default_rng(0)
    joint = [rng.integers(0, 6, size=MARL_VOLUME) for _ in range(5)]
    agent_actions = [dict(zip(env.possible_agents, a.ravel().tolist(), strict=True)) for a in joint]

    def dict_episode(seed: int) -> int:
        env.reset(seed=seed)
        for actions in agent_actions:
            env.step(actions)
        return 5

    def array_episode(seed: int) -> int:
        env.reset_array(seed=seed)
        for actions in joint:
            env.step_array(actions)
        return 5

    voxels = int(np.prod(MARL_VOLUME))
    for case_index in range(ENV_KWARGS["num_cases"]):
        env.reset(options={"case_index": case_index})
    results = []
    for name, episode in (("dict protocol", dict_episode), ("array path", array_episode)):
        for seed in range(4):
            episode(seed)
        start = time.perf_counter()
        steps = sum(episode(100 + seed) for seed in range(episodes * 8))
        seconds = time.perf_counter() - start
        results.append(Result(f"PettingZoo view, {name}", steps, seconds, voxels))
    reference = time_reference(MARL_VOLUME, episodes * 8)
    return results[0], results[1], reference


def batched_actions(n: int, device: str) -> Callable[[], object]:
    return lambda: torch.randint(0, 6, (n, *VOLUME), device=device)


def numpy_actions(n: int) -> Callable[[], object]:
    return lambda: np.random.default_rng(0).integers(0, 6, size=(n, *VOLUME))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one episode per contestant")
    parser.add_argument("--episodes", type=int, default=3, help="timed episodes per contestant")
    parser.add_argument("--async-envs", type=int, default=4, help="num_envs of make_vec sync/async")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch CPU threads (0: keep)")
    args = parser.parse_args()
    episodes = 1 if args.quick else args.episodes
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch "
        f"{torch.__version__} ({torch.get_num_threads()} threads), CUDA "
        f"{torch.cuda.is_available()}; volume {VOLUME} = {int(np.prod(VOLUME))} voxels, "
        f"{episodes} timed episode(s) each"
    )

    results = [time_reference(VOLUME, episodes)]
    for mode in ("sync", "async"):
        n = args.async_envs
        envs = gym.make_vec(
            "InteractiveSeg3D-v0", num_envs=n, vectorization_mode=mode, **ENV_KWARGS
        )
        results.append(time_vector(f"make_vec {mode}, N={n}", envs, episodes, numpy_actions(n)))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for n in BATCH_SIZES:
            envs = BatchedInteractiveSegEnv(n, device=device, **ENV_KWARGS)
            actions = batched_actions(n, device)
            results.append(time_vector(f"batched {device}, N={n}", envs, episodes, actions))

    reference = results[0]
    print(f"\n{'contestant':<26}{'volume-steps/s':>15}{'voxel-agent steps/s':>22}{'ratio':>8}")
    for result in results:
        ratio = result.voxel_steps_per_s / reference.voxel_steps_per_s
        print(
            f"{result.name:<26}{result.volume_steps_per_s:>15.1f}"
            f"{result.voxel_steps_per_s / 1e6:>19.2f} M{ratio:>8.2f}x"
        )

    dict_path, array_path, marl_reference = time_marl(episodes)
    print(f"\nPettingZoo view at {MARL_VOLUME} ({int(np.prod(MARL_VOLUME))} agents):")
    for result in (dict_path, array_path, marl_reference):
        ratio = result.volume_steps_per_s / marl_reference.volume_steps_per_s
        print(
            f"{result.name:<34}{result.volume_steps_per_s:>9.1f} parallel steps/s"
            f"{result.voxel_steps_per_s / 1e6:>8.2f} M agent-steps/s{ratio:>7.2f}x"
        )

    batched_32 = next(r for r in results if r.name == "batched cpu, N=32")
    print(
        f"\ntargets: batched CPU N=32 >= 3x reference voxel-agent steps/s: "
        f"{batched_32.voxel_steps_per_s / reference.voxel_steps_per_s:.2f}x; "
        f"PettingZoo 16x16x8 >= 200 parallel steps/s: {dict_path.volume_steps_per_s:.0f}"
    )


if __name__ == "__main__":
    main()
