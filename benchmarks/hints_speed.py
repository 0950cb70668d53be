"""Speed and accuracy of the hint encoders (segenv.hints); run ``python benchmarks/hints_speed.py``.

For each volume size it builds every registered encoder on a textured, z-normalised-like
image (smoothed Gaussian noise plus a +3 blob), warms the JIT up, then prints the median
wall time of one encoder call with 5 clicks (``time.perf_counter`` over many repetitions),
the per-episode factory time, the torch geodesic transform of the batched env's ``torch``
backend for the same map (one torch thread; on CUDA too when there is one) with its ratio to
the numba call, and, at the small size, the exact Dijkstra reference
(``geodesic_distance_exact``) measured in the same run. Then the accuracy table: the mean
relative error against Dijkstra of the numba transform (one sweep iteration, and until no
distance changes) and of the torch one (until no change), with the iterations each ran, at
lam = 0, 0.5, 0.9 and 1, on the small textured volume and on white noise at 12×24×24 (the
hardest case: paths meander most). Timings depend on the machine and its load; compare
ratios (``--quick``: fewer repetitions, no large size).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from segenv.hints import (
    DEFAULT_GEODESIC_SCALE,
    DEFAULT_LAMBDA,
    HINT_ENCODERS,
    geodesic_distance_exact,
    geodesic_encoder,
    make_hint_encoder,
)

try:  # the torch twin is the batched env's; the numba encoders need no torch
    import torch

    from segenv.envs._torch_hints import (
        geodesic_costs,
        geodesic_distance_torch,
        geodesic_sweeps,
        hints_from_distance,
        new_distances,
    )
except ImportError:  # pragma: no cover - the environment without the learners' extra
    torch = None  # type: ignore[assignment]

SIZES = ((30, 55, 55), (64, 128, 128))
N_CLICKS = 5
LAMBDAS = (0.0, 0.5, 0.9, 1.0)


def textured_image(shape: tuple[int, int, int], rng: np.random.Generator) -> np.ndarray:
    noise = ndimage.gaussian_filter(rng.normal(size=shape), 1.0)
    grid = np.indices(shape, dtype=float)
    centre = np.array(shape, dtype=float)[:, None, None, None] / 2
    radii = np.array(shape, dtype=float)[:, None, None, None] / 4
    blob = (((grid - centre) / radii) ** 2).sum(axis=0) < 1
    return (noise + 3.0 * blob).astype(np.float32)


def timings_ms(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median and minimum wall time of ``fn()`` in ms (the minimum shows the noise floor)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times)), 1e3 * min(times)


def mean_relative_error(fast: np.ndarray, exact: np.ndarray) -> float:
    positive = exact > 0
    return float(np.mean(np.abs(fast[positive] - exact[positive]) / exact[positive]))


def torch_call_ms(image: np.ndarray, clicks: np.ndarray, device: str, repeats: int) -> float:
    """Median ms of one torch geodesic map (costs precomputed, as the env keeps them)."""
    costs = geodesic_costs(torch.from_numpy(image)[None, None].to(device), (1.0, 1.0, 1.0))
    dist = new_distances(1, 1, image.shape, torch.device(device))
    seeds = torch.as_tensor(clicks + 1, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def call() -> None:
        dist.fill_(float("inf"))
        dist[0, 0, seeds[:, 0], seeds[:, 1], seeds[:, 2]] = 0.0
        geodesic_sweeps(costs, dist)
        hints_from_distance(dist, DEFAULT_GEODESIC_SCALE)
        sync()

    return timings_ms(call, repeats)[0]


def bench_size(shape: tuple[int, int, int], rng: np.random.Generator, repeats: int) -> None:
    image = textured_image(shape, rng)
    clicks = np.stack([rng.integers(0, n, N_CLICKS) for n in shape], axis=1)
    print(f"\nvolume {shape} (D, H, W), {N_CLICKS} clicks, median of {repeats} calls")
    call_ms = {}
    for name in HINT_ENCODERS.names():
        make_hint_encoder(name, image)(clicks)  # JIT warm-up
        build_ms, _ = timings_ms(lambda name=name: make_hint_encoder(name, image), 5)
        encoder = make_hint_encoder(name, image)
        call_ms[name], fastest = timings_ms(lambda encoder=encoder: encoder(clicks), repeats)
        sweeps = getattr(encoder, "last_iterations", None)
        note = f"   {sweeps} sweep iterations" if sweeps else ""
        print(
            f"  {name:<10} call {call_ms[name]:8.3f} ms (min {fastest:7.3f})"
            f"   factory {build_ms:8.2f} ms{note}"
        )
    if torch is not None:
        devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
        for device in devices:
            torch_ms = torch_call_ms(image, clicks, device, max(3, repeats // 10))
            ratio = torch_ms / call_ms["geodesic"]
            print(
                f"  {'torch ' + device:<10} call {torch_ms:8.3f} ms (the geodesic map; "
                f"{ratio:.1f}x the numba call, {torch.get_num_threads()} torch thread(s))"
            )
    if shape != SIZES[0]:
        return
    exact_ms, _ = timings_ms(lambda: geodesic_distance_exact(image, clicks), 3)
    ratio = exact_ms / call_ms["geodesic"]
    print(f"  {'exact':<10} call {exact_ms:8.3f} ms (Dijkstra: {ratio:.0f}x the geodesic call)")


def accuracy_table(rng: np.random.Generator) -> None:
    """Mean relative error against Dijkstra, with the sweep iterations each transform ran."""
    volumes = {
        f"textured {SIZES[0]}": textured_image(SIZES[0], rng),
        "white noise (12, 24, 24)": rng.normal(size=(12, 24, 24)).astype(np.float32),
    }
    print("\nmean relative error against Dijkstra (iterations run; 5 clicks)")
    print("| volume | lam | numba, 1 iteration | numba, until no change | torch, until no change |")
    print("|---|---:|---:|---:|---:|")
    for name, image in volumes.items():
        clicks = np.stack([rng.integers(0, n, N_CLICKS) for n in image.shape], axis=1)
        for lam in LAMBDAS:
            exact = geodesic_distance_exact(image, clicks, lam=lam)
            row = []
            for iterations in (1, None):
                encoder = geodesic_encoder(
                    image,
                    lam=lam,
                    scale=1.0,
                    **({} if iterations is None else {"iterations": iterations}),
                )
                distance = -np.log(np.maximum(encoder(clicks).astype(np.float64), 1e-300))
                error = 100 * mean_relative_error(distance, exact)
                row.append(f"{error:.4f} % ({encoder.last_iterations})")
            if torch is not None:
                distance_t, used = geodesic_distance_torch(image, clicks, lam=lam)
                error = 100 * mean_relative_error(distance_t.numpy(), exact)
                row.append(f"{error:.5f} % ({used})")
            else:
                row.append("(no torch)")
            print(f"| {name} | {lam} | " + " | ".join(row) + " |")
    print(
        f"(the env's default lam is {DEFAULT_LAMBDA}; the numba transform's floor is its "
        "16-bit edge costs, the torch one's float32)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="calls timed per encoder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="10 calls, the small size only")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    if torch is not None:
        torch.set_num_threads(1)
    for shape in SIZES[:1] if args.quick else SIZES:
        bench_size(shape, rng, 10 if args.quick else args.repeats)
    accuracy_table(rng)


if __name__ == "__main__":
    main()
