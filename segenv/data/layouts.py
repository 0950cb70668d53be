"""Finding the cases of a folder: the Medical Segmentation Decathlon layout and plain pairs.

* **MSD** (:func:`msd_layout`): ``dataset.json`` lists ``training`` entries
  ``{"image": "./imagesTr/X.nii.gz", "label": "./labelsTr/X.nii.gz"}`` and declares
  ``modality`` (channel names) and ``labels`` (label values); ``imagesTs/`` (no labels) is not
  used. A folder with ``imagesTr/`` and ``labelsTr/`` but no ``dataset.json`` is paired by
  file name.
* **Pairs** (:func:`paired_layout`): ``images/`` + ``labels/`` subfolders paired by file name;
  or files ``<name>_image.nii[.gz]`` (also ``_img``) next to ``<name>_label.nii[.gz]`` (also
  ``_seg``, ``_mask``); or two glob patterns whose ``*`` parts must agree (e.g.
  ``"*/*_flair"`` with ``"*/*_seg"`` for BraTS 2020; without a NIfTI ending a pattern matches
  ``.nii.gz`` and ``.nii``); or an explicit list.

A listed file that is missing, or a file without a partner, becomes a :class:`Rejection`
(reported by the source, never silently dropped).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from segenv.data.nifti import NIFTI_SUFFIXES, CaseFiles, strip_nifti_suffix
from segenv.errors import ConfigError, DataError, InputTypeError

__all__ = ["Layout", "Rejection", "detect_layout", "msd_layout", "paired_layout"]

IMAGE_TAGS = ("_image", "_img")
LABEL_TAGS = ("_label", "_seg", "_mask")

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class Rejection:
    """A case that was not loaded, the file at fault and why."""

    name: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True)
class Layout:
    """What a folder holds: the case files, what was rejected while listing, and metadata."""

    files: tuple[CaseFiles, ...]
    rejected: tuple[Rejection, ...] = ()
    modality_names: dict[int, str] | None = None
    label_values: tuple[int, ...] | None = None
    name: str = "nifti"
    kind: str = "pairs"
    label_names: dict[int, str] | None = None


def _is_nifti(path: Path) -> bool:
    return path.is_file() and path.name.endswith(NIFTI_SUFFIXES) and not path.name.startswith(".")


def _nifti_files(folder: Path) -> dict[str, Path]:
    return {strip_nifti_suffix(p.name): p for p in sorted(folder.iterdir()) if _is_nifti(p)}


def _pair_by_stem(
    images: dict[str, Path], labels: dict[str, Path]
) -> tuple[list[CaseFiles], list[Rejection]]:
    files = [CaseFiles(n, images[n], labels[n]) for n in sorted(images) if n in labels]
    rejected = [
        Rejection(n, str(images[n]), "image without a label file")
        for n in sorted(images)
        if n not in labels
    ]
    rejected += [
        Rejection(n, str(labels[n]), "label without an image file")
        for n in sorted(labels)
        if n not in images
    ]
    return files, rejected


def msd_layout(folder: PathLike) -> Layout:
    """The training cases of a Medical Segmentation Decathlon task folder.

    Raises:
        DataError: The folder or ``dataset.json`` is missing or malformed.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; pass the task folder (e.g. Task01_BrainTumour)")
    manifest = root / "dataset.json"
    if not manifest.is_file():
        images, labels = root / "imagesTr", root / "labelsTr"
        if images.is_dir() and labels.is_dir():
            files, rejected = _pair_by_stem(_nifti_files(images), _nifti_files(labels))
            return Layout(tuple(files), tuple(rejected), name=root.name, kind="msd")
        raise DataError(
            f"{manifest}: file not found; an MSD task folder holds dataset.json, imagesTr/ "
            "and labelsTr/"
        )
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{manifest}: not valid JSON ({error}); re-download the task") from None
    entries = meta.get("training") if isinstance(meta, dict) else None
    if not isinstance(entries, list):
        raise DataError(f"{manifest}: no 'training' list of {{'image', 'label'}} entries")
    files, rejected = [], []
    for number, entry in enumerate(entries):
        if not (isinstance(entry, dict) and {"image", "label"} <= set(entry)):
            raise DataError(
                f"{manifest}: training entry {number} is {entry!r}; expected "
                "{'image': ..., 'label': ...}"
            )
        image, label = root / str(entry["image"]), root / str(entry["label"])
        name = strip_nifti_suffix(image.name)
        missing = [p for p in (image, label) if not p.is_file()]
        if missing:
            rejected.append(
                Rejection(
                    name, str(missing[0]), f"{missing[0]}: listed in dataset.json but missing"
                )
            )
            continue
        files.append(CaseFiles(name, image, label))
    modality_names = _int_keyed(meta.get("modality"), manifest, "modality")
    labels_meta = _int_keyed(meta.get("labels"), manifest, "labels")
    return Layout(
        tuple(files),
        tuple(rejected),
        modality_names=modality_names,
        label_values=tuple(sorted(labels_meta)) if labels_meta else None,
        name=str(meta.get("name") or root.name),
        kind="msd",
        label_names=labels_meta,
    )


def _int_keyed(value: object, manifest: Path, key: str) -> dict[int, str] | None:
    if value is None:
        return None
    try:
        return {int(k): str(v) for k, v in dict(value).items()}  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise DataError(
            f"{manifest}: '{key}' must map integer keys to names, got {value!r}"
        ) from None


