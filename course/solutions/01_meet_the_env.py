"""Reference solution of step 1 (meet the environment). Try the exercise before reading it."""

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
    prediction = observation[-3] >= 0.5
    truth = np.asarray(label, dtype=bool)
    total = int(prediction.sum()) + int(truth.sum())
    if total == 0:
        return 1.0
    return 2.0 * int((prediction & truth).sum()) / total


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
    deltas = np.asarray(deltas, dtype=float)
    probability, hint_pos, hint_neg = observation[-3], observation[-2], observation[-1]
    up_small = int(np.argmin(np.where(deltas > 0, deltas, np.inf)))
    down_small = int(np.argmax(np.where(deltas < 0, deltas, -np.inf)))
    action = np.where(probability >= 0.5, up_small, down_small)
    lead = hint_pos - hint_neg
    action = np.where(lead > margin, int(np.argmax(deltas)), action)
    return np.where(lead < -margin, int(np.argmin(deltas)), action).astype(np.int64)


def click_summary(info: Mapping[str, Any]) -> dict[str, int]:
    """Count the clicks of an env ``info``: ``{"object": .., "background": .., "total": ..}``."""
    labels = np.asarray(info["clicks"]["labels"], dtype=bool)
    return {
        "object": int(labels.sum()),
        "background": int((~labels).sum()),
        "total": int(labels.size),
    }
