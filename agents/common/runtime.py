"""Where and how torch runs: its thread count and the seeds of a run."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from segenv.devices import resolve_threads
from segenv.errors import ConfigError


def configure_torch(threads: int | None = 0) -> int:
    """Set torch's intra-op threads: ``threads``, or (0 or None) one per available core.

    The count is :func:`segenv.devices.resolve_threads`'s, the rule the env's batched view
    uses too.

    The ``quick`` presets use one thread: torch's OpenMP threads spin-wait for each other, so
    while another process holds a core two threads crawl (measured on this project's 2-core
    machine under a load of ~6: 10 s per A3C quick update with two threads, 1.2 s with one).

    Returns:
        The number of threads now in use.
    """
    count = resolve_threads(threads)
    torch.set_num_threads(count)
    return count


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's, numpy's and torch's global generators; return a torch generator.

    The learners draw actions from the returned generator (its state is checkpointed), so a
    run with the same seed is repeatable on the same machine.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be a non-negative int, got {seed!r}")
    seed_global_generators(seed)
    return torch.Generator().manual_seed(seed)


def seed_global_generators(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators (CPU and CUDA) with ``seed``."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  (libraries that use the legacy global RNG)
    torch.manual_seed(seed)


def rng_states() -> dict[str, Any]:
    """The states of Python's, numpy's and torch's global generators (CPU and CUDA).

    :class:`~.training.TrainingLoop` stores them in every checkpoint and
    :func:`restore_rng_states` puts them back on resume, so a resumed run draws what the
    uninterrupted run would have drawn.
    """
    states: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),  # noqa: NPY002  (the legacy global generator)
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: Mapping[str, Any]) -> None:
    """Put back generator states written by :func:`rng_states` (missing entries are skipped)."""
    if "python" in states:
        random.setstate(_as_python_state(states["python"]))
    if "numpy" in states:
        np.random.set_state(states["numpy"])  # noqa: NPY002
    if "torch" in states:
        torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _as_python_state(state: Any) -> Any:
    """``random.setstate`` wants tuples; a checkpoint may hold lists."""
    if isinstance(state, list):
        return tuple(_as_python_state(part) for part in state)
    return state
