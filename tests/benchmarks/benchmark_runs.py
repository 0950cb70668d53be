"""Run a script of ``benchmarks/`` the way a user does, from the project root."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_script(name: str, *flags: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python benchmarks/<name> <flags>``, output captured as text."""
    return subprocess.run(
        [sys.executable, f"benchmarks/{name}", *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
