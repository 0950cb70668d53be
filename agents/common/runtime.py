"""Where and how torch runs: its thread count and the seeds of a run."""

from __future__ import annotations

import random

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
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  (libraries that use the legacy global RNG)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
