"""Vector speed: the reference env, vector envs, the batched torch env and the PettingZoo view.

Throughput with ratios against the reference env. Every contestant runs whole episodes (reset
+ ``max_steps`` = 5 steps, resets and autoresets inside the timed region) with uniformly random
actions drawn beforehand, on a 4-case synthetic data set whose cases are generated before
timing. A *volume-step* is one MDP transition of one volume; *voxel-agent steps* are
volume-steps × voxels.

Other processes on a small machine make single timings drift by 2x within a minute, so each
measurement of a contestant is *paired* with a measurement of the reference env of the same
number of volume-steps taken right before it, ``--repeats`` times; the table shows medians
of the throughputs and of the paired ratios, and the CPU time per volume-step of this process
(a measure of work that does not depend on how much of the machine the process got). Linux
shares CPU time fairly between *sessions* (autogroups), so while another session keeps every
core busy, this one gets about one core whatever its thread count: the batched env's threads
then show in the CPU column only, not in the ratio. ``--profile`` adds where the time of a
batched CPU step goes (one thread, N=32). Run ``python benchmarks/vector_speed.py`` (about a
minute; ``--quick`` for one repeat). Torch runs on one CPU thread (``--torch-threads``).
The batched env here runs its default backend (``numba`` on a CPU, ``torch`` on CUDA);
``benchmarks/device_speed.py`` sets the two backends side by side on each device.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP
import cProfile
import math
import platform
import pstats
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch

import segenv  # noqa: F401
from segenv import marl
from segenv.envs.interactive_seg import InteractiveSegEnv
from segenv.views.batched import BatchedInteractiveSegEnv
from segenv.views.workers import available_cores

VOLUME = (30, 55, 55)
MARL_VOLUME = (16, 16, 8)
BATCH_SIZES = (1, 8, 32)
ENV_KWARGS = {"num_cases": 4, "max_steps": 5}
EPISODE_CALLS = 6  # a vector env's episode: 5 steps + the NEXT_STEP autoreset step


@dataclass
class Timing:
    """One timed run: volume-steps done, wall seconds, CPU seconds of this process."""

    volume_steps: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        """Volume-steps per second."""
        return self.volume_steps / self.seconds


Runner = Callable[[int], Timing]  # runner(volume_steps wanted) -> what it did


@dataclass
class Contestant:
    """A contestant's paired timings (its runs and the reference runs just before them)."""

    name: str
    voxels: int
    runs: list[Timing] = field(default_factory=list)
    references: list[Timing] = field(default_factory=list)
    cpu_measured: bool = True  # False where the work runs in other processes

    def median_rate(self) -> float:
        """Median volume-steps per second."""
        return statistics.median(t.rate for t in self.runs)

    def median_ratio(self) -> float:
        """Median of the paired ratios of voxel-agent steps/s to the reference env's."""
        return statistics.median(
            (run.rate * self.voxels) / (ref.rate * math.prod(VOLUME))
            for run, ref in zip(self.runs, self.references, strict=True)
        )

    def median_cpu_ms(self) -> float:
        """Median CPU milliseconds of this process per volume-step."""
        return statistics.median(1e3 * t.cpu_seconds / t.volume_steps for t in self.runs)


def timed(run: Callable[[], int]) -> Timing:
    """Time ``run`` (which returns the volume-steps it did): wall and process CPU time."""
    wall, cpu = time.perf_counter(), time.process_time()
    steps = run()
    return Timing(steps, time.perf_counter() - wall, time.process_time() - cpu)


def reference_runner(shape: tuple[int, ...]) -> Runner:
    """The reference env, one volume, episode after episode (cases generated, kernels warm)."""
    env = InteractiveSegEnv(shape, **ENV_KWARGS)
    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 6, size=env.action_space.shape) for _ in range(5)]
    seeds = iter(range(100, 10**9))

    def episodes(count: int) -> int:
        for _ in range(count):
            env.reset(seed=next(seeds))
            for action in actions:
                env.step(action)
        return count * len(actions)

    for case_index in range(ENV_KWARGS["num_cases"]):
        env.reset(options={"case_index": case_index})
    episodes(2)
    return lambda volume_steps: timed(lambda: episodes(max(1, round(volume_steps / 5))))


def vector_runner(envs: gym.vector.VectorEnv, actions: object, sync: Callable[[], None]) -> Runner:
    """A vector env stepped through whole episodes (NEXT_STEP autoreset inside the timing)."""
    for case_index in range(ENV_KWARGS["num_cases"]):  # generate every case (every sub-env)
        envs.reset(options={"case_index": case_index})
    envs.reset(seed=0)
    for _ in range(EPISODE_CALLS * 2):  # warm-up: two episodes with their autoresets
        envs.step(actions)
    sync()

    def calls(count: int) -> int:
        transitions = 0
        for _ in range(count):
            info = envs.step(actions)[4]
            transitions += int(np.count_nonzero(info.get("_reward_map", ())))
        sync()
        return transitions

    def run(volume_steps: int) -> Timing:
        episodes = max(1, round(volume_steps / (5 * envs.num_envs)))
        return timed(lambda: calls(EPISODE_CALLS * episodes))

    return run


