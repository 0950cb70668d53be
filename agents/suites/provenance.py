"""Where a suite's result comes from: the git revision, the machine and the library versions."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def git_revision(directory: Path | None = None) -> str:
    """Short commit of the checkout holding this package (``+dirty`` with local changes).

    ``"unknown"`` when git or the repository is not available.
    """
    where = directory or Path(__file__).resolve().parents[1]

    def git(*arguments: str) -> str:
        command = ["git", *arguments]
        done = subprocess.run(
            command, cwd=where, capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        revision = git("rev-parse", "--short", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{revision}+dirty" if revision and status else revision or "unknown"


def provenance() -> dict[str, Any]:
    """Where a result comes from: git revision, platform, CPUs, Python, torch, CUDA device."""
    import torch

    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "revision": git_revision(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cuda_device": cuda,
    }


def hardware_line(record: Mapping[str, Any]) -> str:
    """One line describing the machine of a provenance record."""
    device = record.get("cuda_device") or "no CUDA device"
    return (
        f"{record.get('platform')} ({record.get('machine')}), {record.get('cpus')} CPUs, "
        f"Python {record.get('python')}, torch {record.get('torch')}, {device}"
    )
