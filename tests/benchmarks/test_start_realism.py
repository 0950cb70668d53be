"""The start-realism benchmark keeps running and prints one row per start."""

import numpy as np
from benchmark_runs import run_script

from segenv.metrics import dice


def test_start_realism_benchmark_runs_on_a_tiny_volume(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGENV_CACHE_DIR", str(tmp_path))  # the coarse start's cache
    result = run_script("start_realism.py", "--quick", "--coarse")
    assert result.returncode == 0, result.stderr
    for start in ("| image-aware |", "| degraded truth (smooth noise) |", "| coarse network |"):
        assert start in result.stdout
    assert "difficulty 1.0, target Dice 0.75" in result.stdout
    assert len(list(tmp_path.glob("coarse/synthetic-*/probabilities/*.npy"))) == 8 + 4 + 4


def test_error_statistics_hand_case():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        from start_realism import error_statistics
    finally:
        sys.path.pop(0)
    label = np.zeros((1, 1, 8), dtype=bool)
    label[0, 0, 2:6] = True  # 4 object voxels
    probability = np.zeros((1, 1, 8))
    probability[0, 0, 3:7] = 0.9  # misses voxel 2, takes voxel 6
    stats = error_statistics(probability, label)
    assert stats[0] == dice(probability >= 0.5, label) == 0.75
    assert stats[1:4] == [1, 1, 2] and stats[4] == 0.5
