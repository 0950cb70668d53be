"""The former home of the batched env and the voxel-agent view, kept as import paths.

The env faces now live together in :mod:`segenv.envs` (reference env, batched env, PettingZoo
view). ``segenv.views.batched``, ``segenv.views.marl``, ``segenv.views.episodes``,
``segenv.views.torch_rewards``, ``segenv.views.volume_update`` and ``segenv.views.workers``
re-export them, and the names below load their module on first use, so ``import segenv.views``
imports neither torch nor PettingZoo.
"""

from __future__ import annotations

from typing import Any

from segenv.envs import batched_vector_env

__all__ = [
    "BatchedInteractiveSegEnv",
    "VoxelAgentsParallelEnv",
    "batched_vector_env",
    "env",
    "parallel_env",
    "raw_env",
]


def __getattr__(name: str) -> Any:
    if name in ("BatchedInteractiveSegEnv", "VoxelAgentsParallelEnv"):
        import segenv.envs

        return getattr(segenv.envs, name)  # loads its module on first use
    if name in ("env", "parallel_env", "raw_env"):
        from segenv.envs import voxel_agents

        return getattr(voxel_agents, name)
    raise AttributeError(f"module 'segenv.views' has no attribute {name!r}")
