"""One segmentation case: a (multi-modal) image, its binary ground truth and its voxel spacing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from segenv.errors import DataError, InputTypeError, describe

DEFAULT_SHAPE: tuple[int, int, int] = (30, 55, 55)
"""The papers' 55×55×30 volume in (D, H, W) order: the synthetic data's and the resize target's."""


@dataclass(frozen=True)
class Case:
    """An image with its ground truth, in ``(D, H, W)`` = (z, y, x) axis order.

    Attributes:
        image: float32 ``(M, D, H, W)``, M ≥ 1 modalities, finite, normalised.
        label: bool ``(D, H, W)``, the foreground; never empty.
        spacing: voxel size in mm along (D, H, W).
        name: an identifier for messages and result tables.
    """

    image: np.ndarray
    label: np.ndarray
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
    name: str = field(default="case")

    @property
    def shape(self) -> tuple[int, int, int]:
        """The volume shape ``(D, H, W)``."""
        return tuple(self.label.shape)  # type: ignore[return-value]

    @property
    def num_modalities(self) -> int:
        """M, the number of image channels."""
        return int(self.image.shape[0])


def make_case(
    image: np.ndarray,
    label: np.ndarray,
    spacing: Sequence[float] = (1.0, 1.0, 1.0),
    name: str = "case",
) -> Case:
    """Validate and normalise arrays into a :class:`Case`.

    ``image`` may be ``(D, H, W)`` (one modality) or ``(M, D, H, W)``; ``label`` must be
    ``(D, H, W)`` with values in {0, 1} (bool or integer) and at least one foreground voxel.
    """
    image = np.asarray(image)
    label = np.asarray(label)
    if image.dtype.kind not in "fiu":
        raise InputTypeError(f"case {name!r}: image must be numeric, got {describe(image)}")
    if image.ndim == 3:
        image = image[None]
    if image.ndim != 4:
        raise DataError(
            f"case {name!r}: image must be (D, H, W) or (M, D, H, W), got {describe(image)}"
        )
    if label.ndim != 3 or label.shape != image.shape[1:]:
        raise DataError(
            f"case {name!r}: label shape {label.shape} does not match image volume shape "
            f"{image.shape[1:]}; resample the label to the image grid"
        )
    if min(label.shape) < 1:
        raise DataError(f"case {name!r}: empty volume of shape {label.shape}")
    if not np.isfinite(image).all():
        bad = int(np.size(image) - np.isfinite(image).sum())
        raise DataError(
            f"case {name!r}: image has {bad} NaN/Inf voxels; replace them "
            "(e.g. np.nan_to_num) before building the case"
        )
    if label.dtype != bool:
        if label.dtype.kind not in "fiub":
            raise InputTypeError(f"case {name!r}: label must be numeric, got {describe(label)}")
        values = np.unique(label)
        if not np.isin(values, (0, 1)).all():
            raise DataError(
                f"case {name!r}: label is not binary (values {values[:10].tolist()}); map it "
                "first, e.g. label > 0 for 'whole tumour' or label == k for one structure"
            )
        label = label.astype(bool)
    if not label.any():
        raise DataError(
            f"case {name!r}: label has no foreground voxel; interactive refinement needs an "
            "object — drop this case or choose another label mapping"
        )
    spacing_t = tuple(float(s) for s in spacing)
    if len(spacing_t) != 3 or not all(np.isfinite(s) and s > 0 for s in spacing_t):
        raise DataError(
            f"case {name!r}: spacing must be three positive numbers (mm along D, H, W), "
            f"got {spacing!r}"
        )
    return Case(
        image=np.ascontiguousarray(image, dtype=np.float32),
        label=np.ascontiguousarray(label),
        spacing=spacing_t,  # type: ignore[arg-type]
        name=name,
    )


@runtime_checkable
class CaseSource(Protocol):
    """A finite, indexable collection of cases (synthetic generator, NIfTI folder, ...)."""

    def __len__(self) -> int:
        """Number of cases."""
        ...

    def __getitem__(self, index: int) -> Case:
        """The case at ``index`` (deterministic)."""
        ...