def contestants(args: argparse.Namespace) -> list[tuple[Contestant, Runner]]:
    """Every vector contestant, built and warmed up."""
    voxels = math.prod(VOLUME)
    found: list[tuple[Contestant, Runner]] = []
    n = args.async_envs
    numpy_actions = np.random.default_rng(0).integers(0, 6, size=(n, *VOLUME))
    for mode in ("sync", "async"):
        envs = gym.make_vec(
            "InteractiveSeg3D-v0", num_envs=n, vectorization_mode=mode, **ENV_KWARGS
        )
        contestant = Contestant(f"make_vec {mode}, N={n}", voxels, cpu_measured=mode == "sync")
        found.append((contestant, vector_runner(envs, numpy_actions, lambda: None)))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        threads = [args.threads] + ([1] if device == "cpu" and args.threads != 1 else [])
        for n in BATCH_SIZES:
            for num_threads in threads if n == max(BATCH_SIZES) else threads[:1]:
                envs = BatchedInteractiveSegEnv(
                    n, device=device, num_threads=num_threads, **ENV_KWARGS
                )
                actions = torch.randint(0, 6, (n, *VOLUME), device=device)
                name = f"batched {device}, N={n}, {envs.num_threads} thr"
                found.append((Contestant(name, voxels), vector_runner(envs, actions, sync)))
    return found


def time_marl(episodes: int) -> tuple[Contestant, Contestant, Contestant]:
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

    voxels = math.prod(MARL_VOLUME)
    for case_index in range(ENV_KWARGS["num_cases"]):
        env.reset(options={"case_index": case_index})
    results = []
    for name, episode in (("dict protocol", dict_episode), ("array path", array_episode)):
        for seed in range(4):
            episode(seed)
        contestant = Contestant(f"PettingZoo view, {name}", voxels)
        contestant.runs.append(timed(lambda ep=episode: sum(ep(100 + s) for s in range(episodes))))
        results.append(contestant)
    reference = Contestant("reference env", voxels)
    reference.runs.append(reference_runner(MARL_VOLUME)(5 * episodes))
    return results[0], results[1], reference


def profile_batched_step(n: int = 32) -> None:
    """Where a batched CPU step's time goes: one thread, cProfile, grouped by kind of work."""
    envs = BatchedInteractiveSegEnv(n, num_threads=1, **ENV_KWARGS)
    actions = torch.randint(0, 6, (n, *VOLUME))
    run = vector_runner(envs, actions, lambda: None)
    profiler = cProfile.Profile()
    profiler.enable()
    timing = run(5 * n * 2)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]

    def seconds(names: tuple[str, ...], column: int) -> float:
        return sum(v[column] for k, v in stats.items() if k[2] in names)

    total = sum(v[2] for v in stats.values())
    kernels_nogil = seconds(
        (
            "_geodesic_sweeps",
            "_hint_from_padded",
            "_fill_edge_costs",
            "_pad_errors",
            "_union_pass",
            "_relabel_pass",
            "_nearest_voxel",
            "_any_out_of_range",
            "_update_probability",
            "_negate_and_gain",
        ),
        2,
    ) + seconds(("correlate1d",), 2)
    groups = {
        "click simulation (simulate_clicks)": seconds(("simulate_clicks",), 3),
        "  of which connected components (numba, GIL-free)": seconds(
            ("_pad_errors", "_union_pass", "_relabel_pass"), 2
        ),
        "geodesic hint encoding (encoder calls)": seconds(("__call__",), 3),
        "reset: p(0), new cases' edge costs (start_episode)": seconds(("start_episode",), 3),
        "dense update + reward (update_volume, mean)": seconds(("update_volume", "_mean"), 3),
        "buffer writes (hint merge, p channel, reset rows)": seconds(
            ("_apply_hint_update", "_write_probability_channel", "_write_start"), 2
        )
        + seconds(("_put", "_zero", "_merge_max"), 3),
        "info dicts": seconds(("_info",), 3),
    }
    per_step = 1e3 * total / timing.volume_steps
    print(f"\nprofile of the batched CPU env, N={n}, 1 thread ({per_step:.2f} ms per volume-step")
    print("under cProfile, whose overhead inflates the Python parts):")
    for name, value in groups.items():
        print(f"  {name:<52}{100 * value / total:6.1f}%")
    print(
        f"  {'numba kernels + scipy filters (release the GIL)':<52}"
        f"{100 * kernels_nogil / total:6.1f}%  (numpy's ufuncs release it too; not counted)"
    )


