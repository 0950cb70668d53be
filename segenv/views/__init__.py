"""Other views of the interactive-segmentation MDP: batched tensors and voxel agents.

The reference env (:class:`segenv.envs.interactive_seg.InteractiveSegEnv`) steps one volume on
numpy. The views here run the same MDP, with the same semantics, in the shapes other code
wants:

- :class:`~segenv.views.batched.BatchedInteractiveSegEnv` (module ``segenv.views.batched``,
  needs torch): a ``gymnasium.vector.VectorEnv`` that steps N volumes at once as torch tensors
  on CPU or CUDA. It is the ``vector_entry_point`` of ``InteractiveSeg3D-v0`` /
  ``InteractiveSeg2D-v0``:
  ``gym.make_vec("InteractiveSeg3D-v0", num_envs=N, vectorization_mode="vector_entry_point")``.
- :class:`~segenv.views.marl.VoxelAgentsParallelEnv` (module ``segenv.views.marl``): a
  PettingZoo ``ParallelEnv`` in which every voxel is an agent ``"voxel_z_y_x"``; the AEC form
  comes from PettingZoo's converter. ``segenv.marl.parallel_env(...)`` and
  ``segenv.marl.env(...)`` build them as PettingZoo modules do.

Nothing here is imported by ``import segenv``, and ``import segenv.views`` does not import torch:
the names below load their module on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BatchedInteractiveSegEnv",
    "VoxelAgentsParallelEnv",
    "batched_vector_env",
    "env",
    "parallel_env",
    "raw_env",
]

_HOMES = {
    "BatchedInteractiveSegEnv": "segenv.views.batched",
    "VoxelAgentsParallelEnv": "segenv.views.marl",
    "env": "segenv.views.marl",
    "parallel_env": "segenv.views.marl",
    "raw_env": "segenv.views.marl",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'segenv.views' has no attribute {name!r}")


def batched_vector_env(num_envs: int = 1, **kwargs: Any) -> Any:
    """The registered ``vector_entry_point``: a :class:`BatchedInteractiveSegEnv` (needs torch).

    ``gym.make_vec`` calls it for ``vectorization_mode="vector_entry_point"``, which is also its
    default for the segenv ids; without torch it says how to get the sync/async vector envs.
    """
    try:
        from segenv.views.batched import BatchedInteractiveSegEnv
    except ModuleNotFoundError as error:
        if error.name != "torch":
            raise
        from segenv.errors import ConfigError

        raise ConfigError(
            "the native batched env (make_vec's default for the segenv ids) needs torch, "
            "which is not installed; install torch, or pass vectorization_mode='sync' or "
            "'async' for the numpy vector envs"
        ) from error
    return BatchedInteractiveSegEnv(num_envs, **kwargs)
