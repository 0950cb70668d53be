"""Case sources backed by NIfTI files: every case loaded, preprocessed and cached once.

:class:`NiftiSource` reads the cases a :class:`~segenv.data.layouts.Layout` lists, runs the
papers' preprocessing (crop to the non-zero box with a random 0–10 voxel margin, resize to
``shape``; SPEC §8), caches the result (:mod:`segenv.data.cache`), z-normalises with the
statistics of the whole data set and serves read-only :class:`~segenv.data.case.Case` objects.
Cases that cannot be used are rejected with the file and the reason, and a report of what
was loaded and rejected is printed (``verbose=True``) and kept in :attr:`NiftiSource.report`.
With ``strict=True`` the first problem raises instead.

The crop margins of case ``name`` are drawn from a generator seeded by ``(seed, name)``, so a
case is preprocessed identically in every run, independently of the other cases.

Example::

    source = NiftiSource.from_msd("Task01_BrainTumour", modality="FLAIR")
    env = gym.make("InteractiveSeg3D-v0", dataset=source)
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from segenv.data.cache import CacheStatus, VolumeCache, default_cache_dir, file_fingerprint
from segenv.data.cache import settings_hash as hash_settings
from segenv.data.case import DEFAULT_SHAPE, Case, make_case
from segenv.data.layouts import Layout, Rejection, detect_layout, msd_layout, paired_layout
from segenv.data.nifti import AFFINE_TOLERANCE, CaseFiles, LabelMap, read_case
from segenv.data.preprocess import (
    Crop,
    CropToForeground,
    Normalise,
    Pipeline,
    Provenance,
    Resample,
    ResizeTo,
    Transform,
    Volume,
    ZNormalise,
    check_shape,
    dataset_statistics,
    register_provenance,
)
from segenv.data.presets import Preset, get_preset
from segenv.errors import ConfigError, DataError, InputTypeError, describe

__all__ = ["LoadReport", "NiftiSource", "load_dataset"]

NORMALISATIONS = ("dataset", "case", "none")
PathLike = str | os.PathLike[str]


@dataclass
class LoadReport:
    """What a load did: cases kept, cases rejected (with reasons) and cache use."""

    name: str
    num_cases: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    from_cache: int = 0
    built: int = 0
    rebuilt: dict[str, str] = field(default_factory=dict)  # case → "stale" / "corrupt"

    def __str__(self) -> str:
        lines = [
            f"segenv: data set {self.name!r}: {self.num_cases} case(s) loaded "
            f"({self.from_cache} from cache, {self.built} preprocessed), "
            f"{len(self.rejected)} rejected"
        ]
        lines += [f"  rebuilt {case}: cache entry was {why}" for case, why in self.rebuilt.items()]
        lines += [f"  rejected {rejection}" for rejection in self.rejected]
        return "\n".join(lines)


@dataclass(frozen=True)
class _Settings:
    shape: tuple[int, int, int] | None
    modality: tuple[int | str, ...]
    labels: LabelMap
    crop: str | None
    margin: tuple[int, int]
    canonical: bool
    seed: int
    affine_tolerance: float

    def as_json(self) -> dict[str, Any]:
        return {
            "shape": self.shape,
            "modality": list(self.modality),
            "foreground": self.labels.foreground,
            "known": self.labels.known,
            "crop": self.crop,
            "margin": list(self.margin),
            "canonical": self.canonical,
            "seed": self.seed,
            "affine_tolerance": self.affine_tolerance,
            "version": 1,
        }


@dataclass(frozen=True)
class _Prepared:
    """A preprocessed, not yet normalised case."""

    name: str
    volume: Volume
    provenance: Provenance


def _case_rng(seed: int, name: str) -> np.random.Generator:
    digest = hashlib.sha256(name.encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def _pipeline(settings: _Settings) -> Pipeline:
    steps: list[Any] = []
    if settings.crop is not None:
        steps.append(CropToForeground(settings.crop, settings.margin))
    if settings.shape is not None:
        steps.append(ResizeTo(settings.shape))
    return Pipeline(steps)


def _provenance_arrays(provenance: Provenance) -> dict[str, np.ndarray]:
    box = np.full((3, 2), -1, dtype=np.int64)
    target = np.full(3, -1, dtype=np.int64)
    for transform in provenance.preprocessing:
        if isinstance(transform, Crop):
            box = np.asarray(transform.box, dtype=np.int64)
        elif isinstance(transform, Resample):
            target = np.asarray(transform.shape, dtype=np.int64)
    return {
        "source_shape": np.asarray(provenance.source_shape, dtype=np.int64),
        "crop_box": box,
        "resample_shape": target,
    }


def _provenance_from(arrays: Mapping[str, np.ndarray]) -> Provenance:
    transforms: list[Transform] = []
    box = arrays["crop_box"]
    if (box >= 0).all():
        transforms.append(Crop(tuple((int(a), int(b)) for a, b in box)))  # type: ignore[arg-type]
    target = arrays["resample_shape"]
    if (target > 0).all():
        transforms.append(Resample(tuple(int(t) for t in target)))  # type: ignore[arg-type]
    source_shape = tuple(int(s) for s in arrays["source_shape"])
    return Provenance(source_shape, tuple(transforms))  # type: ignore[arg-type]


class NiftiSource:
    """A :class:`~segenv.data.case.CaseSource` of preprocessed NIfTI cases (all in memory).

    Build one with :meth:`from_msd`, :meth:`from_pairs`, :meth:`from_preset` or
    :func:`load_dataset`; ``source[i]`` is a read-only :class:`Case`, ``source.names`` the
    case names, ``source.subset(names)`` a split of it (same normalisation).
    """

    def __init__(
        self,
        layout: Layout,
        *,
        shape: Sequence[int] | None = DEFAULT_SHAPE,
        modality: int | str | Sequence[int | str] = 0,
        labels: LabelMap | int | Sequence[int] | str | None = None,
        crop: str | None = "nonzero",
        margin: tuple[int, int] = (0, 10),
        normalise: str | tuple[Sequence[float], Sequence[float]] = "dataset",
        canonical: bool = True,
        seed: int = 0,
        cache_dir: PathLike | bool | None = None,
        strict: bool = False,
        verbose: bool = True,
        affine_tolerance: float = AFFINE_TOLERANCE,
    ) -> None:
        """Load, check, preprocess (or read from the cache) and normalise every case.

        Args:
            layout: The case files (:func:`~segenv.data.layouts.msd_layout`,
                :func:`~segenv.data.layouts.paired_layout`).
            shape: ``(D, H, W)`` every case is resized to (image linear, label nearest);
                None keeps the cropped size (cases may then differ in shape).
            modality: Channel index, name (``dataset.json`` ``modality``, e.g. ``"FLAIR"``) or
                several; the image of each case has one channel per entry.
            labels: Foreground definition: None / ``"nonzero"`` (label > 0), a value, values,
                or a :class:`~segenv.data.nifti.LabelMap`. Known values default to the layout's.
            crop: ``"nonzero"`` (IteR-MRL), ``"label"`` (MECCA) or None (no crop).
            margin: ``(lo, hi)`` random margin per side of the crop, in voxels.
            normalise: ``"dataset"`` (z-normalise with the mean/std of all loaded cases, per
                modality; the papers), ``"case"`` (each case by its own), ``"none"``, or
                explicit ``(means, stds)``.
            canonical: Reorient to RAS+ before ``(x, y, z)`` → ``(z, y, x)``
                (see :mod:`segenv.data.nifti`).
            seed: Seeds the crop margins (per case, with its name).
            cache_dir: Folder of the preprocessed-volume cache; None = the default folder
                (:func:`~segenv.data.cache.default_cache_dir`), False = no cache.
            strict: Raise on the first unusable case instead of rejecting and reporting it.
            verbose: Print the load report.
            affine_tolerance: Largest allowed image/label affine difference.

        Raises:
            DataError: No usable case (the message lists every rejection), or any problem
                when ``strict``.
        """
        settings = _Settings(
            shape=None if shape is None else check_shape(shape),
            modality=_modality_indices(modality, layout.modality_names),
            labels=LabelMap.parse(labels).with_known(layout.label_values),
            crop=_check_crop(crop),
            margin=CropToForeground(margin=margin).margin,
            canonical=bool(canonical),
            seed=_check_seed(seed),
            affine_tolerance=float(affine_tolerance),
        )
        explicit = _explicit_statistics(normalise)  # validated before any file is read
        self.layout = layout
        self.settings = settings
        self.report = LoadReport(layout.name, rejected=list(layout.rejected))
        if strict and layout.rejected:
            raise DataError(str(layout.rejected[0].reason))
        cache = _resolve_cache(cache_dir)
        prepared = []
        for files in layout.files:
            try:
                prepared.append(self._prepare(files, cache))
            except DataError as error:
                if strict:
                    raise
                self.report.rejected.append(Rejection(files.name, str(files.image), str(error)))
        _check_loadable(prepared, self.report)
        self.normalisation = normalise if isinstance(normalise, str) else "explicit"
        self.statistics = explicit
        if normalise == "dataset":
            mean, std = dataset_statistics(item.volume.image for item in prepared)
            self.statistics = Normalise(tuple(map(float, mean)), tuple(map(float, std)))
        self._cases = [self._finish(item) for item in prepared]
        self.report.num_cases = len(self._cases)
        if verbose:
            print(self.report, file=sys.stderr)

    # ------------------------------------------------------------ constructors
    @classmethod
    def from_msd(cls, folder: PathLike, **options: Any) -> NiftiSource:
        """The labelled (``training``) cases of an MSD task folder; options as ``__init__``."""
        return cls(msd_layout(folder), **options)

    @classmethod
    def from_pairs(
        cls,
        folder: PathLike | None = None,
        *,
        pairs: Sequence[tuple[PathLike, PathLike]] | None = None,
        image_glob: str | None = None,
        label_glob: str | None = None,
        **options: Any,
    ) -> NiftiSource:
        """Image/label pairs (see :func:`~segenv.data.layouts.paired_layout`)."""
        layout = paired_layout(folder, pairs=pairs, image_glob=image_glob, label_glob=label_glob)
        return cls(layout, **options)

    @classmethod
    def from_preset(cls, preset: str | Preset, folder: PathLike, **overrides: Any) -> NiftiSource:
        """A named configuration of the papers' tasks (:data:`segenv.data.presets.PRESETS`).

        ``overrides`` win over the preset's own options (e.g. ``shape=``, ``cache_dir=``).
        """
        chosen = get_preset(preset) if isinstance(preset, str) else preset
        options = chosen.source_options(**overrides)
        if chosen.layout == "msd":
            return cls.from_msd(folder, **options)
        return cls.from_pairs(folder, **options)

    # ------------------------------------------------------------ CaseSource
    def __len__(self) -> int:
        """Number of loaded cases."""
        return len(self._cases)

    def __getitem__(self, index: int) -> Case:
        """The case at ``index`` (negative indices count from the end)."""
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise InputTypeError(f"NiftiSource index must be an int, got {describe(index)}")
        return self._cases[int(index)]

    def __iter__(self) -> Iterator[Case]:
        """The cases in order."""
        return iter(self._cases)

    def __repr__(self) -> str:
        return f"NiftiSource({self.layout.name!r}, {len(self)} cases, shape={self.settings.shape})"

    @property
    def names(self) -> tuple[str, ...]:
        """The case names, in order."""
        return tuple(case.name for case in self._cases)

    def subset(self, names: Sequence[str]) -> NiftiSource:
        """The cases with these names (in this order), sharing this source's normalisation."""
        index = {case.name: case for case in self._cases}
        missing = [n for n in names if n not in index]
        if missing:
            raise DataError(
                f"cases {missing[:5]} are not in data set {self.layout.name!r} "
                f"({len(self)} cases); were they rejected, or is the split from another data set?"
            )
        view = object.__new__(NiftiSource)
        view.layout, view.settings, view.report = self.layout, self.settings, self.report
        view.normalisation, view.statistics = self.normalisation, self.statistics
        view._cases = [index[n] for n in names]
        return view

    # --------------------------------------------------------------- internals
    def _prepare(self, files: CaseFiles, cache: VolumeCache | None) -> _Prepared:
        settings = self.settings
        for path in (files.image, files.label):
            if not Path(path).is_file():
                raise DataError(f"{path}: file not found")
        fingerprint = file_fingerprint([files.image, files.label])
        key = hash_settings({"name": files.name, **settings.as_json()})
        if cache is not None:
            status, arrays, _ = cache.load(files.name, key, fingerprint)
            if status is CacheStatus.HIT:
                self.report.from_cache += 1
                volume = Volume(arrays["image"], arrays["label"], _spacing(arrays["spacing"]))
                return _Prepared(files.name, volume, _provenance_from(arrays))
            if status in (CacheStatus.STALE, CacheStatus.CORRUPT):
                self.report.rebuilt[files.name] = status.value
        raw = read_case(
            files,
            modalities=settings.modality,
            modality_names=self.layout.modality_names,
            labels=settings.labels,
            canonical=settings.canonical,
            affine_tolerance=settings.affine_tolerance,
        )
        source = Volume(raw.image, raw.label, raw.spacing)
        try:
            volume, transforms = _pipeline(settings)(source, _case_rng(settings.seed, files.name))
        except DataError as error:
            raise DataError(f"{files.image}: {error}") from None
        if not volume.label.any():
            raise DataError(
                f"{files.label}: the foreground vanished when resizing to {settings.shape} "
                "(the object is smaller than one output voxel); use a larger shape or drop it"
            )
        provenance = Provenance(raw.label.shape, transforms)  # type: ignore[arg-type]
        self.report.built += 1
        if cache is not None:
            arrays = {
                "image": np.ascontiguousarray(volume.image, dtype=np.float32),
                "label": np.ascontiguousarray(volume.label),
                "spacing": np.asarray(volume.spacing, dtype=np.float64),
                **_provenance_arrays(provenance),
            }
            cache.save(files.name, key, fingerprint, arrays, {"image": str(files.image)})
        return _Prepared(files.name, volume, provenance)

    def _finish(self, item: _Prepared) -> Case:
        volume = item.volume
        if self.statistics is not None:
            volume = self.statistics.apply(volume)
        elif self.normalisation == "case":
            mean, std = dataset_statistics([volume.image])
            volume = Normalise(tuple(mean), tuple(std)).apply(volume)
        case = make_case(volume.image, volume.label, volume.spacing, name=item.name)
        case.image.flags.writeable = False
        case.label.flags.writeable = False
        register_provenance(case, item.provenance)
        return case


