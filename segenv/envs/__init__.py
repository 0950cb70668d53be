"""Gymnasium environments of segenv."""

from segenv.envs.interactive_seg import InteractiveSegEnv

__all__ = ["InteractiveSegEnv"]
