"""The record of a run directory: ``config.json`` names the learner and holds its ``Args``.

:func:`check_resume` keeps a resumed run what it was: only :data:`RESUMABLE_FIELDS` (the
budget, the checkpoint interval, logging, device and threads) may differ from the record.
Nothing here imports torch, so the command line reads a run without the learners' stack.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from segenv.errors import ConfigError, DataError
from segenv.files import atomic_write_text

CONFIG_NAME = "config.json"

RESUMABLE_FIELDS = (
    "total_updates",
    "total_timesteps",
    "checkpoint_every_s",
    "log_every",
    "eval_episodes",
    "device",
    "threads",
)
"""``Args`` fields a resumed run may change: more (or fewer) updates, the checkpoint interval,
logging, the evaluation default, where torch runs. Any other field changes the environment,
the network or the learner, and a resume that changes one is refused."""


RECORD_ONLY_FIELDS = ("world_size",)
"""Recorded about a run but never compared on resume: a run saved by N ranks resumes with
any number of them (:mod:`.distributed`)."""


def write_config(out_dir: Path, learner: str, args: Any, *, world_size: int = 1) -> None:
    """Record the learner and its ``Args`` dataclass as ``out_dir/config.json``.

    ``world_size`` (the ranks of a torchrun run, 1 otherwise) is recorded beside them; it is
    not one of the ``Args`` fields :func:`check_resume` compares, so a run resumes with any
    number of ranks.
    """
    record = {"learner": learner, "args": dataclasses.asdict(args), "world_size": world_size}
    atomic_write_text(Path(out_dir) / CONFIG_NAME, json.dumps(record, indent=2) + "\n")


def read_config(out_dir: Path) -> tuple[str, dict[str, Any]]:
    """The learner name and ``Args`` fields recorded in a run directory."""
    path = Path(out_dir) / CONFIG_NAME
    if not path.exists():
        raise DataError(f"{out_dir} is not a run directory: {CONFIG_NAME} is missing")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return str(record["learner"]), dict(record["args"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        reason = error.strerror if isinstance(error, OSError) else _reason(error)
        raise DataError(
            f"{path} is damaged ({reason}); restore it from a copy, or train again into "
            "another --out directory"
        ) from None


def announce_fresh_start(out_dir: Path) -> None:
    """Say (on stderr) that a ``--resume`` found no checkpoint and starts a fresh run."""
    print(f"segenv: {out_dir} holds no checkpoint yet; starting a fresh run there", file=sys.stderr)


def _reason(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r} entry"
    if isinstance(error, TypeError):
        return "not a JSON object"
    return str(error)


def check_resume(
    out_dir: Path,
    learner: str,
    args: Any,
    *,
    sources: Mapping[str, str] | None = None,
) -> None:
    """Refuse to resume the run in ``out_dir`` with settings that would make it another run.

    Nothing to check when ``out_dir`` holds no ``config.json`` yet. A field the record
    predates counts at its default.

    Args:
        out_dir: The run directory.
        learner: The learner's name, as :func:`write_config` records it.
        args: The ``Args`` dataclass the resumed run would use.
        sources: Where a current value comes from, by field (e.g. ``{"shape": "--shape"}``),
            for the message; default ``--field-name``.

    Raises:
        ConfigError: Another learner's run, or fields outside :data:`RESUMABLE_FIELDS` differ;
            the message names each field, its recorded value and the current one.
    """
    if not (Path(out_dir) / CONFIG_NAME).exists():
        return
    recorded_learner, recorded = read_config(out_dir)
    if recorded_learner != learner:
        raise ConfigError(
            f"{out_dir} holds a {recorded_learner!r} run, not {learner!r}; resume it with "
            f"segenv train {recorded_learner} --out {out_dir} --resume, or choose another --out"
        )
    changed = resume_conflicts(recorded, args)
    if not changed:
        return
    sources = sources or {}
    parts = [
        f"{name} is {_shown(old)} in its {CONFIG_NAME}, {_shown(new)} now "
        f"({sources.get(name, '--' + name.replace('_', '-'))})"
        for name, old, new in changed
    ]
    allowed = ", ".join("--" + name.replace("_", "-") for name in RESUMABLE_FIELDS)
    raise ConfigError(
        f"--resume cannot change how {out_dir} was trained: {'; '.join(parts)}. On resume only "
        f"{allowed} and --no-progress may change; drop the others, or train a new run into "
        "another --out directory"
    )


def resume_conflicts(recorded: Mapping[str, Any], args: Any) -> list[tuple[str, Any, Any]]:
    """``(field, recorded value, current value)`` for each non-resumable field that differs."""
    conflicts = []
    for field in dataclasses.fields(args):
        if field.name in RESUMABLE_FIELDS or field.name in RECORD_ONLY_FIELDS:
            continue
        current = _jsonable(getattr(args, field.name))
        if field.name in recorded:
            old = _jsonable(recorded[field.name])
        elif field.default is not dataclasses.MISSING:
            old = _jsonable(field.default)
        else:
            old = None
        if old != current:
            conflicts.append((field.name, old, current))
    return conflicts


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _shown(value: Any) -> str:
    return repr(tuple(value)) if isinstance(value, list) else repr(value)


def args_from_dict(cls: type[Any], values: Mapping[str, Any]) -> Any:
    """Rebuild an ``Args`` dataclass from :func:`read_config` values (lists → tuples)."""
    names = {field.name for field in dataclasses.fields(cls)}
    kwargs = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in values.items()
        if key in names
    }
    return cls(**kwargs)
