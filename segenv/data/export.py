"""Write any case source (e.g. the synthetic generator) as a Medical Segmentation Decathlon task.

The inverse of reading (:mod:`segenv.data.nifti`): a case's ``(M, D, H, W)`` image is written
as ``(x, y, z, M)`` = ``(W, H, D, M)`` (3D when ``M = 1``) with the affine
``diag(dx, dy, dz, 1)`` (RAS+, origin 0), and its label as ``uint8`` ``(x, y, z)`` with
foreground = ``label_value``. Reading the folder back with ``shape=None, crop=None,
normalise="none"`` gives the same arrays and spacing. ``dataset.json`` lists the cases under
``training`` (and ``test`` for ``imagesTs/``) with ``modality`` and ``labels``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import nibabel as nib
import numpy as np

from segenv.data.case import Case, CaseSource
from segenv.errors import ConfigError
from segenv.files import atomic_write_text

__all__ = ["case_affine", "export_msd", "write_nifti"]

SYNTHETIC_MODALITIES = ("FLAIR", "T1", "T2", "T1ce")
"""Channel names of the synthetic generator (its channels mimic these sequences)."""


def case_affine(spacing: Sequence[float]) -> np.ndarray:
    """The RAS+ affine of a ``(D, H, W)`` volume with ``spacing`` = (dz, dy, dx)."""
    dz, dy, dx = (float(s) for s in spacing)
    return np.diag([dx, dy, dz, 1.0])


def write_nifti(path: str | os.PathLike[str], volume: np.ndarray, spacing: Sequence[float]) -> Path:
    """Write a ``(D, H, W)`` or ``(M, D, H, W)`` array as NIfTI in ``(x, y, z[, M])`` order."""
    array = np.asarray(volume)
    if array.ndim == 4:
        data = np.transpose(array, (3, 2, 1, 0))
        if data.shape[3] == 1:
            data = data[..., 0]
    elif array.ndim == 3:
        data = np.transpose(array, (2, 1, 0))
    else:
        raise ConfigError(f"write_nifti: expected a 3D or 4D array, got shape {array.shape}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(np.ascontiguousarray(data), case_affine(spacing))
    image.header.set_xyzt_units("mm")
    nib.save(image, os.fspath(target))
    return target


def _file_stem(case: Case, prefix: str | None, index: int) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", case.name).strip("-")
    return f"{prefix}_{index:03d}" if prefix is not None or not cleaned else cleaned


def _cases(source: CaseSource | Iterable[Case]) -> Iterator[Case]:
    if isinstance(source, CaseSource):
        return (source[i] for i in range(len(source)))
    return iter(source)


def export_msd(
    source: CaseSource | Iterable[Case],
    folder: str | os.PathLike[str],
    *,
    task_name: str = "Task00_Synthetic",
    prefix: str | None = None,
    modality_names: Sequence[str] | None = None,
    label_names: Mapping[int, str] | None = None,
    label_value: int = 1,
    test_cases: CaseSource | Iterable[Case] | None = None,
) -> Path:
    """Write cases as an MSD task folder ``folder`` (created) and return it.

    Args:
        source: The labelled cases (``imagesTr/`` + ``labelsTr/``).
        folder: The task folder to create (e.g. ``.../Task00_Synthetic``).
        task_name: ``name`` in ``dataset.json``.
        prefix: None keeps the case names as file names (characters other than letters,
            digits, ``_`` and ``-`` become ``-``), so read-back cases keep their names;
            ``"BRATS"`` gives MSD-style ``BRATS_000.nii.gz``, ``BRATS_001.nii.gz``, ...
        modality_names: One name per channel; default ``FLAIR, T1, T2, T1ce, ...``.
        label_names: ``dataset.json`` ``labels``; default ``{0: background, value: lesion}``.
        label_value: The value written for foreground voxels (1–255).
        test_cases: Optional unlabelled cases for ``imagesTs/``.
    """
    if not 1 <= int(label_value) <= 255:
        raise ConfigError(f"label_value must be in [1, 255], got {label_value!r}")
    root = Path(folder)
    training, test, num_modalities = [], [], None
    for index, case in enumerate(_cases(source)):
        stem = _file_stem(case, prefix, index)
        write_nifti(root / "imagesTr" / f"{stem}.nii.gz", case.image, case.spacing)
        label = case.label.astype(np.uint8) * np.uint8(label_value)
        write_nifti(root / "labelsTr" / f"{stem}.nii.gz", label, case.spacing)
        training.append(
            {"image": f"./imagesTr/{stem}.nii.gz", "label": f"./labelsTr/{stem}.nii.gz"}
        )
        num_modalities = case.num_modalities
    for index, case in enumerate(_cases(test_cases or ())):
        stem = "test_" + _file_stem(case, prefix, index)
        write_nifti(root / "imagesTs" / f"{stem}.nii.gz", case.image, case.spacing)
        test.append(f"./imagesTs/{stem}.nii.gz")
    if num_modalities is None:
        raise ConfigError("export_msd: the source has no cases")
    names = list(modality_names or [])
    names += [
        SYNTHETIC_MODALITIES[i] if i < len(SYNTHETIC_MODALITIES) else f"channel{i}"
        for i in range(len(names), num_modalities)
    ]
    labels = dict(label_names or {0: "background", int(label_value): "lesion"})
    manifest = {
        "name": task_name,
        "description": "exported by segenv.data.export.export_msd",
        "tensorImageSize": "4D" if num_modalities > 1 else "3D",
        "modality": {str(i): n for i, n in enumerate(names[:num_modalities])},
        "labels": {str(k): v for k, v in labels.items()},
        "numTraining": len(training),
        "numTest": len(test),
        "training": training,
        "test": test,
    }
    atomic_write_text(root / "dataset.json", json.dumps(manifest, indent=2))
    return root