def _glob_pattern(pattern: str) -> re.Pattern[str]:
    parts = (re.escape(piece) for piece in pattern.split("*"))
    return re.compile("([^/]*)".join(parts) + r"\Z")


def _glob_keyed(root: Path, pattern: str) -> dict[tuple[str, ...], Path]:
    """Files matching ``pattern`` keyed by what its ``*`` matched.

    A pattern without a NIfTI ending matches both ``.nii.gz`` and ``.nii`` files.
    """
    variants = (
        [pattern] if pattern.endswith(NIFTI_SUFFIXES) else [pattern + s for s in NIFTI_SUFFIXES]
    )
    keyed: dict[tuple[str, ...], Path] = {}
    for variant in variants:
        regex = _glob_pattern(variant)
        for path in sorted(root.glob(variant)):
            match = regex.search(path.relative_to(root).as_posix())
            if path.is_file() and match:
                keyed.setdefault(match.groups(), path)
    return keyed


def _name_of(key: tuple[str, ...]) -> str:
    unique = list(dict.fromkeys(k for k in key if k))
    return "/".join(unique) or "case"


def _pairs_from_globs(
    root: Path, image_glob: str, label_glob: str
) -> tuple[list[CaseFiles], list[Rejection]]:
    if image_glob.count("*") != label_glob.count("*") or "*" not in image_glob:
        raise ConfigError(
            f"image_glob={image_glob!r} and label_glob={label_glob!r} must have the same number "
            "of '*' (at least one); the '*' parts pair an image with its label"
        )
    images, labels = _glob_keyed(root, image_glob), _glob_keyed(root, label_glob)
    named_images = {_name_of(k): p for k, p in images.items()}
    named_labels = {_name_of(k): p for k, p in labels.items()}
    return _pair_by_stem(named_images, named_labels)


def _pairs_from_tags(folder: Path) -> tuple[list[CaseFiles], list[Rejection]]:
    images: dict[str, Path] = {}
    labels: dict[str, Path] = {}
    for stem, path in _nifti_files(folder).items():
        for tags, target in ((IMAGE_TAGS, images), (LABEL_TAGS, labels)):
            tag = next((t for t in tags if stem.endswith(t)), None)
            if tag is not None:
                target[stem[: -len(tag)]] = path
    return _pair_by_stem(images, labels)


def paired_layout(
    folder: PathLike | None = None,
    *,
    pairs: Iterable[tuple[PathLike, PathLike]] | None = None,
    image_glob: str | None = None,
    label_glob: str | None = None,
) -> Layout:
    """Image/label pairs from a folder, two glob patterns, or an explicit list.

    Args:
        folder: A folder with ``images/`` + ``labels/``, or ``*_image`` / ``*_label`` files;
            the root of ``image_glob`` / ``label_glob`` when those are given.
        pairs: ``[(image_path, label_path), ...]``; names are the image file stems.
        image_glob: Pattern of the images relative to ``folder`` (e.g. ``"*/*_flair.nii.gz"``).
        label_glob: Pattern of the labels; its ``*`` parts must equal the image's.

    Raises:
        ConfigError: No way to find the pairs was given, or the patterns disagree.
        DataError: The folder does not exist or holds no recognisable pairs.
    """
    if pairs is not None:
        if folder is not None or image_glob or label_glob:
            raise ConfigError("pass either pairs= or a folder (with or without globs), not both")
        files = []
        for item in pairs:
            if isinstance(item, (str, bytes, os.PathLike)) or len(item) != 2:
                raise InputTypeError(f"pairs= must hold (image, label) tuples, got {item!r}")
            image, label = Path(item[0]), Path(item[1])
            files.append(CaseFiles(strip_nifti_suffix(image.name), image, label))
        _check_unique(files)
        return Layout(tuple(files), name="pairs")
    if folder is None:
        raise ConfigError("give a folder, pairs=[(image, label), ...] or a folder with globs")
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    if (image_glob is None) != (label_glob is None):
        raise ConfigError("image_glob= and label_glob= go together; give both or neither")
    if image_glob is not None and label_glob is not None:
        found, rejected = _pairs_from_globs(root, image_glob, label_glob)
    elif (root / "images").is_dir() and (root / "labels").is_dir():
        found, rejected = _pair_by_stem(
            _nifti_files(root / "images"), _nifti_files(root / "labels")
        )
    else:
        found, rejected = _pairs_from_tags(root)
    if not found and not rejected:
        raise DataError(
            f"{root}: no image/label pairs found; expected images/ and labels/ subfolders, "
            f"files named <case>{IMAGE_TAGS[0]}.nii.gz with <case>{LABEL_TAGS[0]}.nii.gz, or "
            "image_glob=/label_glob= patterns"
        )
    return Layout(tuple(found), tuple(rejected), name=root.name)


def _check_unique(files: Sequence[CaseFiles]) -> None:
    names = [f.name for f in files]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(
            f"case names must be unique, but {duplicates[:5]} occur several times; rename the "
            "image files"
        )


def detect_layout(folder: PathLike) -> Layout:
    """The MSD layout if ``folder`` has ``dataset.json`` or ``imagesTr/``, else plain pairs."""
    root = Path(folder)
    if (root / "dataset.json").is_file() or (root / "imagesTr").is_dir():
        return msd_layout(root)
    return paired_layout(root)
