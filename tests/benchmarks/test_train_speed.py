"""The training-speed benchmark keeps running (figures are read by people, not asserted)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_train_speed_benchmark_runs_on_a_tiny_volume():
    result = subprocess.run(
        [
            sys.executable,
            "benchmarks/train_speed.py",
            "--tiny",
            *("--sizes", "quick", "--learners", "a3c", "ppo", "--updates", "2"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "| a3c | quick | 16×16 | cpu |" in result.stdout
    assert "| ppo | quick | 16×16 | cpu |" in result.stdout
