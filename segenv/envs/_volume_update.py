"""The dense half of one volume's step on the host: eq 2, the cross-entropies and the gain.

The batched env's CPU path calls :func:`update_volume` once per volume on its worker threads
(numba kernels that release the GIL, and numpy's ``log``). It repeats the reference env's numpy
arithmetic exactly: the same float32 operations in the same order
(:func:`segenv.actions.apply_action`, :func:`segenv.rewards.cross_entropy`) and numpy's own
``log``, so probabilities, cross-entropies and gains equal the reference env's bit for bit. One
pass over the volume replaces numpy's several, and it also counts the voxels that Dice needs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uintp

from segenv.errors import InputTypeError

__all__ = ["indices_in_range", "update_volume"]


@njit(cache=True, nogil=True)
def _any_out_of_range(action: np.ndarray, num_actions: int) -> bool:  # pragma: no cover
    """True when an index of ``action`` is outside ``[0, num_actions)`` (vectorised)."""
    limit = uintp(num_actions)
    bad = False
    for i in range(action.size):
        bad |= uintp(action[i]) >= limit  # a negative index wraps to a huge one
    return bad


@njit(cache=True, nogil=True)
def _update_probability(
    previous: np.ndarray,
    action: np.ndarray,
    deltas: np.ndarray,
    label: np.ndarray,
    low: np.float32,
    high: np.float32,
    current: np.ndarray,
    p_true: np.ndarray,
    prediction: np.ndarray,
) -> tuple[int, int]:  # pragma: no cover - compiled
    """``current = clip(previous + deltas[action], 0, 1)``, ``p_true = clip(p of the truth)``.

    All arrays flat; ``low``/``high`` the float32 clipping bounds of the cross-entropy.
    Also writes ``prediction = current >= 0.5`` and returns the counts of predicted voxels and
    of predicted foreground voxels (for Dice).
    """
    for ii in range(action.size):  # the gather on its own: the loop below then vectorises
        i = uintp(ii)
        current[i] = deltas[uintp(action[i])]
    predicted = 0
    overlap = 0
    zero, one, half = np.float32(0.0), np.float32(1.0), np.float32(0.5)
    for ii in range(previous.size):
        i = uintp(ii)
        value = min(max(previous[i] + current[i], zero), one)
        current[i] = value
        truth = label[i]
        of_truth = value if truth else one - value
        p_true[i] = min(max(of_truth, low), high)
        predicted_here = value >= half
        prediction[i] = predicted_here
        predicted += predicted_here
        overlap += predicted_here & truth
    return predicted, overlap


@njit(cache=True, nogil=True)
def _negate_and_gain(
    ce_previous: np.ndarray, ce_current: np.ndarray, gain: np.ndarray
) -> None:  # pragma: no cover - compiled
    """``ce_current = -ce_current`` (it arrives holding ``log p_true``); ``gain = ce_prev - it``."""
    for ii in range(ce_current.size):
        i = uintp(ii)
        value = -ce_current[i]
        ce_current[i] = value
        gain[i] = ce_previous[i] - value


def indices_in_range(action: np.ndarray, num_actions: int) -> bool:
    """True when every index of the C-contiguous integer array ``action`` is in ``[0, K)``."""
    return not _any_out_of_range(_flat(action, "action"), num_actions)


def update_volume(
    previous: np.ndarray,
    action: np.ndarray,
    deltas: np.ndarray,
    label: np.ndarray,
    eps: float,
    *,
    current: np.ndarray,
    ce_previous: np.ndarray,
    ce_current: np.ndarray,
    gain: np.ndarray,
    prediction: np.ndarray,
    in_range: bool = False,
) -> tuple[int, int] | None:
    """One volume's action update (eq 2), cross-entropy (eq 4) and gain (eq 3), in place.

    Args:
        previous: float32 ``(D, H, W)`` probability before the action (C-contiguous).
        action: int64 ``(D, H, W)`` indices into ``deltas`` (C-contiguous).
        deltas: float32 ``(K,)`` action set.
        label: bool ``(D, H, W)`` ground truth.
        eps: the cross-entropy's clipping ε.
        current: float32 ``(D, H, W)`` output, the probability after the action.
        ce_previous: float32 cross-entropy of ``previous``.
        ce_current: float32 output, the cross-entropy of ``current``.
        gain: float32 output, ``ce_previous - ce_current``.
        prediction: bool output, ``current >= 0.5``.
        in_range: True when the caller has already checked that every index of ``action``
            is in ``[0, K)`` (the batched env checks a whole batch in one pass); False
            checks here first.

    Returns:
        ``(predicted, overlap)``: the voxel counts of ``current >= 0.5`` and of its overlap with
        ``label``; None (and no output written) if an index is outside ``[0, K)``.
    """
    flat_action = _flat(action, "action")
    if not in_range and _any_out_of_range(flat_action, deltas.size):
        return None
    p_true = _flat(ce_current, "ce_current")
    counts = _update_probability(
        _flat(previous, "previous"),
        flat_action,
        deltas,
        _flat(label, "label"),
        np.float32(eps),  # numpy's clip casts the Python bounds to float32 the same way
        np.float32(1.0 - eps),
        _flat(current, "current"),
        p_true,
        _flat(prediction, "prediction"),
    )
    np.log(p_true, out=p_true)
    _negate_and_gain(_flat(ce_previous, "ce_previous"), p_true, _flat(gain, "gain"))
    return int(counts[0]), int(counts[1])


def _flat(array: np.ndarray, name: str) -> np.ndarray:
    """A flat view of a C-contiguous array (a reshape of any other would copy, losing writes)."""
    if not array.flags.c_contiguous:
        raise InputTypeError(
            f"update_volume: {name} must be C-contiguous, got strides {array.strides}; "
            "pass np.ascontiguousarray(...)"
        )
    return array.reshape(-1)
