"""Moved to :mod:`segenv.envs.episode`; this import path keeps working."""

from __future__ import annotations

from segenv.envs.episode import (
    EncoderCache,
    EpisodeRules,
    EpisodeStart,
    HintUpdate,
    VolumeEpisode,
    interact,
    pick_case,
    start_episode,
)

__all__ = [
    "EncoderCache",
    "EpisodeRules",
    "EpisodeStart",
    "HintUpdate",
    "VolumeEpisode",
    "interact",
    "pick_case",
    "start_episode",
]