def _explicit_statistics(
    normalise: str | tuple[Sequence[float], Sequence[float]],
) -> Normalise | None:
    """Validate ``normalise=``; return the statistics it gives explicitly, if any."""
    if isinstance(normalise, str):
        if normalise not in NORMALISATIONS:
            raise ConfigError(
                f"normalise={normalise!r} is unknown; use one of {NORMALISATIONS} or (means, stds)"
            )
        return None
    try:
        means, stds = (tuple(values) for values in normalise)
    except (TypeError, ValueError):
        raise ConfigError(
            f"normalise= must be a mode name or (means, stds), got {normalise!r}"
        ) from None
    explicit = ZNormalise(means, stds)
    return Normalise(explicit.mean, explicit.std)


def _modality_indices(
    modality: int | str | Sequence[int | str], names: Mapping[int, str] | None
) -> tuple[int | str, ...]:
    """Channel names declared by the layout, as indices (the cache key ignores spelling).

    Unknown names are kept, to fail with a clear message when the image is read.
    """
    items = (modality,) if isinstance(modality, (int, str)) else tuple(modality)
    lookup = {name.lower(): index for index, name in (names or {}).items()}
    return tuple(lookup.get(i.lower(), i) if isinstance(i, str) else i for i in items)


def _spacing(values: np.ndarray) -> tuple[float, float, float]:
    return float(values[0]), float(values[1]), float(values[2])


