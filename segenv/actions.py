"""Action sets and the action update of eq 2: ``p ← clip(p + A[a], 0, 1)``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segenv.errors import ConfigError, InputTypeError, describe

#: The action sets of IteR-MRL Table 4 by name; ``"paper"`` is the default ±0.1/0.2/0.4.
ACTION_SETS: dict[str, tuple[float, ...]] = {
    "1.0": (-1.0, 1.0),
    "0.4": (-0.4, 0.4),
    "0.2": (-0.2, 0.2),
    "0.1": (-0.1, 0.1),
    "0.1+0.2": (-0.2, -0.1, 0.1, 0.2),
    "0.1+0.2+0.4": (-0.4, -0.2, -0.1, 0.1, 0.2, 0.4),
    "0.1+0.2+0.4+1.0": (-1.0, -0.4, -0.2, -0.1, 0.1, 0.2, 0.4, 1.0),
    # not in the papers: their set plus a "hold" action (0), as PixelRL's "do nothing"
    "0.1+0.2+0.4+hold": (-0.4, -0.2, -0.1, 0.0, 0.1, 0.2, 0.4),
}
ACTION_SETS["paper"] = ACTION_SETS["0.1+0.2+0.4"]


def resolve_action_set(actions: str | Sequence[float]) -> np.ndarray:
    """The action deltas as a float32 array ``(K,)`` from a name or a sequence of floats.

    Custom sets may contain any finite deltas in [-1, 1] (a zero action is allowed but the
    papers leave it out, MECCA §3.1); duplicates are rejected.
    """
    if isinstance(actions, str):
        if actions not in ACTION_SETS:
            raise ConfigError(
                f"unknown action set actions={actions!r}; known: {', '.join(ACTION_SETS)}, "
                "or pass a sequence of deltas such as (-0.2, 0.2)"
            )
        return np.asarray(ACTION_SETS[actions], dtype=np.float32)
    try:
        deltas = np.asarray(actions, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputTypeError(
            f"actions= must be a name or a sequence of floats, got {describe(actions)}"
        ) from None
    if deltas.ndim != 1 or deltas.size < 2:
        raise ConfigError(f"actions= needs at least two deltas in a flat sequence, got {actions!r}")
    if not np.isfinite(deltas).all() or np.abs(deltas).max() > 1.0:
        raise ConfigError(f"actions= deltas must be finite and within [-1, 1], got {actions!r}")
    if np.unique(deltas).size != deltas.size:
        raise ConfigError(f"actions= contains duplicate deltas: {actions!r}")
    return deltas.astype(np.float32)


def apply_action(probability: np.ndarray, action: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """Eq 2: every voxel adds its chosen delta to its probability, clipped to [0, 1].

    Args:
        probability: float32 ``(..., D, H, W)`` in [0, 1].
        action: integer indices into ``deltas``, same shape as ``probability``.
        deltas: float32 ``(K,)`` action set.
    """
    updated = probability + deltas[action]
    return np.clip(updated, 0.0, 1.0, out=updated)


def validate_action(action: object, shape: tuple[int, ...], num_actions: int) -> np.ndarray:
    """Check a joint action and return it as an integer array of ``shape``.

    Raises a clear error for a wrong shape, a non-integer dtype or an index outside ``[0, K)``.
    """
    array = np.asarray(action)
    if array.shape != shape:
        raise ConfigError(
            f"action has shape {array.shape}, expected {shape} (one action index per voxel); "
            "sample one with env.action_space.sample()"
        )
    if array.dtype.kind not in "iu":
        if array.dtype.kind == "f" and np.array_equal(array, np.round(array)):
            array = array.astype(np.int64)
        else:
            raise InputTypeError(
                f"action must hold integer indices into the action set, got {describe(array)}"
            )
    low, high = int(array.min()), int(array.max())
    if low < 0 or high >= num_actions:
        raise ConfigError(
            f"action indices must lie in [0, {num_actions}) for this action set, "
            f"got values in [{low}, {high}]"
        )
    return array
