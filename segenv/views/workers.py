"""Moved to the batched env's internals (:mod:`segenv.envs._workers`); kept working."""

from __future__ import annotations

from segenv.devices import available_cores
from segenv.envs._workers import VolumeWorkers

__all__ = ["VolumeWorkers", "available_cores"]
