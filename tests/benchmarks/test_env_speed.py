"""The speed benchmark keeps running (figures are read by people, not asserted here)."""

import sys

from benchmark_runs import ROOT, run_script


def test_env_speed_benchmark_runs_on_a_tiny_volume():
    result = run_script("env_speed.py", "--quick", "--sizes", "4x16x16")
    assert result.returncode == 0, result.stderr
    assert "| hints |" in result.stdout and "speed-up" in result.stdout


def test_vector_speed_ceiling_by_hand():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from vector_speed import cpu_budget, parallel_ceiling
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    # two cores, 4.45 ms per reference volume-step, 4.17 ms per batched one: 2 * 4.45 / 4.17
    assert abs(parallel_ceiling(2, 4.45, 4.17) - 2.1343) < 1e-4
    assert abs(cpu_budget(3.0, 2, 4.45) - 2.9667) < 1e-4  # 2 * 4.45 / 3
    assert abs(parallel_ceiling(2, 4.45, cpu_budget(3.0, 2, 4.45)) - 3.0) < 1e-12


def test_env_speed_hands_vector_to_the_vector_benchmark():
    result = run_script("env_speed.py", "--vector", "--help")
    assert result.returncode == 0, result.stderr
    assert "--async-envs" in result.stdout and "--profile" in result.stdout
