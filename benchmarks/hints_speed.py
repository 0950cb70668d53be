"""Speed and accuracy of the hint encoders (segenv.hints); run ``python benchmarks/hints_speed.py``.

For each volume size it builds every registered encoder on a textured, z-normalised-like
image (smoothed Gaussian noise plus a +3 blob), warms the JIT up, then prints the median
wall time of one encoder call with 5 clicks (``time.perf_counter`` over many repetitions),
the per-episode factory time, and, at the small size, the exact Dijkstra reference
(``geodesic_distance_exact``) measured in the same run with the fast geodesic's mean
relative error against it. Timings depend on the machine and its load; compare ratios.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from scipy import ndimage

from segenv.hints import (
    HINT_ENCODERS,
    geodesic_distance,
    geodesic_distance_exact,
    make_hint_encoder,
)

SIZES = ((30, 55, 55), (64, 128, 128))
N_CLICKS = 5


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
        print(
            f"  {name:<10} call {call_ms[name]:8.3f} ms (min {fastest:7.3f})"
            f"   factory {build_ms:8.2f} ms"
        )
    if shape != SIZES[0]:
        return
    exact_ms, _ = timings_ms(lambda: geodesic_distance_exact(image, clicks), 3)
    exact = geodesic_distance_exact(image, clicks)
    ratio = exact_ms / call_ms["geodesic"]
    print(f"  {'exact':<10} call {exact_ms:8.3f} ms (Dijkstra: {ratio:.0f}x the geodesic call)")
    for iterations in (1, 2):
        error = 100 * mean_relative_error(
            geodesic_distance(image, clicks, iterations=iterations), exact
        )
        print(f"  geodesic vs exact, iterations={iterations}: {error:.3f} % mean relative error")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="calls timed per encoder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for shape in SIZES:
        bench_size(shape, rng, args.repeats)


if __name__ == "__main__":
    main()
