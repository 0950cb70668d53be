"""Every voxel an agent: the PettingZoo view of the interactive-segmentation env.

Used like a PettingZoo environment module::

    from segenv import marl

    parallel = marl.parallel_env(shape=(16, 16, 8), patch_size=3)  # a ParallelEnv
    aec = marl.env(shape=(16, 16, 8))  # the AEC form (PettingZoo's parallel_to_aec)

See :class:`segenv.envs.voxel_agents.VoxelAgentsParallelEnv` for the spaces, rewards, the array path
and the scale at which the dict-per-agent protocol is practical.
"""

from __future__ import annotations

from segenv.envs.voxel_agents import VoxelAgentsParallelEnv, agent_name, env, parallel_env, raw_env

__all__ = ["VoxelAgentsParallelEnv", "agent_name", "env", "parallel_env", "raw_env"]