def _check_crop(crop: str | None) -> str | None:
    if crop not in ("nonzero", "label", None):
        raise ConfigError(f"crop={crop!r} is unknown; use 'nonzero', 'label' or None")
    return crop


def _check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed= must be a non-negative int, got {seed!r}")
    return int(seed)


def _resolve_cache(cache_dir: PathLike | bool | None) -> VolumeCache | None:
    if cache_dir is False:
        return None
    if cache_dir is None or cache_dir is True:
        return VolumeCache(default_cache_dir() / "volumes")
    return VolumeCache(cache_dir)


def _check_loadable(prepared: Sequence[_Prepared], report: LoadReport) -> None:
    if not prepared:
        reasons = "\n".join(f"  {r}" for r in report.rejected) or "  (no cases listed)"
        raise DataError(f"data set {report.name!r}: no usable case; rejected:\n{reasons}")
    shapes = {item.volume.label.shape for item in prepared}
    if len(shapes) > 1:  # only with shape=None, which keeps each case's cropped size
        print(
            f"segenv: data set {report.name!r} has {len(shapes)} different shapes (shape=None); "
            "the environment needs one — pass shape=(D, H, W)",
            file=sys.stderr,
        )


def load_dataset(path: PathLike, **options: Any) -> NiftiSource:
    """A :class:`NiftiSource` for a folder, its layout detected.

    An MSD task if the folder has ``dataset.json`` or ``imagesTr/``, plain image/label pairs
    otherwise; options as :class:`NiftiSource`. This is what
    ``gym.make("InteractiveSeg3D-v0", dataset="path/to/Task01_BrainTumour")`` calls:
    modality 0, foreground = label > 0, resized to the env's ``shape``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InputTypeError(f"dataset path must be a str or os.PathLike, got {describe(path)}")
    return NiftiSource(detect_layout(path), **options)
