"""Checkpoints of a run directory: written atomically, read back on resume or evaluation."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from segenv.errors import DataError
from segenv.files import atomic_write

CHECKPOINT_NAME = "checkpoint.pt"


def save_checkpoint(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` with ``torch.save`` atomically (:func:`segenv.files.atomic_write`).

    A run killed at any moment leaves either the previous checkpoint or the new one, never a
    half-written file.
    """
    atomic_write(path, lambda stream: torch.save(dict(payload), stream))


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """Read a checkpoint written by :func:`save_checkpoint`; None if there is none."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # a foreign or corrupt file: say which and why
        raise DataError(
            f"cannot read checkpoint {path}: {error}; delete it to start over"
        ) from error
