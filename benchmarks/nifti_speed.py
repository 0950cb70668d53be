"""NIfTI-backed env: first load (read + preprocess), cached load, and reset cost vs synthetic.

Writes a few BraTS-sized (240×240×155) cases — synthetic cases upsampled to that grid — as an
MSD task in a temporary folder, loads them with the papers' preprocessing to 55×55×30 (once
from the files, once from the cache), then times ``reset()`` of ``InteractiveSeg3D-v0`` on
that data set against the synthetic default. Run: ``python benchmarks/nifti_speed.py``;
``benchmarks/env_speed.py`` prints the same line through :func:`nifti_reset_benchmark`.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from segenv.data import make_case, make_synthetic_case
from segenv.data.case import Case
from segenv.data.export import export_msd
from segenv.data.sources import NiftiSource
from segenv.envs.interactive_seg import InteractiveSegEnv

BRATS_SHAPE = (155, 240, 240)
"""A BraTS volume, (D, H, W) = 155 slices of 240×240."""


def brats_sized_case(seed: int, shape: tuple[int, int, int] = BRATS_SHAPE) -> Case:
    """A synthetic case drawn at (30, 60, 60) and upsampled to ``shape`` (fast to make)."""
    small = make_synthetic_case((30, 60, 60), seed)
    factors = tuple(t / s for t, s in zip(shape, small.shape, strict=True))
    image = ndimage.zoom(small.image[0], factors, order=1, grid_mode=True, mode="nearest")
    label = ndimage.zoom(
        small.label.astype(np.uint8), factors, order=0, grid_mode=True, mode="nearest"
    )
    return make_case(image, label, name=f"brats-sized-{seed}")


def _median_reset_ms(env: InteractiveSegEnv, resets: int) -> float:
    for seed in range(len(env.dataset)):  # warm the per-case memos, as a training run does
        env.reset(seed=seed, options={"case_index": seed})
    times = []
    for seed in range(resets):
        start = time.perf_counter()
        env.reset(seed=seed)
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def nifti_reset_benchmark(
    num_cases: int = 3, resets: int = 30, source_shape: tuple[int, int, int] = BRATS_SHAPE
) -> dict[str, float]:
    """Time loading and resetting on NIfTI data; returns the figures (seconds / ms).

    Keys: ``load_s_per_case`` (read + crop + resize + cache write), ``cached_load_s_per_case``,
    ``nifti_reset_ms`` (median ``reset()`` on the NIfTI source), ``same_cases_in_memory_reset_ms``
    (the same cases from a plain list: what the reset itself costs on these cases) and
    ``synthetic_reset_ms`` (the synthetic default), all with the default env settings at 55×55×30.
    """
    with tempfile.TemporaryDirectory(prefix="segenv-nifti-bench-") as folder:
        root = Path(folder)
        export_msd([brats_sized_case(seed, source_shape) for seed in range(num_cases)], root / "T")
        options = {"cache_dir": root / "cache", "verbose": False}
        start = time.perf_counter()
        NiftiSource.from_msd(root / "T", **options)
        first = (time.perf_counter() - start) / num_cases
        start = time.perf_counter()
        source = NiftiSource.from_msd(root / "T", **options)
        cached = (time.perf_counter() - start) / num_cases
        nifti_ms = _median_reset_ms(InteractiveSegEnv(dataset=source), resets)
        copies = [make_case(c.image.copy(), c.label.copy(), c.spacing, c.name) for c in source]
        in_memory_ms = _median_reset_ms(InteractiveSegEnv(dataset=copies), resets)
    synthetic_ms = _median_reset_ms(InteractiveSegEnv(num_cases=num_cases), resets)
    return {
        "load_s_per_case": first,
        "cached_load_s_per_case": cached,
        "nifti_reset_ms": nifti_ms,
        "same_cases_in_memory_reset_ms": in_memory_ms,
        "synthetic_reset_ms": synthetic_ms,
    }


def format_nifti_benchmark(results: dict[str, float]) -> str:
    """One line per figure, for printing."""
    return "\n".join(
        [
            f"NIfTI load 240x240x155 -> 55x55x30: {results['load_s_per_case']:.2f} s/case "
            f"first, {1000 * results['cached_load_s_per_case']:.1f} ms/case cached",
            f"reset() NIfTI-backed: {results['nifti_reset_ms']:.2f} ms (same cases from a list: "
            f"{results['same_cases_in_memory_reset_ms']:.2f} ms; synthetic cases: "
            f"{results['synthetic_reset_ms']:.2f} ms)",
        ]
    )


if __name__ == "__main__":
    print(format_nifti_benchmark(nifti_reset_benchmark()))
