"""The data-parallel scaling benchmark runs 1 and 2 ranks and reports the efficiency."""

from benchmark_runs import run_script


def test_ddp_scaling_benchmark_runs_one_and_two_ranks_on_a_tiny_volume():
    result = run_script("ddp_scaling.py", "--tiny", "--updates", "3", timeout=600)
    assert result.returncode == 0, result.stderr
    assert "shared with other jobs" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith(("| 1 |", "| 2 |"))]
    assert len(rows) == 2, result.stdout
    efficiency = float(rows[1].split("|")[5])
    assert efficiency > 0
