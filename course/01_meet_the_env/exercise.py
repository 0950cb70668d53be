"""Step 1 exercise: read the environment's observation and info yourself.

Fill in the three functions below (replace each ``raise NotImplementedError``), then run the
checks from the project root::

    pytest course/01_meet_the_env

Everything you need is in this step's README.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def foreground_dice(observation: np.ndarray, label: np.ndarray) -> float:
    """Dice of the observation's segmentation ``p >= 0.5`` against ``label``.

    Args:
        observation: ``(C, *spatial)``, channels ``[image.., p, h+, h-]``: ``p`` is
            ``observation[-3]``.
        label: Bool ground truth of shape ``spatial``.

    Returns:
        ``2|P∩G| / (|P| + |G|)``; 1.0 when both masks are empty.
    """
    # TODO: threshold p at 0.5, then count the overlap and both mask sizes with numpy.
    raise NotImplementedError("step 1: write foreground_dice")


def hint_action(
    observation: np.ndarray, deltas: Sequence[float], margin: float = 0.3
) -> np.ndarray:
    """One action index per voxel that follows the user's hints.

    Where the object hint leads (``h+ - h- > margin``) take the largest positive delta, where
    the background hint leads (``h- - h+ > margin``) the largest negative delta; elsewhere the
    smallest step that keeps the voxel on its side of 0.5 (``+`` if ``p >= 0.5``, else ``-``).

    Args:
        observation: ``(C, *spatial)``, channels ``[image.., p, h+, h-]``.
        deltas: The env's action set (``env.unwrapped.deltas``).
        margin: How far one hint must lead the other.

    Returns:
        Integer indices into ``deltas``, shape ``spatial``.
    """
    # TODO: find the four indices (largest/smallest positive and negative delta) with
    # np.argmax / np.argmin, then build the action map with np.where — no loop over voxels.
    raise NotImplementedError("step 1: write hint_action")


def click_summary(info: Mapping[str, Any]) -> dict[str, int]:
    """Count the clicks of an env ``info``: ``{"object": .., "background": .., "total": ..}``."""
    # TODO: info["clicks"]["labels"] holds one bool per click (True = object click).
    raise NotImplementedError("step 1: write click_summary")
