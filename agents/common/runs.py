"""The record of a run directory: ``config.json`` names the learner and holds its ``Args``.

Nothing here imports torch, so the command line reads a run without the learners' stack.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from segenv.errors import DataError
from segenv.files import atomic_write_text

CONFIG_NAME = "config.json"


def write_config(out_dir: Path, learner: str, args: Any) -> None:
    """Record the learner and its ``Args`` dataclass as ``out_dir/config.json``."""
    record = {"learner": learner, "args": dataclasses.asdict(args)}
    atomic_write_text(Path(out_dir) / CONFIG_NAME, json.dumps(record, indent=2) + "\n")


def read_config(out_dir: Path) -> tuple[str, dict[str, Any]]:
    """The learner name and ``Args`` fields recorded in a run directory."""
    path = Path(out_dir) / CONFIG_NAME
    if not path.exists():
        raise DataError(f"{out_dir} is not a run directory: {CONFIG_NAME} is missing")
    record = json.loads(path.read_text(encoding="utf-8"))
    return str(record["learner"]), dict(record["args"])


def args_from_dict(cls: type[Any], values: Mapping[str, Any]) -> Any:
    """Rebuild an ``Args`` dataclass from :func:`read_config` values (lists → tuples)."""
    names = {field.name for field in dataclasses.fields(cls)}
    kwargs = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in values.items()
        if key in names
    }
    return cls(**kwargs)