def parallel_ceiling(cores: int, reference_cpu_ms: float, batched_cpu_ms: float) -> float:
    """The largest ratio over the reference env that ``cores`` cores allow.

    The reference env runs on one core; a batched env that spends ``batched_cpu_ms`` of CPU
    per volume-step can at best keep every core busy, so it reaches at most
    ``cores · reference_cpu_ms / batched_cpu_ms`` times the reference's throughput.
    """
    return cores * reference_cpu_ms / batched_cpu_ms


def cpu_budget(target_ratio: float, cores: int, reference_cpu_ms: float) -> float:
    """CPU ms per volume-step a batched env may spend to reach ``target_ratio`` on ``cores``."""
    return cores * reference_cpu_ms / target_ratio


def print_table(reference: Contestant, entries: list[Contestant]) -> None:
    """The vector contestants with medians and paired ratios."""
    print(
        f"\n{'contestant':<30}{'volume-steps/s':>15}{'voxel-agent steps/s':>22}{'ratio':>8}"
        f"{'CPU ms/vol-step':>17}"
    )
    for entry in [reference, *entries]:
        ratio = 1.0 if entry is reference else entry.median_ratio()
        cpu = f"{entry.median_cpu_ms():>17.2f}" if entry.cpu_measured else f"{'(workers)':>17}"
        print(
            f"{entry.name:<30}{entry.median_rate():>15.1f}"
            f"{entry.median_rate() * entry.voxels / 1e6:>19.2f} M{ratio:>8.2f}x{cpu}"
        )


def main(argv: list[str] | None = None) -> None:
    """Print the throughput table, the PettingZoo figures, the targets and the ceiling."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat, short runs")
    parser.add_argument("--repeats", type=int, default=3, help="paired measurements each")
    parser.add_argument("--volume-steps", type=int, default=160, help="volume-steps per run")
    parser.add_argument("--async-envs", type=int, default=4, help="num_envs of make_vec sync/async")
    parser.add_argument("--threads", type=int, default=None, help="batched env num_threads")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch CPU threads (0: keep)")
    parser.add_argument("--profile", action="store_true", help="profile a batched CPU step")
    args = parser.parse_args(argv)
    repeats, volume_steps = (1, 64) if args.quick else (args.repeats, args.volume_steps)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    print(
        f"{platform.processor() or platform.machine()}, {available_cores()} usable CPUs, torch "
        f"{torch.__version__} ({torch.get_num_threads()} threads), CUDA "
        f"{torch.cuda.is_available()}; volume {VOLUME} = {math.prod(VOLUME)} voxels; "
        f"{repeats} paired repeat(s) of ~{volume_steps} volume-steps; load average "
        f"{os.getloadavg()[0]:.1f}"
    )

    reference_run = reference_runner(VOLUME)
    reference = Contestant("reference env", math.prod(VOLUME))
    entries = contestants(args)
    for _ in range(repeats):
        for contestant, run in entries:
            contestant.references.append(reference_run(volume_steps))
            reference.runs.append(contestant.references[-1])
            contestant.runs.append(run(volume_steps))
    print_table(reference, [contestant for contestant, _ in entries])
    print(f"load average after: {os.getloadavg()[0]:.1f}")

    dict_path, array_path, marl_reference = time_marl(1 if args.quick else 3 * 8)
    print(f"\nPettingZoo view at {MARL_VOLUME} ({math.prod(MARL_VOLUME)} agents):")
    for result in (dict_path, array_path, marl_reference):
        ratio = result.median_rate() / marl_reference.median_rate()
        print(
            f"{result.name:<34}{result.median_rate():>9.1f} parallel steps/s"
            f"{result.median_rate() * result.voxels / 1e6:>8.2f} M agent-steps/s{ratio:>7.2f}x"
        )

    batched_32 = next(c for c, _ in entries if c.name.startswith("batched cpu, N=32"))
    print(
        f"\ntargets: batched CPU N=32 >= 3x reference voxel-agent steps/s: "
        f"{batched_32.median_ratio():.2f}x; PettingZoo 16x16x8 >= 200 parallel steps/s: "
        f"{dict_path.median_rate():.0f}"
    )
    # the work per volume-step, measured where threads do not contend: one thread, N = 32
    one_thread = next((c for c, _ in entries if c.name == "batched cpu, N=32, 1 thr"), None)
    if one_thread is not None:
        cores, reference_ms, work_ms = (
            available_cores(),
            reference.median_cpu_ms(),
            one_thread.median_cpu_ms(),
        )
        print(
            f"ceiling on {cores} cores at the batched env's one-thread CPU cost ({work_ms:.2f} "
            f"vs the reference's {reference_ms:.2f} ms per volume-step): "
            f"{parallel_ceiling(cores, reference_ms, work_ms):.2f}x; 3x needs <= "
            f"{cpu_budget(3.0, cores, reference_ms):.2f} CPU ms per volume-step"
        )
    if args.profile:
        profile_batched_step()


if __name__ == "__main__":
    main()
