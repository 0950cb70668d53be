"""The click-ceiling benchmark runs and prints one table per protocol asked for."""

import re

from benchmark_runs import run_script


def test_click_ceiling_prints_a_table_per_click_noise():
    result = run_script(
        "click_ceiling.py",
        "--preset",
        "quick",
        "--shape",
        "24",
        "24",
        "--episodes",
        "2",
        "--click-noise",
        "3",
        "0",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "24×24" in out and "±3 voxels of jitter" in out and "±0 voxels of jitter" in out
    for row in ("initial segmentation (no-op)", "click disc, radius 1", "clicked-region oracle"):
        assert out.count(f"| {row}") == 2
    rates = [int(rate) for rate in re.findall(r"(\d+) % of the clicks land on a wrong voxel", out)]
    assert len(rates) == 2 and rates[1] == 100  # exact clicks sit on the error regions' centres
