"""Moved to :mod:`segenv.envs.batched`; this import path keeps working (needs torch)."""

from __future__ import annotations

from segenv.envs.batched import ARRAY_TYPES, BatchedInteractiveSegEnv

__all__ = ["ARRAY_TYPES", "BatchedInteractiveSegEnv"]
