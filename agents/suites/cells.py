"""A cell's settings and its folder: what the runner trains and the report reads back.

:func:`cell_args` resolves a cell's ``Args`` (through the learner registry), :func:`cell_config`
is the record that identifies its training run, and :func:`same_config_changes` says how a
recorded run differs from the current settings. A cell's folder ``OUT/cells/<cell>/`` holds
``cell.json`` (the settings, written first), ``run/`` (the learner's run directory),
``trained.json`` (training done) and ``result.json`` (every evaluation, written last); every
record is written atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from segenv.errors import ConfigError, DataError
from segenv.files import atomic_write_text

from .. import registry
from ..common.config import EnvArgs
from .definitions import NON_TRAINED, Cell, Profile

RESULT_NAME = "result.json"
TRAINED_NAME = "trained.json"
CELL_NAME = "cell.json"
INFORMATIONAL = ("args_class",)
"""Recorded for people, not compared: the learner and its fields identify a run (the class
path changed when the learners' package became ``segenv_agents``)."""


def cell_args(cell: Cell, profile: Profile) -> EnvArgs:
    """The learner's ``Args`` of ``cell`` (``EnvArgs`` for a learning-free row).

    Order: the learner's ``CONFIGS[profile.preset]`` → the fields its name fixes → the
    profile's common overrides (where the field exists) → the profile's per-learner ones →
    the cell's → the seed.
    """
    args: EnvArgs
    if not cell.trained:
        args = EnvArgs()
        strict: dict[str, Any] = {}
    else:
        if cell.learner not in registry.LEARNERS:
            raise ConfigError(
                f"cell {cell.name!r}: learner {cell.learner!r} is unknown; choose one of "
                f"{sorted(registry.LEARNERS)} or a learning-free row {NON_TRAINED}"
            )
        args = registry.preset(cell.learner, profile.preset)
        strict = {**profile.per_learner.get(cell.learner, {}), "seed": cell.seed}
    names = {item.name for item in dataclasses.fields(args)}
    changes = {key: value for key, value in profile.common.items() if key in names}
    for key, value in {**strict, **cell.overrides}.items():
        if key not in names:
            raise ConfigError(
                f"cell {cell.name!r}: {type(args).__module__}.Args has no field {key!r}"
            )
        changes[key] = value
    changes = {key: tuple(v) if isinstance(v, list) else v for key, v in changes.items()}
    return dataclasses.replace(args, **changes)


def cell_config(cell: Cell, profile: Profile) -> dict[str, Any]:
    """What identifies a cell's training run: the learner and every ``Args`` field (JSON)."""
    args = cell_args(cell, profile)
    args_class = f"{type(args).__module__}.{type(args).__qualname__}"
    return jsonable(
        {"learner": cell.learner, "args_class": args_class, "args": dataclasses.asdict(args)}
    )


def field_defaults(cell: Cell, profile: Profile) -> dict[str, Any]:
    """Flattened ``args.<field>`` defaults of a cell's ``Args``, for records predating a field."""
    args = cell_args(cell, profile)
    values = {
        field.name: field.default
        for field in dataclasses.fields(args)
        if field.default is not dataclasses.MISSING
    }
    return flatten(jsonable({"args": values}))


def config_key(config: Mapping[str, Any]) -> str:
    """A short hash of a cell config."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def same_config_changes(
    recorded: Mapping[str, Any],
    current: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
) -> list[str]:
    """``"key: old → new"`` for every setting in which a recorded run differs from ``current``.

    A setting the record predates counts at its default; :data:`INFORMATIONAL` keys are not
    compared.
    """
    old, new = flatten(recorded), flatten(current)
    for key in INFORMATIONAL:
        old.pop(key, None)
        new.pop(key, None)
    for key, value in (defaults or {}).items():
        if key not in old and new.get(key) == value:
            old[key] = value
    return [
        f"{key}: {old.get(key, '—')!r} → {new.get(key, '—')!r}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def jsonable(value: Any) -> Any:
    """Tuples → lists, everything else JSON-native or ``str``, so records compare equal."""
    return json.loads(json.dumps(value, default=str))


def flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# ------------------------------------------------------------------------------- the folder


def cell_dir(out_dir: Path, cell: Cell) -> Path:
    """``OUT/cells/<cell name>``."""
    return Path(out_dir) / "cells" / cell.name


def read_record(path: Path) -> dict[str, Any]:
    """A JSON record of a cell's folder."""
    return dict(json.loads(path.read_text(encoding="utf-8")))


def write_record(path: Path, record: Mapping[str, Any]) -> None:
    """Write a JSON record atomically (a killed run leaves the old record or the new one)."""
    atomic_write_text(path, json.dumps(record, indent=1) + "\n")


def read_result(out_dir: Path, cell: Cell) -> dict[str, Any] | None:
    """A cell's ``result.json``, or None if it has not finished."""
    path = cell_dir(out_dir, cell) / RESULT_NAME
    if not path.exists():
        return None
    try:
        return read_record(path)
    except (OSError, ValueError) as error:
        raise DataError(
            f"cannot read {path}: {error}; re-run the cell with --only {cell.name} --rerun"
        ) from error
