"""Where computation runs: one rule for torch devices and one for thread counts.

The environment layer does not need torch; :func:`resolve_device` imports it only when called
(by the batched env and the learners).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from segenv.errors import ConfigError, InputTypeError

if TYPE_CHECKING:
    import torch

__all__ = ["available_cores", "resolve_device", "resolve_threads"]


def available_cores() -> int:
    """The number of CPU cores this process may run on (its affinity mask where known)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def resolve_threads(threads: object, name: str = "threads") -> int:
    """A thread count: a positive int as given, ``0`` or None → one per available core."""
    if threads is None:
        return available_cores()
    if isinstance(threads, bool) or not isinstance(threads, int):
        raise InputTypeError(f"{name}= must be an int (0 or None: one per core), got {threads!r}")
    if threads < 0:
        raise ConfigError(f"{name}= must be >= 0 (0: one per core), got {threads!r}")
    return threads or available_cores()


def resolve_device(device: Any) -> torch.device:
    """A torch device: ``"auto"`` → CUDA when available, else CPU; otherwise the one named.

    ``"cuda"`` without an index becomes the current CUDA device. Raises a :class:`ConfigError`
    naming the fix for a name torch does not know or a CUDA device that is not there.
    """
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu' or 'cuda'"
        ) from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device={device!r} but torch.cuda.is_available() is False (no CUDA device or "
                "a CPU-only torch build); use device='cpu' or 'auto'"
            )
        if resolved.index is None:
            resolved = torch.device("cuda", torch.cuda.current_device())
    return resolved
