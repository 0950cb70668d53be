"""Segmentation and interaction metrics: Dice, surface distances, clicks to reach a Dice.

Each metric has a functional form (``dice``, ``assd``, ``normalized_surface_dice``, ``noc``,
``interaction_auc``, ``false_positive_volume``, ...) and the episode-level results accumulate
in :class:`InteractiveMetrics` (Dice and NSD per step, DSC_AUC / NSD_AUC, NoC@85/90, final
ASSD, lesion component volumes, time per interaction step).

The metrics of current interactive 3D evaluation (SPEC §10):

* **NSD** (:func:`normalized_surface_dice`): the fraction of both masks' surface voxels that lie
  within ``tolerance_mm`` (2 mm by default) of the other mask's surface. Surface voxels and
  distances are those of :func:`assd`, so it agrees with MONAI's ``compute_surface_dice``
  (``use_subvoxels=False``), which the tests use as an oracle. The CVPR 2025 interactive 3D
  challenge evaluator uses DeepMind's ``surface-distance`` instead, which weighs each boundary
  element by its surfel area; on the same masks the two can differ by a few points.
* **The CVPR 2025 protocol** ("Foundation Models for Interactive 3D Biomedical Image
  Segmentation", ``CVPR25_iter_eval.py`` of ``JunMa11/CVPR-MedSegFMCompetition``): per step the
  DSC and the NSD at 2 mm, the NSD set to 0 where the DSC is ≤ 0.2 (:func:`interactive_nsd`);
  DSC_AUC and NSD_AUC, the trapezoidal area (``scipy.integrate.cumulative_trapezoid``, unit
  spacing) over the values after each click step, without the initial prediction
  (:func:`interaction_auc`; the evaluator integrates ``dscs[-n_clicks:]``, so the area of T
  steps lies in ``[0, T - 1]``); the final DSC and NSD; the time per interaction step.
* **autoPET IV lesion volumes** (:func:`false_positive_volume`, :func:`false_negative_volume`):
  the volume of the predicted components that touch no true component, and of the true
  components that no predicted component touches, with 18-connectivity (8 in-plane for a
  ``D = 1`` volume) as the autoPET evaluator labels them; in mm³ (the evaluator reports ml =
  mm³ / 1000).

Conventions (SPEC §10):

* Masks are binary arrays of equal shape, any number of axes; volumes use ``(D, H, W)``.
  Only ``bool`` or integer 0/1 arrays are accepted: a probability map is never thresholded
  silently, binarise it yourself (``p >= 0.5``).
* Empty masks: Dice of two empty masks is 1.0 (perfect agreement), of one empty mask 0.0.
  Surface distances of two empty masks are 0.0, of exactly one empty mask ``inf``.
* Surface voxels are the mask minus its erosion (face connectivity by default); voxels on the
  border of the array count as surface. Axes of length 1 are not eroded along, so a
  ``(1, H, W)`` volume behaves as the 2D image it is.
* Distances are in mm: ``spacing`` gives the voxel size along each axis.
* NSD of two empty masks is 1.0 (nothing to disagree on, as the Dice), of exactly one empty
  mask 0.0 (MONAI returns NaN for two empty masks; the CVPR evaluator never scores them).
* Lesion volumes: an empty prediction has no false-positive volume, an empty truth no
  false-negative volume; with both empty both are 0.0.
* NoC@t (clicks to reach Dice t) follows the interactive-segmentation convention: the number of
  clicks given when Dice first reaches ``t``; the whole click budget when it never does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import integrate, ndimage

from segenv.errors import ConfigError, DataError, InputTypeError, describe

__all__ = [
    "InteractiveMetrics",
    "assd",
    "clicks_to_reach",
    "dice",
    "dice_batch",
    "false_negative_volume",
    "false_positive_volume",
    "hausdorff95",
    "interaction_auc",
    "interactive_nsd",
    "markdown_table",
    "noc",
    "normalized_surface_dice",
    "surface_distances",
    "surface_voxels",
]

DEFAULT_NOC_THRESHOLDS: tuple[float, ...] = (0.85, 0.90)
NSD_TOLERANCE_MM = 2.0
"""The NSD tolerance of the CVPR 2025 interactive 3D challenge, in mm."""
NSD_DICE_FLOOR = 0.2
"""The CVPR 2025 evaluator scores the NSD of a prediction 0 where its DSC is ≤ this."""
LESION_CONNECTIVITY = 2
"""Components of the lesion volumes: 18-connectivity in 3D, as autoPET's evaluator labels them."""


# --------------------------------------------------------------------------------------------
# input validation


def _as_binary(mask: Any, argument: str) -> np.ndarray:
    """``mask`` as a bool array; bool or integer 0/1 only (no silent thresholding)."""
    array = np.asarray(mask)
    if array.dtype == bool:
        return array
    if array.dtype.kind in "iu":
        if not ((array == 0) | (array == 1)).all():
            raise DataError(
                f"{argument} must contain only 0 and 1, got values in "
                f"[{array.min()}, {array.max()}]; binarise it first (e.g. `{argument} > 0`)"
            )
        return array.astype(bool)
    if array.dtype.kind == "f":
        raise InputTypeError(
            f"{argument} must be a bool or integer 0/1 mask, got {describe(array)}; "
            f"probabilities are not thresholded silently: pass `{argument} >= 0.5`"
        )
    raise InputTypeError(f"{argument} must be a bool or integer 0/1 mask, got {describe(array)}")


