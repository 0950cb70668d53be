"""The speed benchmark keeps running (figures are read by people, not asserted here)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_env_speed_benchmark_runs_on_a_tiny_volume():
    result = subprocess.run(
        [sys.executable, "benchmarks/env_speed.py", "--quick", "--sizes", "4x16x16"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "| hints |" in result.stdout and "speed-up" in result.stdout
