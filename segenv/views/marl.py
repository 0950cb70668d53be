"""Moved to :mod:`segenv.envs.voxel_agents`; this import path keeps working."""

from __future__ import annotations

from segenv.envs.voxel_agents import (
    VoxelAgentsParallelEnv,
    agent_name,
    env,
    parallel_env,
    raw_env,
)

__all__ = ["VoxelAgentsParallelEnv", "agent_name", "env", "parallel_env", "raw_env"]
