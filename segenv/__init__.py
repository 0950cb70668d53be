"""segenv: interactive 3D medical image segmentation as multi-agent reinforcement learning.

Importing the package registers the Gymnasium ids ``InteractiveSeg3D-v0`` (55×55×30 volumes,
the papers' setting) and ``InteractiveSeg2D-v0`` (one 64×64 slice, for fast experiments and
teaching); ``gym.make("segenv:InteractiveSeg3D-v0")`` imports it for you. Submodules load
lazily, so ``import segenv`` stays cheap.
"""

from __future__ import annotations

from typing import Any

from gymnasium.envs.registration import register, registry

__version__ = "0.1.0"
__all__ = ["InteractiveSegEnv", "__version__", "check"]

_ENTRY_POINT = "segenv.envs.interactive_seg:InteractiveSegEnv"
_VECTOR_ENTRY_POINT = "segenv.envs:batched_vector_env"  # torch, loaded only by make_vec
# The 3D id pins no shape: DEFAULT_SHAPE for the synthetic data, the data's own otherwise.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "InteractiveSeg3D-v0": {},
    "InteractiveSeg2D-v0": {"shape": (64, 64)},
}
for _env_id, _kwargs in _DEFAULTS.items():
    if _env_id not in registry:
        register(
            id=_env_id,
            entry_point=_ENTRY_POINT,
            vector_entry_point=_VECTOR_ENTRY_POINT,
            kwargs=_kwargs,
        )


def __getattr__(name: str) -> Any:
    if name == "InteractiveSegEnv":
        from segenv.envs.interactive_seg import InteractiveSegEnv

        return InteractiveSegEnv
    if name == "check":  # segenv.check(env): the module is callable (see segenv/check.py)
        import importlib

        return importlib.import_module("segenv.check")
    raise AttributeError(f"module 'segenv' has no attribute {name!r}")
