"""Device speed: the batched env's torch backend against its numba backend, CPU and CUDA.

One run prints two tables, every ratio measured in that run:

1. The geodesic hint transform on synthetic cases (default 30×55×55, 5 clicks per map, the
   env's default ``lam = 0.9``, sweeps until no distance changes): the numba encoder (one map
   per call, one thread) next to the torch transform (``B`` volumes × 2 click sets per call)
   on the CPU and, when there is one, on CUDA; milliseconds per call and per map, the sweep
   iterations, and the torch/numba ratio of the time per map.
2. The batched env's volume-steps/s with ``backend="numba"`` and ``backend="torch"`` on each
   device (whole episodes with NEXT_STEP autoresets, uniformly random actions), each torch
   run paired with a numba run of the same device just before it; the table shows medians
   and the median of the paired torch/numba ratios.

Run ``python benchmarks/device_speed.py`` (``--quick`` for a short run; ``--device cuda`` to
skip the CPU rows on a GPU machine). Torch and the numba backend run ``--threads`` threads
(default 1: the work per volume-step, not how many cores the machine has).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from vector_speed import ENV_KWARGS, EPISODE_CALLS, Timing, timed

from segenv.data.synthetic import SyntheticSource
from segenv.envs._torch_hints import (
    geodesic_costs,
    geodesic_sweeps,
    hints_from_distance,
    new_distances,
)
from segenv.hints import DEFAULT_GEODESIC_SCALE, DEFAULT_LAMBDA, geodesic_encoder
from segenv.views.batched import BatchedInteractiveSegEnv

N_CLICKS = 5


def median_ms(fn: Callable[[], object], repeats: int, sync: Callable[[], None]) -> float:
    """Median wall time of ``fn()`` in ms after one warm-up call."""
    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def synchronizer(device: str) -> Callable[[], None]:
    return torch.cuda.synchronize if device == "cuda" else (lambda: None)


def hint_table(shape: tuple[int, int, int], devices: list[str], batch: int, repeats: int) -> None:
    """Table 1: the numba encoder call next to the torch transform on each device."""
    source = SyntheticSource(shape=shape, num_cases=batch)
    cases = [source[i] for i in range(batch)]
    rng = np.random.default_rng(0)
    clicks = [
        [np.stack([rng.integers(0, n, N_CLICKS) for n in shape], axis=1) for _ in range(2)]
        for _ in range(batch)
    ]
    numba_ms, numba_iterations = [], []
    for case, pair in zip(cases, clicks, strict=True):
        encoder = geodesic_encoder(case.image, case.spacing)
        for coords in pair:
            numba_ms.append(median_ms(lambda e=encoder, c=coords: e(c), repeats, lambda: None))
            numba_iterations.append(encoder.last_iterations)
    per_map = statistics.median(numba_ms)
    print(
        f"\n## geodesic hints, {shape} (D, H, W), lam = {DEFAULT_LAMBDA}, {N_CLICKS} clicks per "
        f"map, {batch} synthetic cases"
    )
    print(
        "| transform | device | maps per call | ms per call | ms per map | iterations | vs numba |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    print(
        f"| numba encoder | cpu, 1 thread | 1 | {per_map:.2f} | {per_map:.2f} | "
        f"{min(numba_iterations)}-{max(numba_iterations)} | 1.00x |"
    )
    for device in devices:
        sync = synchronizer(device)
        for size in sorted({1, batch}):
            images = torch.tensor(np.stack([c.image for c in cases[:size]]), device=device)
            spacings = torch.tensor([c.spacing for c in cases[:size]], dtype=torch.float64)
            costs = geodesic_costs(images, spacings.to(device), DEFAULT_LAMBDA)
            dist = new_distances(size, 2, shape, torch.device(device))
            seeds = torch.tensor(
                [
                    [i, side, *(coords + 1)]
                    for i in range(size)
                    for side in range(2)
                    for coords in clicks[i][side]
                ],
                device=device,
            )
            used = [0]

            def call(dist=dist, costs=costs, seeds=seeds, used=used) -> torch.Tensor:
                dist.fill_(float("inf"))
                dist[seeds[:, 0], seeds[:, 1], seeds[:, 2], seeds[:, 3], seeds[:, 4]] = 0.0
                used[0] = int(geodesic_sweeps(costs, dist).max())
                return hints_from_distance(dist, DEFAULT_GEODESIC_SCALE)

            call_ms = median_ms(call, repeats, sync)
            maps = 2 * size
            threads = f", {torch.get_num_threads()} thr" if device == "cpu" else ""
            print(
                f"| torch | {device}{threads} | {maps} | {call_ms:.2f} | {call_ms / maps:.3f} | "
                f"{used[0]} | {call_ms / maps / per_map:.2f}x |"
            )


def env_runner(envs: BatchedInteractiveSegEnv, device: str) -> Callable[[int], Timing]:
    """Whole episodes of a batched env (autoresets inside the timing), warmed up."""
    n = envs.num_envs
    actions = torch.randint(0, 6, (n, *envs.volume_shape), device=device)
    for case_index in range(ENV_KWARGS["num_cases"]):
        envs.reset(options={"case_index": case_index})
    envs.reset(seed=0)
    for _ in range(EPISODE_CALLS):
        envs.step(actions)
    sync = synchronizer(device)
    sync()

    def calls(count: int) -> int:
        transitions = 0
        for _ in range(count):
            info = envs.step(actions)[4]
            transitions += int(np.count_nonzero(info["_reward_map"]))
        sync()
        return transitions

    def run(volume_steps: int) -> Timing:
        episodes = max(1, round(volume_steps / (5 * n)))
        return timed(lambda: calls(EPISODE_CALLS * episodes))

    return run


def env_table(
    shape: tuple[int, int, int], devices: list[str], sizes: dict[str, int], repeats: int, steps: int
) -> None:
    """Table 2: volume-steps/s of the two backends, paired per device."""
    print(f"\n## batched env, {shape}, whole episodes, {repeats} paired repeat(s)")
    print("| device | N | numba vol-steps/s | torch vol-steps/s | torch / numba |")
    print("|---|---:|---:|---:|---:|")
    for device in devices:
        n = sizes[device]
        runners = {
            backend: env_runner(
                BatchedInteractiveSegEnv(
                    n,
                    device=device,
                    backend=backend,
                    num_threads=torch.get_num_threads(),
                    shape=shape,
                    **ENV_KWARGS,
                ),
                device,
            )
            for backend in ("numba", "torch")
        }
        rates: dict[str, list[float]] = {"numba": [], "torch": []}
        ratios = []
        for _ in range(repeats):
            for backend, run in runners.items():
                rates[backend].append(run(steps).rate)
            ratios.append(rates["torch"][-1] / rates["numba"][-1])
        print(
            f"| {device} | {n} | {statistics.median(rates['numba']):.1f} | "
            f"{statistics.median(rates['torch']):.1f} | {statistics.median(ratios):.2f}x |"
        )


def main(argv: list[str] | None = None) -> None:
    """Print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter runs")
    parser.add_argument("--device", choices=["all", "cpu", "cuda"], default="all")
    parser.add_argument("--threads", type=int, default=1, help="torch and numba-backend threads")
    parser.add_argument("--shape", type=int, nargs=3, default=(30, 55, 55), metavar=("D", "H", "W"))
    parser.add_argument("--batch", type=int, default=8, help="volumes per torch hint call")
    parser.add_argument("--cpu-envs", type=int, default=4, help="N of the CPU batched envs")
    parser.add_argument("--cuda-envs", type=int, default=32, help="N of the CUDA batched envs")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    shape = tuple(args.shape)
    devices = [
        d
        for d in ("cpu", "cuda")
        if args.device in ("all", d) and (d == "cpu" or torch.cuda.is_available())
    ]
    if not devices:
        raise SystemExit("no CUDA device: use --device cpu or all")
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), CUDA "
        f"{torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}; load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    repeats = 3 if args.quick else 15
    hint_table(shape, devices, args.batch, repeats)  # type: ignore[arg-type]
    sizes = {"cpu": args.cpu_envs, "cuda": args.cuda_envs}
    env_repeats, steps = (1, 20) if args.quick else (3, 60)
    env_table(shape, devices, sizes, env_repeats, steps)  # type: ignore[arg-type]
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
