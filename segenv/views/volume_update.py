"""Moved to the batched env's internals (:mod:`segenv.envs._volume_update`); kept working."""

from __future__ import annotations

from segenv.envs._volume_update import indices_in_range, update_volume

__all__ = ["indices_in_range", "update_volume"]
