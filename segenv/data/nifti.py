"""Reading NIfTI image/label pairs into ``(D, H, W)`` arrays, with checks that name the file.

Axis convention. nibabel returns arrays indexed ``(i, j, k)`` — normally (x, y, z) — with
modalities on a fourth axis. Each volume is first reoriented to the closest canonical RAS+
orientation (``canonical=True``, the default: a flip/transpose of the voxel axes chosen from
the affine, no interpolation), then transposed to ``(z, y, x)`` so that

* ``D`` = z, increasing towards Superior (slices),
* ``H`` = y, increasing towards Anterior (rows),
* ``W`` = x, increasing towards Right (columns),

and a 4D image ``(x, y, z, M)`` becomes ``(M, D, H, W)``. The voxel spacing (from the affine's
column norms) follows the axes: ``(dz, dy, dx)`` in mm. With ``canonical=False`` the stored
axes are only transposed: ``array[k, j, i] == data[i, j, k]``.

Label maps (:class:`LabelMap`) turn an integer label file into the binary foreground, e.g.
``LabelMap()`` = "label > 0" (BraTS whole tumour), ``LabelMap(foreground=(1,))`` = one structure,
and reject values outside the declared set (``known``).
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from segenv.errors import ConfigError, DataError, InputTypeError

__all__ = [
    "NIFTI_SUFFIXES",
    "CaseFiles",
    "LabelMap",
    "RawCase",
    "read_case",
    "read_probability",
    "read_volume",
    "resolve_modalities",
    "strip_nifti_suffix",
]

NIFTI_SUFFIXES = (".nii.gz", ".nii")
"""File endings read as NIfTI."""

AFFINE_TOLERANCE = 1e-3
"""Largest allowed difference between an image's and its label's affine entries (mm)."""

_READ_ERRORS = (OSError, EOFError, zlib.error, ValueError, nib.filebasedimages.ImageFileError)


def strip_nifti_suffix(name: str) -> str:
    """``"case_001.nii.gz"`` → ``"case_001"`` (names without a NIfTI ending are unchanged)."""
    for suffix in NIFTI_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class CaseFiles:
    """The files of one case: an image (3D or 4D multi-modal) and its label map."""

    name: str
    image: Path
    label: Path


@dataclass(frozen=True)
class LabelMap:
    """How a label file becomes a binary foreground.

    Attributes:
        foreground: Label values that count as foreground; None means every value > 0
            (e.g. BraTS "whole tumour"). ``(1,)`` selects one structure.
        known: The values a label file may contain; a file with any other value is rejected.
            None accepts any non-negative integer. MSD folders fill it from ``dataset.json``.
    """

    foreground: tuple[int, ...] | None = None
    known: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        """Validate and normalise the value sets."""
        for field_name in ("foreground", "known"):
            values = getattr(self, field_name)
            if values is None:
                continue
            if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
                values = (values,)
            try:
                normalised = tuple(sorted({_as_label_value(v) for v in values}))
            except (TypeError, ValueError):
                raise ConfigError(
                    f"LabelMap {field_name}= must be ints (label values), got {values!r}"
                ) from None
            if not normalised:
                raise ConfigError(f"LabelMap {field_name}= is empty; give at least one value")
            object.__setattr__(self, field_name, normalised)
        if self.foreground is not None and self.known is not None:
            unknown = sorted(set(self.foreground) - set(self.known))
            if unknown:
                raise ConfigError(
                    f"LabelMap foreground values {unknown} are not among the known label "
                    f"values {list(self.known)}"
                )

    @classmethod
    def parse(cls, spec: object) -> LabelMap:
        """A LabelMap from ``None``/``"nonzero"`` (label > 0), an int, a sequence or a LabelMap."""
        if isinstance(spec, LabelMap):
            return spec
        if spec is None or spec == "nonzero":
            return cls()
        if isinstance(spec, str):
            raise ConfigError(
                f"labels={spec!r} is unknown; use 'nonzero' (label > 0), an int, a sequence of "
                "ints, or segenv.data.LabelMap(foreground=..., known=...)"
            )
        if isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
            return cls(foreground=(int(spec),))
        if isinstance(spec, Sequence):
            return cls(foreground=tuple(spec))
        raise InputTypeError(f"labels= must be 'nonzero', an int or ints, got {spec!r}")

    def with_known(self, known: Sequence[int] | None) -> LabelMap:
        """The same map with ``known`` filled in when it was not given."""
        if self.known is not None or known is None:
            return self
        return LabelMap(self.foreground, tuple(known))

    def describe(self) -> str:
        """A short description for reports, e.g. ``label > 0`` or ``label in {1}``."""
        if self.foreground is None:
            return "label > 0"
        return "label in {" + ", ".join(map(str, self.foreground)) + "}"

    def apply(self, label: np.ndarray, path: Path | str) -> np.ndarray:
        """Check the values of an integer-valued label array and return the foreground mask."""
        values = _label_values(label, path)
        allowed = np.asarray(self.known) if self.known is not None else None
        outside = values[values < 0] if allowed is None else values[~np.isin(values, allowed)]
        if outside.size:
            expected = (
                "non-negative integers" if self.known is None else f"one of {list(self.known)}"
            )
            raise DataError(
                f"{path}: label values {outside[:10].tolist()} are outside the mapping "
                f"(expected {expected}); fix the file or pass a LabelMap with known= these values"
            )
        if self.foreground is None:
            mask = label > 0
        else:
            mask = np.isin(label, np.asarray(self.foreground))
        if not mask.any():
            raise DataError(
                f"{path}: no foreground voxel after mapping ({self.describe()}; values present "
                f"{values[:10].tolist()}); drop this case or choose another label mapping"
            )
        return mask


def _as_label_value(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, str)):
        raise TypeError(value)
    number = float(value)
    if not number.is_integer():
        raise ValueError(value)
    return int(number)


def _label_values(label: np.ndarray, path: Path | str) -> np.ndarray:
    """The distinct values of a label array, which must be finite integers."""
    if label.dtype.kind == "f":
        if not np.isfinite(label).all():
            raise DataError(f"{path}: label has NaN/Inf voxels; labels must be integers")
        if not np.array_equal(label, np.round(label)):
            raise DataError(
                f"{path}: label has non-integer values (e.g. "
                f"{label[label != np.round(label)][:3].tolist()}); a label map holds integers — "
                "is this a probability map rather than a label?"
            )
        label = label.astype(np.int64)
    elif label.dtype.kind not in "iub":
        raise DataError(f"{path}: label has dtype {label.dtype}; expected integers")
    low, high = int(label.min()), int(label.max())
    if high - low < 1 << 16:
        counts = np.bincount(label.ravel().astype(np.int64) - low)
        return np.flatnonzero(counts) + low
    return np.unique(label)


def resolve_modalities(
    spec: int | str | Sequence[int | str],
    num_channels: int,
    names: Mapping[int, str] | None,
    path: Path | str,
) -> tuple[int, ...]:
    """Channel indices for a modality spec: an index, a name (case-insensitive), or several.

    Args:
        spec: ``0``, ``"FLAIR"``, or a sequence such as ``("FLAIR", "T2w")``.
        num_channels: Channels in the image file (1 for a 3D image).
        names: Channel names (``dataset.json``'s ``modality``), or None when unknown.
        path: The image file, for messages.
    """
    items = [spec] if isinstance(spec, (int, np.integer, str)) else list(spec)
    if not items:
        raise ConfigError("modality= is empty; give an index, a name, or several")
    indices = []
    for item in items:
        if isinstance(item, str):
            lookup = {n.lower(): i for i, n in (names or {}).items()}
            if item.lower() not in lookup:
                known = ", ".join(f"{i}={n!r}" for i, n in sorted((names or {}).items()))
                raise ConfigError(
                    f"modality={item!r} is not a modality of {path} "
                    f"({'known: ' + known if known else 'no modality names are declared'}); "
                    "pass a channel index instead"
                )
            index = lookup[item.lower()]
        elif isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            index = int(item)
        else:
            raise InputTypeError(f"modality= entries must be ints or names, got {item!r}")
        if not 0 <= index < num_channels:
            raise DataError(
                f"{path}: modality {item!r} (channel {index}) does not exist; the image has "
                f"{num_channels} channel(s)"
            )
        indices.append(index)
    return tuple(indices)


def _load_header(path: Path) -> Any:
    if not path.is_file():
        raise DataError(f"{path}: file not found; check the path (or the data set listing)")
    try:
        image: Any = nib.load(os.fspath(path))
    except _READ_ERRORS as error:
        raise DataError(
            f"{path}: cannot read it as NIfTI ({error}); the file is damaged or not NIfTI — "
            "re-download or re-export it"
        ) from None
    if len(image.shape) < 3:
        raise DataError(f"{path}: a {len(image.shape)}D image; expected a 3D or 4D volume")
    return image


def _read_array(image: Any, path: Path, index: tuple[object, ...]) -> np.ndarray:
    try:
        return np.asarray(image.dataobj[index])
    except _READ_ERRORS as error:
        raise DataError(
            f"{path}: the voxel data cannot be read ({type(error).__name__}: {error}); "
            "the file is truncated or damaged — re-download or re-export it"
        ) from None


def _orientation(affine: np.ndarray, canonical: bool, path: Path) -> np.ndarray:
    if not np.isfinite(affine).all() or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise DataError(f"{path}: degenerate or non-finite affine {affine.tolist()}")
    if canonical:
        return nib.orientations.io_orientation(affine)
    return np.array([[0, 1], [1, 1], [2, 1]], dtype=float)


def _to_zyx(array: np.ndarray, ornt: np.ndarray) -> np.ndarray:
    """Reorient the first three axes by ``ornt``, then ``(x, y, z, ...)`` → ``(..., z, y, x)``."""
    oriented = nib.orientations.apply_orientation(array, ornt)
    order = (*range(oriented.ndim - 1, 2, -1), 2, 1, 0)
    return np.ascontiguousarray(np.transpose(oriented, order))


def _spacing_zyx(affine: np.ndarray, ornt: np.ndarray) -> tuple[float, float, float]:
    zooms = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    oriented = np.empty(3)
    oriented[ornt[:, 0].astype(int)] = zooms
    return float(oriented[2]), float(oriented[1]), float(oriented[0])


@dataclass(frozen=True)
class _Opened:
    image: Any  # a nibabel spatial image (Nifti1Image / Nifti2Image)
    path: Path
    spatial_shape: tuple[int, int, int]
    num_channels: int


def _open(path: Path) -> _Opened:
    image = _load_header(path)
    shape = tuple(int(s) for s in image.shape)
    extra = shape[3:]
    if len(extra) == 2 and extra[0] == 1:  # (x, y, z, 1, M): a time axis of length 1
        extra = extra[1:]
    if len(extra) > 1:
        raise DataError(f"{path}: shape {shape}; expected (x, y, z) or (x, y, z, modalities)")
    return _Opened(image, path, shape[:3], extra[0] if extra else 1)  # type: ignore[arg-type]


def _channel_index(opened: _Opened, channel: int) -> tuple[object, ...]:
    rank = len(opened.image.shape)
    if rank == 3:
        return (Ellipsis,)
    if rank == 4:
        return (Ellipsis, channel)
    return (Ellipsis, 0, channel)


def read_volume(
    path: str | os.PathLike[str],
    *,
    modalities: int | str | Sequence[int | str] = 0,
    modality_names: Mapping[int, str] | None = None,
    canonical: bool = True,
) -> tuple[np.ndarray, tuple[float, float, float], np.ndarray]:
    """Read image channels as float32 ``(M, D, H, W)`` with their spacing and the file's affine.

    Raises:
        DataError: The file is missing, damaged or truncated, has NaN/Inf voxels, or lacks
            the requested channel; the message names the file.
    """
    opened = _open(Path(path))
    channels = resolve_modalities(modalities, opened.num_channels, modality_names, opened.path)
    ornt = _orientation(opened.image.affine, canonical, opened.path)
    arrays = []
    for channel in channels:
        data = _read_array(opened.image, opened.path, _channel_index(opened, channel))
        data = data.astype(np.float32, copy=False)
        if not np.isfinite(data).all():
            bad = int(data.size - np.count_nonzero(np.isfinite(data)))
            raise DataError(
                f"{opened.path}: channel {channel} has {bad} NaN/Inf voxels; fix the file "
                "(e.g. replace them with 0) or drop the case"
            )
        arrays.append(_to_zyx(data, ornt))
    image = np.stack(arrays)
    return image, _spacing_zyx(opened.image.affine, ornt), np.asarray(opened.image.affine)


def read_probability(path: str | os.PathLike[str], *, canonical: bool = True) -> np.ndarray:
    """Read a 3D probability volume (``.nii``/``.nii.gz``) as float32 ``(D, H, W)``."""
    image, _, _ = read_volume(path, canonical=canonical)
    return image[0]


@dataclass(frozen=True)
class RawCase:
    """A case as read from disk, before cropping and resizing (label already binary)."""

    image: np.ndarray  # float32 (M, D, H, W)
    label: np.ndarray  # bool (D, H, W)
    spacing: tuple[float, float, float]


def read_case(
    files: CaseFiles,
    *,
    modalities: int | str | Sequence[int | str] = 0,
    modality_names: Mapping[int, str] | None = None,
    labels: LabelMap | None = None,
    canonical: bool = True,
    affine_tolerance: float = AFFINE_TOLERANCE,
) -> RawCase:
    """Read and check one image/label pair (SPEC §8).

    Raises:
        DataError: Missing or damaged file, NaN/Inf voxels, image and label grids that differ
            (shape or affine), label values outside ``labels``, or an empty foreground.
            Every message names the offending file.
    """
    label_map = labels or LabelMap()
    label_file = _open(Path(files.label))
    image, spacing, image_affine = read_volume(
        files.image, modalities=modalities, modality_names=modality_names, canonical=canonical
    )
    image_shape = tuple(image.shape[:0:-1])  # back to (x, y, z) for the message
    if label_file.num_channels != 1:
        raise DataError(
            f"{files.label}: a label map must be 3D, got shape {label_file.spatial_shape}"
        )
    if label_file.spatial_shape != image_shape:
        raise DataError(
            f"{files.label}: label shape {label_file.spatial_shape} does not match image "
            f"{files.image} shape {image_shape}; resample the label onto the image grid"
        )
    difference = float(np.abs(np.asarray(label_file.image.affine) - image_affine).max())
    if not math.isfinite(difference) or difference > affine_tolerance:
        raise DataError(
            f"{files.label}: affine differs from image {files.image} by up to {difference:.4g} "
            f"(tolerance {affine_tolerance}); image and label must share one voxel grid"
        )
    raw_label = _read_array(label_file.image, label_file.path, _channel_index(label_file, 0))
    mask = label_map.apply(raw_label, files.label)
    ornt = _orientation(image_affine, canonical, Path(files.image))
    return RawCase(image, _to_zyx(mask, ornt), spacing)
