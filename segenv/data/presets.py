"""Named configurations for the papers' tasks, usable as soon as the files are on disk.

* ``brats_flair_whole_tumour``: MSD Task01_BrainTumour, FLAIR, label > 0, crop nonzero.
* ``brats2020_flair_whole_tumour``: a BraTS 2020 training folder (``<case>/<case>_flair``,
  ``<case>_seg``), label > 0 (values 1, 2, 4), crop nonzero.
* ``msd_left_atrium``: MSD Task02_Heart, MRI, label 1, crop nonzero.
* ``msd_prostate``: MSD Task05_Prostate, T2, label > 0 (peripheral + transition zone).
* ``msd_spleen``: MSD Task09_Spleen, CT, label 1, crop to the label box.
* ``msd_liver``: MSD Task03_Liver, CT, label > 0 (liver with tumour), crop to the label box.

All resize to 55×55×30 (``shape=(30, 55, 55)``) and z-normalise with the data set's
statistics. IteR-MRL crops to the non-zero box with a 0–10 voxel margin; for CT, where air
fills the scan, MECCA's crop to the ground-truth box with a 1–11 voxel margin is used. MSD
Task02 (20 MRI cases, left atrium) stands in for MM-WHS; Task05 (32 cases) for NCI-ISBI 2013.
``split_fractions`` are ``train1 : train2 : test`` for :func:`~segenv.data.splits.three_way_split`.

Usage::

    source = NiftiSource.from_preset("msd_spleen", "/data/Task09_Spleen")
    splits = three_way_split(source.names, fractions=PRESETS["msd_spleen"].split_fractions)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from segenv.data.nifti import LabelMap
from segenv.errors import ConfigError

__all__ = ["PRESETS", "Preset", "get_preset"]


@dataclass(frozen=True)
class Preset:
    """A task's conventions: layout, modality, label mapping, crop and split sizes."""

    name: str
    description: str
    layout: str  # "msd" or "pairs"
    modality: int | str
    labels: LabelMap
    crop: str = "nonzero"
    margin: tuple[int, int] = (0, 10)
    split_fractions: tuple[float, float, float] = (0.4, 0.4, 0.2)
    globs: tuple[str, str] | None = None  # (image_glob, label_glob) of a "pairs" layout
    options: dict[str, Any] = field(default_factory=dict)

    def source_options(self, **overrides: Any) -> dict[str, Any]:
        """The keywords of ``NiftiSource.from_msd`` / ``from_pairs`` for this preset.

        Keyword ``overrides`` win (e.g. ``shape=``). ``NiftiSource.from_preset`` loads a folder
        with them; this module only describes the tasks, so it imports no loader.
        """
        options: dict[str, Any] = {
            "modality": self.modality,
            "labels": self.labels,
            "crop": self.crop,
            "margin": self.margin,
        }
        if self.layout == "pairs":
            options["image_glob"], options["label_glob"] = self.globs or (None, None)
        return {**options, **self.options, **overrides}


_BRATS_FRACTIONS = (117 / 274, 117 / 274, 40 / 274)  # IteR-MRL: 117 / 117 / 40 of 274

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "brats_flair_whole_tumour",
            "BraTS (MSD Task01_BrainTumour): FLAIR, whole tumour = edema ∪ non-enhancing ∪ "
            "enhancing (label > 0); IteR-MRL / MECCA",
            layout="msd",
            modality="FLAIR",
            labels=LabelMap(known=(0, 1, 2, 3)),
            split_fractions=_BRATS_FRACTIONS,
        ),
        Preset(
            "brats2020_flair_whole_tumour",
            "BraTS 2020 training folder (<case>/<case>_flair.nii.gz, <case>_seg.nii.gz): FLAIR, "
            "whole tumour (labels 1, 2, 4); MECCA",
            layout="pairs",
            modality=0,
            labels=LabelMap(known=(0, 1, 2, 4)),
            split_fractions=_BRATS_FRACTIONS,
            globs=("*/*_flair", "*/*_seg"),
        ),
        Preset(
            "msd_left_atrium",
            "MSD Task02_Heart: MRI, left atrium (label 1); stand-in for MM-WHS (8 / 8 / 4)",
            layout="msd",
            modality=0,
            labels=LabelMap(foreground=(1,), known=(0, 1)),
        ),
        Preset(
            "msd_prostate",
            "MSD Task05_Prostate: T2, whole gland = peripheral ∪ transition zone (label > 0); "
            "stand-in for NCI-ISBI 2013 (32 / 32 / 16)",
            layout="msd",
            modality="T2",
            labels=LabelMap(known=(0, 1, 2)),
        ),
        Preset(
            "msd_spleen",
            "MSD Task09_Spleen: CT, spleen (label 1), cropped to the label box + 1–11 voxels "
            "(MECCA)",
            layout="msd",
            modality=0,
            labels=LabelMap(foreground=(1,), known=(0, 1)),
            crop="label",
            margin=(1, 11),
        ),
        Preset(
            "msd_liver",
            "MSD Task03_Liver: CT, liver including tumour (label > 0), cropped to the label box "
            "+ 1–11 voxels (MECCA)",
            layout="msd",
            modality=0,
            labels=LabelMap(known=(0, 1, 2)),
            crop="label",
            margin=(1, 11),
        ),
    )
}
"""The named configurations, by name."""


def get_preset(name: str) -> Preset:
    """The preset called ``name``, or a ConfigError suggesting the closest name."""
    if name in PRESETS:
        return PRESETS[name]
    close = difflib.get_close_matches(str(name), PRESETS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"unknown preset {name!r}.{hint} Known: {', '.join(sorted(PRESETS))}")