def _as_binary_pair(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate two masks of the same shape."""
    pred_mask = _as_binary(pred, "pred")
    target_mask = _as_binary(target, "target")
    if pred_mask.shape != target_mask.shape:
        raise ConfigError(
            f"pred and target must have the same shape, got pred {pred_mask.shape} and "
            f"target {target_mask.shape}; resample one onto the other's grid"
        )
    return pred_mask, target_mask


def _as_spacing(spacing: Sequence[float] | None, ndim: int) -> tuple[float, ...]:
    """Validate a voxel spacing with one positive finite value per axis (None: all 1 mm)."""
    if spacing is None:
        return (1.0,) * ndim
    try:
        values = np.asarray(spacing, dtype=float)
    except (TypeError, ValueError) as error:
        raise InputTypeError(
            f"spacing must be a sequence of {ndim} numbers, got {describe(spacing)}"
        ) from error
    if values.shape != (ndim,):
        raise ConfigError(
            f"spacing must have one value per mask axis ({ndim}), got {describe(spacing)}; "
            "pass the voxel size in mm along every axis"
        )
    if not (np.isfinite(values).all() and (values > 0).all()):
        raise ConfigError(
            f"spacing must be positive and finite, got {tuple(values.tolist())}; "
            "pass the voxel size in mm (e.g. (1.0, 1.0, 1.0))"
        )
    return tuple(values.tolist())


def _as_dice_series(dice_per_step: Any, argument: str = "dice_per_step") -> np.ndarray:
    """Validate values per step: a non-empty 1D sequence of finite fractions in [0, 1]."""
    try:
        values = np.asarray(dice_per_step, dtype=float)
    except (TypeError, ValueError) as error:
        raise InputTypeError(
            f"{argument} must be a sequence of numbers, got {describe(dice_per_step)}"
        ) from error
    if values.ndim != 1 or values.size == 0:
        raise ConfigError(
            f"{argument} must be a non-empty 1D sequence (the value before any click, then "
            f"after every step), got {describe(values)}"
        )
    if not np.isfinite(values).all():
        raise DataError(f"{argument} contains NaN or Inf: {values.tolist()}")
    if values.min() < 0.0 or values.max() > 1.0:
        raise DataError(
            f"{argument} must be fractions in [0, 1], got {values.tolist()}; "
            "divide percentages by 100"
        )
    return values


def _as_clicks_schedule(clicks_per_step: Any, num_steps: int) -> np.ndarray:
    """Clicks given at each of ``num_steps`` steps, broadcasting a single int."""
    values = np.asarray(clicks_per_step)
    if values.dtype.kind not in "iu" and not (
        values.dtype.kind == "f"
        and np.isfinite(values).all()
        and (values == np.round(values)).all()
    ):
        raise InputTypeError(
            f"clicks_per_step must be an int or a sequence of ints, got {describe(clicks_per_step)}"
        )
    values = values.astype(np.int64)
    if values.ndim == 0:
        values = np.full(num_steps, int(values), dtype=np.int64)
    if values.shape != (num_steps,):
        raise ConfigError(
            f"clicks_per_step must be an int or have one entry per step ({num_steps} = "
            f"len(dice_per_step) - 1), got {describe(clicks_per_step)}; entry k is the number of "
            "clicks given after dice_per_step[k] was measured"
        )
    if (values < 0).any():
        raise ConfigError(f"clicks_per_step must be >= 0, got {values.tolist()}")
    return values


def _as_threshold(threshold: Any) -> float:
    """Validate a Dice threshold in (0, 1]."""
    try:
        value = float(threshold)
    except (TypeError, ValueError) as error:
        raise InputTypeError(f"threshold must be a number, got {describe(threshold)}") from error
    if not 0.0 < value <= 1.0:
        raise ConfigError(
            f"threshold must be a Dice fraction in (0, 1], got {threshold!r}; e.g. 0.85 for NoC@85"
        )
    return value


# --------------------------------------------------------------------------------------------
# overlap


def dice(pred: Any, target: Any) -> float:
    """Dice coefficient ``2|P∩G| / (|P|+|G|)`` of two binary masks.

    Args:
        pred: Predicted mask, bool or integer 0/1, any shape (e.g. ``p >= 0.5``).
        target: Ground-truth mask of the same shape.

    Returns:
        The Dice in [0, 1]; 1.0 when both masks are empty.
    """
    pred_mask, target_mask = _as_binary_pair(pred, target)
    total = np.count_nonzero(pred_mask) + np.count_nonzero(target_mask)
    if total == 0:
        return 1.0
    return 2.0 * np.count_nonzero(pred_mask & target_mask) / total


def dice_batch(pred: Any, target: Any) -> np.ndarray:
    """Dice of every item of a batch of masks, vectorised.

    Args:
        pred: Predicted masks ``(B, ...)``, bool or integer 0/1.
        target: Ground-truth masks of the same shape.

    Returns:
        float64 ``(B,)``; 1.0 where both masks of an item are empty.
    """
    pred_mask, target_mask = _as_binary_pair(pred, target)
    if pred_mask.ndim < 1:
        raise ConfigError(f"pred and target need a leading batch axis, got shape {pred_mask.shape}")
    batch = pred_mask.shape[0]
    pred_flat = pred_mask.reshape(batch, -1)
    target_flat = target_mask.reshape(batch, -1)
    overlap = np.count_nonzero(pred_flat & target_flat, axis=1)
    total = np.count_nonzero(pred_flat, axis=1) + np.count_nonzero(target_flat, axis=1)
    both_empty = total == 0
    return np.where(both_empty, 1.0, 2.0 * overlap / np.maximum(total, 1))


# --------------------------------------------------------------------------------------------
# surface distances


def _erosion_structure(shape: tuple[int, ...], connectivity: int) -> np.ndarray:
    """Build a neighbourhood of the given connectivity that ignores the axes of length 1."""
    structure = ndimage.generate_binary_structure(len(shape), connectivity)
    centre_on_flat_axes = tuple(slice(1, 2) if size == 1 else slice(None) for size in shape)
    return structure[centre_on_flat_axes]


def surface_voxels(mask: Any, connectivity: int = 1) -> np.ndarray:
    """Boundary voxels of a mask: the mask minus its erosion.

    Args:
        mask: Binary mask, bool or integer 0/1, any shape.
        connectivity: Neighbourhood of the erosion, 1 (faces) to ``mask.ndim`` (corners).
            Axes of length 1 are not eroded along (a ``(1, H, W)`` volume is a 2D image);
            voxels on the array border count as surface.

    Returns:
        A bool array of the mask's shape, True on the surface.
    """
    binary = _as_binary(mask, "mask")
    if isinstance(connectivity, bool) or not isinstance(connectivity, (int, np.integer)):
        raise InputTypeError(f"connectivity must be an int, got {describe(connectivity)}")
    if binary.ndim == 0 or not 1 <= connectivity <= binary.ndim:
        raise ConfigError(
            f"connectivity must be in [1, mask.ndim = {binary.ndim}], got {connectivity}; "
            "use 1 for face neighbours"
        )
    structure = _erosion_structure(binary.shape, int(connectivity))
    eroded = ndimage.binary_erosion(binary, structure=structure, border_value=0)
    return binary & ~eroded


def _bounding_box(mask: np.ndarray) -> tuple[slice, ...]:
    """Find the smallest box holding every True voxel of a non-empty mask."""
    slices = []
    for axis in range(mask.ndim):
        other_axes = tuple(a for a in range(mask.ndim) if a != axis)
        present = np.flatnonzero(mask.any(axis=other_axes))
        slices.append(slice(int(present[0]), int(present[-1]) + 1))
    return tuple(slices)


def surface_distances(
    pred: Any,
    target: Any,
    spacing: Sequence[float] | None = None,
    connectivity: int = 1,
) -> tuple[np.ndarray, np.ndarray] | None:
    """Distances (mm) from each surface voxel of one mask to the other mask's surface.

    Args:
        pred: Predicted mask, bool or integer 0/1.
        target: Ground-truth mask of the same shape.
        spacing: Voxel size in mm along each axis; None means 1 mm everywhere.
        connectivity: Neighbourhood defining surface voxels (see :func:`surface_voxels`).

    Returns:
        ``(pred_to_target, target_to_pred)``, or None when either mask is empty (the callers
        apply the empty-mask policy).
    """
    pred_mask, target_mask = _as_binary_pair(pred, target)
    sampling = _as_spacing(spacing, pred_mask.ndim)
    if not (pred_mask.any() and target_mask.any()):
        return None
    pred_surface = surface_voxels(pred_mask, connectivity)
    target_surface = surface_voxels(target_mask, connectivity)
    # Every source and target point lies inside the joint box, so cropping is exact.
    box = _bounding_box(pred_surface | target_surface)
    pred_surface, target_surface = pred_surface[box], target_surface[box]
    to_target = ndimage.distance_transform_edt(~target_surface, sampling=sampling)
    to_pred = ndimage.distance_transform_edt(~pred_surface, sampling=sampling)
    return to_target[pred_surface], to_pred[target_surface]


def _empty_mask_distance(pred: Any, target: Any) -> float:
    """Return the surface distance when a mask is empty: 0.0 for both, inf for one."""
    both_empty = not np.asarray(pred).any() and not np.asarray(target).any()
    return 0.0 if both_empty else float("inf")


def assd(
    pred: Any,
    target: Any,
    spacing: Sequence[float] | None = None,
    connectivity: int = 1,
) -> float:
    """Average symmetric surface distance in mm.

    The mean, over the surface voxels of both masks, of the distance to the other mask's
    surface: ``(Σ d(P→G) + Σ d(G→P)) / (|∂P| + |∂G|)``.

    Args:
        pred: Predicted mask, bool or integer 0/1, ``(D, H, W)`` or any shape.
        target: Ground-truth mask of the same shape.
        spacing: Voxel size in mm along each axis; None means 1 mm everywhere.
        connectivity: Neighbourhood defining surface voxels (see :func:`surface_voxels`).

    Returns:
        The ASSD; 0.0 when both masks are empty, ``inf`` when exactly one is.
    """
    distances = surface_distances(pred, target, spacing, connectivity)
    if distances is None:
        return _empty_mask_distance(pred, target)
    pred_to_target, target_to_pred = distances
    total = pred_to_target.sum() + target_to_pred.sum()
    return float(total / (pred_to_target.size + target_to_pred.size))


def hausdorff95(
    pred: Any,
    target: Any,
    spacing: Sequence[float] | None = None,
    connectivity: int = 1,
) -> float:
    """95th percentile Hausdorff distance in mm.

    The 95th percentile of the pooled surface distances of both directions (the MedPy
    convention), which ignores the 5 % most distant outlying surface voxels.

    Args:
        pred: Predicted mask, bool or integer 0/1.
        target: Ground-truth mask of the same shape.
        spacing: Voxel size in mm along each axis; None means 1 mm everywhere.
        connectivity: Neighbourhood defining surface voxels (see :func:`surface_voxels`).

    Returns:
        The HD95; 0.0 when both masks are empty, ``inf`` when exactly one is.
    """
    distances = surface_distances(pred, target, spacing, connectivity)
    if distances is None:
        return _empty_mask_distance(pred, target)
    return float(np.percentile(np.concatenate(distances), 95))


def _as_tolerance(tolerance_mm: Any) -> float:
    """Validate an NSD tolerance: a finite number of mm, >= 0."""
    try:
        value = float(tolerance_mm)
    except (TypeError, ValueError) as error:
        raise InputTypeError(
            f"tolerance_mm must be a number of mm, got {describe(tolerance_mm)}"
        ) from error
    if not (np.isfinite(value) and value >= 0.0):
        raise ConfigError(
            f"tolerance_mm must be a finite distance >= 0 in mm, got {tolerance_mm!r}; "
            "the CVPR 2025 challenge uses 2.0"
        )
    return value


def normalized_surface_dice(
    pred: Any,
    target: Any,
    spacing: Sequence[float] | None = None,
    tolerance_mm: float = NSD_TOLERANCE_MM,
    connectivity: int = 1,
) -> float:
    """Normalised surface Dice (NSD, surface Dice at a tolerance) of two binary masks.

    ``(|{p ∈ ∂P : d(p, ∂G) ≤ τ}| + |{g ∈ ∂G : d(g, ∂P) ≤ τ}|) / (|∂P| + |∂G|)``: the fraction of
    the surface voxels of both masks (:func:`surface_voxels`) that lie within ``τ`` mm of the
    other mask's surface (distances between voxel centres, with the spacing, as :func:`assd`).
    This is the voxel-counting NSD of MONAI's ``compute_surface_dice``; DeepMind's
    ``surface-distance`` (used by the CVPR 2025 evaluator) weighs each boundary element by its
    surfel area instead.

    Args:
        pred: Predicted mask, bool or integer 0/1, ``(D, H, W)`` or any shape.
        target: Ground-truth mask of the same shape.
        spacing: Voxel size in mm along each axis; None means 1 mm everywhere.
        tolerance_mm: The tolerance τ in mm (the CVPR 2025 challenge: 2.0); inclusive.
        connectivity: Neighbourhood defining surface voxels (see :func:`surface_voxels`).

    Returns:
        The NSD in [0, 1]; 1.0 when both masks are empty, 0.0 when exactly one is.
    """
    tolerance = _as_tolerance(tolerance_mm)
    distances = surface_distances(pred, target, spacing, connectivity)
    if distances is None:
        return 1.0 if _empty_mask_distance(pred, target) == 0.0 else 0.0
    pred_to_target, target_to_pred = distances
    within = np.count_nonzero(pred_to_target <= tolerance) + np.count_nonzero(
        target_to_pred <= tolerance
    )
    return float(within / (pred_to_target.size + target_to_pred.size))


def interactive_nsd(
    pred: Any,
    target: Any,
    spacing: Sequence[float] | None = None,
    *,
    tolerance_mm: float = NSD_TOLERANCE_MM,
    dice_floor: float = NSD_DICE_FLOOR,
    dice_value: float | None = None,
) -> float:
    """The NSD as the CVPR 2025 interactive 3D evaluator scores one prediction.

    ``normalized_surface_dice(pred, target, spacing, tolerance_mm)`` where the Dice of the
    two masks is above ``dice_floor``, else 0.0 (the evaluator: "only compute nsd when dice >
    0.2 because NSD is also low when dice is too low").

    Args:
        pred: Predicted mask, bool or integer 0/1.
        target: Ground-truth mask of the same shape.
        spacing: Voxel size in mm along each axis; None means 1 mm everywhere.
        tolerance_mm: The NSD tolerance in mm.
        dice_floor: At or below this Dice the NSD counts as 0; 0.0 disables the rule except
            for a Dice of exactly 0.
        dice_value: The Dice of ``pred`` and ``target`` if already known (saves a pass).

    Returns:
        The NSD in [0, 1] (1.0 for two empty masks, whose Dice is 1.0).
    """
    floor = float(dice_floor)
    if not 0.0 <= floor < 1.0:
        raise ConfigError(
            f"dice_floor must be in [0, 1), got {dice_floor!r}; the CVPR 2025 uses 0.2"
        )
    overlap = dice(pred, target) if dice_value is None else float(dice_value)
    if overlap <= floor:
        return 0.0
    return normalized_surface_dice(pred, target, spacing, tolerance_mm)


# --------------------------------------------------------------------------------------------
# lesion components (autoPET)


def _component_structure(ndim: int, connectivity: int) -> np.ndarray:
    """The labelling neighbourhood of ``connectivity`` >= 1 (2 = 18 in 3D, 8 in 2D).

    A connectivity above ``ndim`` means all neighbours (so the default 2 works on 1D masks).
    """
    if isinstance(connectivity, bool) or not isinstance(connectivity, (int, np.integer)):
        raise InputTypeError(f"connectivity must be an int, got {describe(connectivity)}")
    if ndim == 0 or connectivity < 1:
        raise ConfigError(
            f"connectivity must be >= 1 on a mask with at least one axis, got {connectivity} "
            f"for mask.ndim = {ndim}; autoPET's evaluator uses 2 (18-connectivity in 3D)"
        )
    return ndimage.generate_binary_structure(ndim, min(int(connectivity), ndim))


def _untouched_volume(
    components_of: np.ndarray, other: np.ndarray, spacing: Any, connectivity: int
) -> float:
    """Volume (mm³) of the components of ``components_of`` that share no voxel with ``other``."""
    sampling = _as_spacing(spacing, components_of.ndim)
    structure = _component_structure(components_of.ndim, connectivity)
    if not components_of.any():
        return 0.0
    labels, count = ndimage.label(components_of, structure=structure)
    touched = np.zeros(count + 1, dtype=bool)
    touched[labels[components_of & other]] = True
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    voxels = int(sizes[1:][~touched[1:]].sum())
    return float(voxels * np.prod(sampling))


def false_positive_volume(
    pred: Any,
    target: Any,
    spacing: Sequence[float] | None = None,
    connectivity: int = LESION_CONNECTIVITY,
) -> float:
    """Volume (mm³) of the predicted components that touch no true component (autoPET).

    The prediction is split into connected components (``connectivity`` as in
    ``scipy.ndimage.generate_binary_structure``: 2 = 18-connectivity in 3D, the autoPET
    evaluator's); the voxels of those that share no voxel with ``target`` are counted and
    multiplied by the voxel volume.

    Args:
        pred: Predicted mask, bool or integer 0/1, ``(D, H, W)`` or any shape.
        target: Ground-truth mask of the same shape.
        spacing: Voxel size in mm along each axis; None means 1 mm everywhere.
        connectivity: Component neighbourhood, 1 (faces) to ``pred.ndim`` (corners); larger
            values mean corners too.

    Returns:
        The volume in mm³ (divide by 1000 for autoPET's ml); 0.0 for an empty prediction.
    """
    pred_mask, target_mask = _as_binary_pair(pred, target)
    return _untouched_volume(pred_mask, target_mask, spacing, connectivity)


def false_negative_volume(
    pred: Any,
    target: Any,
    spacing: Sequence[float] | None = None,
    connectivity: int = LESION_CONNECTIVITY,
) -> float:
    """Volume (mm³) of the true components that no predicted component touches (autoPET).

    The counterpart of :func:`false_positive_volume`: whole missed lesions, not missed voxels
    of a found lesion.

    Args:
        pred: Predicted mask, bool or integer 0/1, ``(D, H, W)`` or any shape.
        target: Ground-truth mask of the same shape.
        spacing: Voxel size in mm along each axis; None means 1 mm everywhere.
        connectivity: Component neighbourhood, 1 (faces) to ``pred.ndim`` (corners); larger
            values mean corners too.

    Returns:
        The volume in mm³; 0.0 for an empty ground truth.
    """
    pred_mask, target_mask = _as_binary_pair(pred, target)
    return _untouched_volume(target_mask, pred_mask, spacing, connectivity)


# --------------------------------------------------------------------------------------------
# clicks


def clicks_to_reach(
    dice_per_step: Sequence[float] | np.ndarray,
    clicks_per_step: int | Sequence[int] | np.ndarray,
    threshold: float,
    max_clicks: int | None = None,
) -> float:
    """Count the clicks after which the Dice first reaches ``threshold`` (NoC@threshold).

    ``dice_per_step[0]`` is measured before any click and ``dice_per_step[t]`` after step
    ``t``; ``clicks_per_step[k]`` clicks are given after ``dice_per_step[k]`` is measured, so
    ``dice_per_step[t]`` was obtained with ``sum(clicks_per_step[:t])`` clicks. IteR-MRL gives 5
    clicks per step (``clicks_per_step=5``); MECCA 25 at step 0, then 5 per step
    (``[25, 5, 5, 5, 5]``).

    Args:
        dice_per_step: Dice fractions of one episode, length T + 1 ≥ 1.
        clicks_per_step: Clicks per step, an int for all T steps or a sequence of length T.
        threshold: The Dice to reach, in (0, 1] (0.85 for NoC@85).
        max_clicks: The click budget; defaults to ``sum(clicks_per_step)``. A Dice reached only
            with more clicks than the budget counts as never reached.

    Returns:
        The cumulative clicks at the first step with Dice ≥ threshold (0 if already reached
        before any click); the click budget if it is never reached (the interactive
        segmentation convention, which penalises failures by the full budget).
    """
    dice_values = _as_dice_series(dice_per_step)
    schedule = _as_clicks_schedule(clicks_per_step, dice_values.size - 1)
    level = _as_threshold(threshold)
    clicks_so_far = np.concatenate(([0], np.cumsum(schedule)))
    budget = int(clicks_so_far[-1]) if max_clicks is None else _as_budget(max_clicks)
    reached = np.flatnonzero((dice_values >= level) & (clicks_so_far <= budget))
    return float(clicks_so_far[reached[0]] if reached.size else budget)


def _as_budget(max_clicks: Any) -> int:
    """Validate a click budget, a non-negative int."""
    if isinstance(max_clicks, bool) or not isinstance(max_clicks, (int, np.integer)):
        raise InputTypeError(f"max_clicks must be an int or None, got {describe(max_clicks)}")
    if max_clicks < 0:
        raise ConfigError(f"max_clicks must be >= 0, got {max_clicks}")
    return int(max_clicks)


def noc_key(threshold: float) -> str:
    """Name the result of a threshold: 0.85 → ``"NoC@85"``, 0.875 → ``"NoC@87.5"``."""
    return f"NoC@{threshold * 100:g}"


def noc(
    dice_per_step: Sequence[float] | np.ndarray,
    clicks_per_step: int | Sequence[int] | np.ndarray,
    thresholds: Sequence[float] = DEFAULT_NOC_THRESHOLDS,
    max_clicks: int | None = None,
) -> dict[str, float]:
    """NoC at several Dice thresholds (see :func:`clicks_to_reach`).

    Args:
        dice_per_step: Dice fractions of one episode, length T + 1.
        clicks_per_step: Clicks per step, an int or a sequence of length T.
        thresholds: Dice fractions to reach.
        max_clicks: The click budget; defaults to ``sum(clicks_per_step)``.

    Returns:
        ``{"NoC@85": ..., "NoC@90": ...}`` for the default thresholds.
    """
    return {
        noc_key(_as_threshold(threshold)): clicks_to_reach(
            dice_per_step, clicks_per_step, threshold, max_clicks
        )
        for threshold in thresholds
    }


def interaction_auc(
    values_per_step: Sequence[float] | np.ndarray, *, include_initial: bool = False
) -> float:
    """Area under the per-step curve of a metric, as the CVPR 2025 evaluator computes DSC_AUC.

    ``values_per_step[0]`` is measured before any interaction step and ``values_per_step[t]``
    after step ``t``. The area is ``scipy.integrate.cumulative_trapezoid(v, np.arange(len(v)))
    [-1]`` of ``v = values_per_step[1:]``: the evaluator integrates the predictions made with
    clicks, ``dscs[-n_clicks:]`` at x = 0, 1, ..., without the initial (bounding-box)
    prediction. With T steps the area lies in ``[0, T - 1]``. ``include_initial=True``
    integrates all T + 1 values (autoPET IV's DSC AUC, which keeps the initial prediction).

    Args:
        values_per_step: Fractions in [0, 1] (Dice or NSD), length T + 1.
        include_initial: Also integrate the value before any step.

    Returns:
        The area; 0.0 when a single value is integrated (a curve of one point has no area).
    """
    values = _as_dice_series(values_per_step, "values_per_step")
    curve = values if include_initial else values[1:]
    if curve.size < 2:
        return 0.0
    return float(integrate.cumulative_trapezoid(curve, np.arange(curve.size))[-1])


# --------------------------------------------------------------------------------------------
# accumulation over episodes


class InteractiveMetrics:
    """Accumulates the interactive metrics of many episodes and summarises them.

    Feed whole episodes with :meth:`update`, or step by step with :meth:`add_step` and
    :meth:`end_episode`. All episodes must have the same number of steps. Besides the Dice per
    step (and NoC), an episode may report its NSD per step (for NSD_AUC and the final NSD, see
    :func:`interactive_nsd`), its final ASSD, its final false-positive / false-negative lesion
    volumes and the seconds its policy took per interaction step. Example::

        metrics = InteractiveMetrics()
        metrics.update([0.77, 0.84, 0.87], 5, assd=1.9, nsd_per_step=[0.6, 0.7, 0.8])
        print(metrics.table())
    """

    def __init__(
        self,
        thresholds: Sequence[float] = DEFAULT_NOC_THRESHOLDS,
        max_clicks: int | None = None,
        *,
        auc_include_initial: bool = False,
    ) -> None:
        """Create an empty accumulator.

        Args:
            thresholds: Dice fractions of the NoC metrics (default NoC@85 and NoC@90).
            max_clicks: Click budget for NoC; defaults to each episode's total clicks.
            auc_include_initial: Integrate DSC_AUC / NSD_AUC from the value before any step
                (autoPET IV) instead of from the first step's (CVPR 2025, the default); see
                :func:`interaction_auc`.
        """
        self.thresholds = tuple(_as_threshold(threshold) for threshold in thresholds)
        self.max_clicks = None if max_clicks is None else _as_budget(max_clicks)
        self.auc_include_initial = bool(auc_include_initial)
        self.reset()

    def reset(self) -> None:
        """Forget every episode (and any episode in progress)."""
        self._dice: list[np.ndarray] = []
        self._clicks: list[np.ndarray] = []
        self._noc: list[dict[str, float]] = []
        self._assd: list[float] = []
        self._nsd: list[np.ndarray] = []
        self._false_positive: list[float] = []
        self._false_negative: list[float] = []
        self._seconds: list[float] = []
        self._open_dice: list[float] = []
        self._open_clicks: list[int] = []
        self._open_nsd: list[float] = []

    def __len__(self) -> int:
        """Return the number of finished episodes."""
        return len(self._dice)

    def update(
        self,
        dice_per_step: Sequence[float] | np.ndarray,
        clicks_per_step: int | Sequence[int] | np.ndarray,
        assd: float | None = None,
        *,
        nsd_per_step: Sequence[float] | np.ndarray | None = None,
        false_positive_volume: float | None = None,
        false_negative_volume: float | None = None,
        seconds_per_step: float | None = None,
    ) -> None:
        """Record one finished episode.

        Args:
            dice_per_step: Dice fractions before any click, then after every step (T + 1).
            clicks_per_step: Clicks per step, an int or a sequence of length T (see
                :func:`clicks_to_reach`).
            assd: The episode's final ASSD in mm, if measured (``inf`` is kept as is).
            nsd_per_step: NSD fractions at the same points as the Dice (T + 1), if measured
                (as scored by :func:`interactive_nsd`, or plain :func:`normalized_surface_dice`).
            false_positive_volume: The final prediction's false-positive component volume in
                mm³ (:func:`false_positive_volume`), if measured.
            false_negative_volume: The final false-negative component volume in mm³.
            seconds_per_step: The mean time per interaction step in seconds (the policy's time
                to act on one step of this episode), if measured.
        """
        if self._open_dice:
            raise ConfigError(
                "an episode fed with add_step() is still open; call end_episode() before update()"
            )
        dice_values = _as_dice_series(dice_per_step)
        schedule = _as_clicks_schedule(clicks_per_step, dice_values.size - 1)
        if self._dice and dice_values.size != self._dice[0].size:
            raise ConfigError(
                f"every episode must have the same number of steps: earlier episodes have "
                f"{self._dice[0].size} Dice values, this one {dice_values.size}; use one "
                "InteractiveMetrics per episode length"
            )
        nsd_values = None
        if nsd_per_step is not None:
            nsd_values = _as_dice_series(nsd_per_step, "nsd_per_step")
            if nsd_values.size != dice_values.size:
                raise ConfigError(
                    f"nsd_per_step must have one value per Dice value ({dice_values.size}), got "
                    f"{nsd_values.size}"
                )
        final_assd = None if assd is None else _as_assd(assd)
        volumes = [
            None if value is None else _as_volume(value, name)
            for name, value in (
                ("false_positive_volume", false_positive_volume),
                ("false_negative_volume", false_negative_volume),
            )
        ]
        seconds = None if seconds_per_step is None else _as_volume(seconds_per_step, "seconds")
        self._noc.append(noc(dice_values, schedule, self.thresholds, self.max_clicks))
        self._dice.append(dice_values)
        self._clicks.append(np.concatenate(([0], np.cumsum(schedule))))
        if final_assd is not None:
            self._assd.append(final_assd)
        if nsd_values is not None:
            self._nsd.append(nsd_values)
        if volumes[0] is not None:
            self._false_positive.append(volumes[0])
        if volumes[1] is not None:
            self._false_negative.append(volumes[1])
        if seconds is not None:
            self._seconds.append(seconds)

    def add_step(
        self, dice_value: float, clicks_before: int = 0, *, nsd_value: float | None = None
    ) -> None:
        """Record one step of the episode in progress.

        Args:
            dice_value: The Dice fraction measured at this step.
            clicks_before: Clicks given since the previous measurement; must be 0 for the
                first measurement of an episode (taken before any click).
            nsd_value: The NSD fraction measured at this step, if any (give it at every step
                of the episode or at none).
        """
        if not self._open_dice and clicks_before != 0:
            raise ConfigError(
                f"the first add_step() of an episode is measured before any click, so "
                f"clicks_before must be 0, got {clicks_before}"
            )
        if self._open_dice and (nsd_value is not None) != bool(self._open_nsd):
            raise ConfigError("give nsd_value at every add_step() of an episode or at none")
        self._open_dice.append(float(_as_dice_series([dice_value])[0]))
        self._open_clicks.append(int(_as_clicks_schedule([clicks_before], 1)[0]))
        if nsd_value is not None:
            self._open_nsd.append(float(_as_dice_series([nsd_value], "nsd_value")[0]))

    def end_episode(
        self,
        assd: float | None = None,
        *,
        false_positive_volume: float | None = None,
        false_negative_volume: float | None = None,
        seconds_per_step: float | None = None,
    ) -> None:
        """Close the episode fed with :meth:`add_step` and record it (see :meth:`update`).

        Args:
            assd: The episode's final ASSD in mm, if measured.
            false_positive_volume: The final false-positive component volume in mm³.
            false_negative_volume: The final false-negative component volume in mm³.
            seconds_per_step: The mean time per interaction step in seconds.
        """
        if not self._open_dice:
            raise ConfigError("end_episode() called without any add_step() since the last one")
        dice_values, clicks = self._open_dice, self._open_clicks[1:]
        nsd_values = self._open_nsd or None
        self._open_dice, self._open_clicks, self._open_nsd = [], [], []
        self.update(
            dice_values,
            clicks,
            assd,
            nsd_per_step=nsd_values,
            false_positive_volume=false_positive_volume,
            false_negative_volume=false_negative_volume,
            seconds_per_step=seconds_per_step,
        )

    def aggregate(self) -> dict[str, Any]:
        """Summarise the recorded episodes.

        Returns:
            ``num_episodes``; ``dice_mean`` and ``dice_std`` (population std), float arrays of
            length T + 1 (Dice fractions per step); ``clicks_mean``, mean cumulative clicks per
            step; one mean per NoC threshold (``"NoC@85"``, ``"NoC@90"``); ``assd_mean`` (mm,
            over the episodes that reported one, ``inf`` if any was infinite, NaN if none did);
            ``dsc_auc`` and ``final_dsc`` (means over episodes of :func:`interaction_auc` of the
            Dice and of the final Dice); ``nsd_mean`` (per step), ``nsd_auc`` and ``final_nsd``
            (over the episodes that reported an NSD; NaN arrays / values if none did);
            ``false_positive_volume`` and ``false_negative_volume`` (mean mm³) and
            ``seconds_per_step`` (mean s), NaN where no episode reported them.
        """
        if not self._dice:
            raise DataError("no episodes recorded; call update() (or add_step/end_episode) first")
        dice_values = np.stack(self._dice)
        summary: dict[str, Any] = {
            "num_episodes": len(self._dice),
            "dice_mean": dice_values.mean(axis=0),
            "dice_std": dice_values.std(axis=0),
            "clicks_mean": np.stack(self._clicks).mean(axis=0),
        }
        for key in self._noc[0]:
            summary[key] = float(np.mean([episode[key] for episode in self._noc]))
        summary["assd_mean"] = float(np.mean(self._assd)) if self._assd else float("nan")
        include = self.auc_include_initial
        summary["dsc_auc"] = float(
            np.mean([interaction_auc(d, include_initial=include) for d in self._dice])
        )
        summary["final_dsc"] = float(dice_values[:, -1].mean())
        if self._nsd:
            nsd_values = np.stack(self._nsd)
            summary["nsd_mean"] = nsd_values.mean(axis=0)
            summary["nsd_auc"] = float(
                np.mean([interaction_auc(n, include_initial=include) for n in self._nsd])
            )
            summary["final_nsd"] = float(nsd_values[:, -1].mean())
        else:
            summary["nsd_mean"] = np.full(dice_values.shape[1], np.nan)
            summary["nsd_auc"] = summary["final_nsd"] = float("nan")
        for key, values in (
            ("false_positive_volume", self._false_positive),
            ("false_negative_volume", self._false_negative),
            ("seconds_per_step", self._seconds),
        ):
            summary[key] = float(np.mean(values)) if values else float("nan")
        return summary

    def table(self, markdown: bool = True, digits: int = 2) -> str:
        """Dice (%) after every step as a table, like IteR-MRL Table 2.

        Args:
            markdown: A Markdown table if True, else plain aligned text.
            digits: Decimals of the percentages.

        Returns:
            Rows ``Step | 0 | 1 | ...``, ``Dice (%) | mean ± std | ...``, ``NSD (%)`` when the
            episodes reported it, and the mean cumulative clicks per step.
        """
        summary = self.aggregate()
        steps = range(summary["dice_mean"].size)
        rows = [
            ["Step", *(str(step) for step in steps)],
            [
                "Dice (%)",
                *(
                    f"{100 * mean:.{digits}f} ± {100 * std:.{digits}f}"
                    for mean, std in zip(summary["dice_mean"], summary["dice_std"], strict=True)
                ),
            ],
        ]
        if self._nsd:
            rows.append(
                ["NSD (%)", *(f"{100 * value:.{digits}f}" for value in summary["nsd_mean"])]
            )
        rows.append(["Clicks", *(f"{clicks:g}" for clicks in summary["clicks_mean"])])
        return markdown_table(rows) if markdown else _plain_table(rows)


def _as_volume(value: Any, argument: str) -> float:
    """Validate a reported volume or duration: a finite number >= 0."""
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise InputTypeError(
            f"{argument} must be a number or None, got {describe(value)}"
        ) from error
    if not np.isfinite(number) or number < 0:
        raise DataError(f"{argument} must be a finite number >= 0, got {value!r}")
    return number


def _as_assd(value: Any) -> float:
    """Validate a reported ASSD: a non-negative number or inf."""
    try:
        number = float(value)
    except (TypeError, ValueError) as error:
        raise InputTypeError(f"assd must be a number or None, got {describe(value)}") from error
    if np.isnan(number) or number < 0:
        raise DataError(f"assd must be >= 0 (inf allowed for an empty mask), got {value!r}")
    return number


def markdown_table(rows: Sequence[Sequence[str]]) -> str:
    """Format a Markdown table with the first row as header."""
    lines = ["| " + " | ".join(row) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("---" for _ in rows[0]) + "|")
    return "\n".join(lines)


def _plain_table(rows: list[list[str]]) -> str:
    """Columns aligned with spaces, the first row as header."""
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if column == 0 else cell.rjust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )
