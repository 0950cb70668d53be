"""Case sources: the embedded synthetic generator and medical volumes on disk (NIfTI / MSD).

The synthetic generator draws five object families (``FAMILIES``); train on
``TRAINING_FAMILIES`` and test on ``HELD_OUT_FAMILIES`` for a Procgen-style generalisation split.

The NIfTI layer (``NiftiSource``, ``load_dataset``, presets, splits, preprocessing, cache,
export) loads on first use, so importing the environment does not import nibabel.
"""

from __future__ import annotations

import importlib
from typing import Any

from segenv.data.case import Case, CaseSource, make_case
from segenv.data.synthetic import (
    DOMAIN_RANDOMISATION,
    FAMILIES,
    HELD_OUT_FAMILIES,
    POLARITIES,
    TRAINING_FAMILIES,
    SyntheticSource,
    SyntheticSplits,
    make_synthetic_case,
    synthetic_splits,
)

_LAZY = {
    "CaseFiles": "segenv.data.nifti",
    "LabelMap": "segenv.data.nifti",
    "read_case": "segenv.data.nifti",
    "read_volume": "segenv.data.nifti",
    "Layout": "segenv.data.layouts",
    "Rejection": "segenv.data.layouts",
    "msd_layout": "segenv.data.layouts",
    "paired_layout": "segenv.data.layouts",
    "LoadReport": "segenv.data.sources",
    "NiftiSource": "segenv.data.sources",
    "load_dataset": "segenv.data.sources",
    "PRESETS": "segenv.data.presets",
    "Preset": "segenv.data.presets",
    "get_preset": "segenv.data.presets",
    "Splits": "segenv.data.splits",
    "three_way_split": "segenv.data.splits",
    "two_way_split": "segenv.data.splits",
    "VolumeCache": "segenv.data.cache",
    "augment_case": "segenv.data.preprocess",
    "Pipeline": "segenv.data.preprocess",
    "export_msd": "segenv.data.export",
}

__all__ = [
    "DOMAIN_RANDOMISATION",
    "FAMILIES",
    "HELD_OUT_FAMILIES",
    "POLARITIES",
    "TRAINING_FAMILIES",
    "Case",
    "CaseSource",
    "SyntheticSource",
    "SyntheticSplits",
    "make_case",
    "make_synthetic_case",
    "synthetic_splits",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'segenv.data' has no attribute {name!r}")
