"""The environment faces of segenv: one MDP, three shapes.

- :class:`~segenv.envs.interactive_seg.InteractiveSegEnv`: the reference Gymnasium env, one
  volume on numpy (``gym.make("InteractiveSeg3D-v0")``).
- :class:`~segenv.envs.batched.BatchedInteractiveSegEnv` (needs torch): N volumes as torch
  tensors, the ``vector_entry_point`` of the segenv ids (:func:`batched_vector_env`).
- :class:`~segenv.envs.voxel_agents.VoxelAgentsParallelEnv`: the PettingZoo view in which every
  voxel is an agent (``segenv.marl.parallel_env``).

All three are built from one :class:`~segenv.envs.config.EnvConfig` and run each volume's
episode through :mod:`segenv.envs.episode`. Modules with a leading underscore are the batched
engine's internals. Importing this package imports neither torch nor PettingZoo: the batched
env and the voxel-agent view load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from segenv.envs.config import EnvConfig
from segenv.envs.interactive_seg import InteractiveSegEnv
from segenv.errors import ConfigError

__all__ = [
    "BatchedInteractiveSegEnv",
    "EnvConfig",
    "InteractiveSegEnv",
    "VoxelAgentsParallelEnv",
    "batched_vector_env",
]

_LAZY = {
    "BatchedInteractiveSegEnv": "segenv.envs.batched",
    "VoxelAgentsParallelEnv": "segenv.envs.voxel_agents",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'segenv.envs' has no attribute {name!r}")


def batched_vector_env(num_envs: int = 1, **kwargs: Any) -> Any:
    """The registered ``vector_entry_point``: a ``BatchedInteractiveSegEnv`` (needs torch).

    ``gym.make_vec`` calls it for ``vectorization_mode="vector_entry_point"``, which is also its
    default for the segenv ids; without torch it says how to get the sync/async vector envs.
    """
    try:
        from segenv.envs.batched import BatchedInteractiveSegEnv
    except ModuleNotFoundError as error:
        if error.name != "torch":
            raise
        raise ConfigError(
            "the native batched env (make_vec's default for the segenv ids) needs torch, "
            "which is not installed; install torch, or pass vectorization_mode='sync' or "
            "'async' for the numpy vector envs"
        ) from error
    return BatchedInteractiveSegEnv(num_envs, **kwargs)
