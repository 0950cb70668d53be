"""An on-disk cache of preprocessed volumes (``.npz`` files, written atomically).

An entry is named by the case and a hash of the settings that produced it
(``<case>-<settings hash>.npz``) and stores, next to its arrays, the *fingerprint* of the
source files (path, size, modification time) and a SHA-256 digest of its own contents. On
:meth:`VolumeCache.load` an entry whose fingerprint differs from the files' current one is
*stale*, and one that cannot be read or whose digest does not match is *corrupt*; both are
reported as misses so the caller rebuilds and overwrites them. Entries are written to a
temporary file in the same folder and moved into place (:func:`segenv.files.atomic_write`), so a
crash never leaves a half-written entry under the real name.

The default folder is ``$SEGENV_CACHE_DIR``, else ``$XDG_CACHE_HOME/segenv``, else
``~/.cache/segenv``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zipfile
from collections.abc import Mapping, Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from segenv.files import atomic_write

__all__ = [
    "CacheStatus",
    "VolumeCache",
    "default_cache_dir",
    "file_fingerprint",
    "settings_hash",
]

CACHE_FORMAT = 1
"""Bumped whenever the entry layout changes (older entries are then rebuilt)."""

_META_KEY = "__meta__"


class CacheStatus(Enum):
    """What :meth:`VolumeCache.load` found."""

    HIT = "hit"
    MISSING = "missing"
    STALE = "stale"
    CORRUPT = "corrupt"


def default_cache_dir() -> Path:
    """``$SEGENV_CACHE_DIR``, ``$XDG_CACHE_HOME/segenv`` or ``~/.cache/segenv``."""
    explicit = os.environ.get("SEGENV_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "segenv"


def file_fingerprint(paths: Sequence[str | os.PathLike[str]]) -> str:
    """SHA-256 of each file's absolute path, size and modification time (ns)."""
    digest = hashlib.sha256()
    for path in paths:
        stat = Path(path).stat()
        digest.update(f"{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def settings_hash(settings: Mapping[str, Any]) -> str:
    """A short, stable hash of JSON-serialisable settings (key order does not matter)."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _contents_digest(arrays: Mapping[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{array.dtype.str}|{array.shape}\n".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80] or "case"


class VolumeCache:
    """A folder of ``.npz`` entries keyed by case name and settings hash."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        """Use (and create when needed) ``folder``."""
        self.folder = Path(folder)

    def entry_path(self, name: str, settings_key: str) -> Path:
        """Where the entry of ``name`` under ``settings_key`` lives."""
        return self.folder / f"{_safe_name(name)}-{settings_key}.npz"

    def load(
        self, name: str, settings_key: str, fingerprint: str
    ) -> tuple[CacheStatus, dict[str, np.ndarray], dict[str, Any]]:
        """Read an entry; arrays and metadata are empty unless the status is HIT."""
        path = self.entry_path(name, settings_key)
        if not path.is_file():
            return CacheStatus.MISSING, {}, {}
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {key: stored[key] for key in stored.files}
            meta = json.loads(bytes(arrays.pop(_META_KEY)).decode())
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError):
            return CacheStatus.CORRUPT, {}, {}
        if meta.get("format") != CACHE_FORMAT or meta.get("digest") != _contents_digest(arrays):
            return CacheStatus.CORRUPT, {}, {}
        if meta.get("fingerprint") != fingerprint:
            return CacheStatus.STALE, {}, {}
        return CacheStatus.HIT, arrays, meta.get("extra", {})

    def save(
        self,
        name: str,
        settings_key: str,
        fingerprint: str,
        arrays: Mapping[str, np.ndarray],
        extra: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write an entry atomically (:func:`segenv.files.atomic_write`)."""
        path = self.entry_path(name, settings_key)
        meta = {
            "format": CACHE_FORMAT,
            "fingerprint": fingerprint,
            "digest": _contents_digest(arrays),
            "extra": dict(extra or {}),
        }
        payload = dict(arrays)
        payload[_META_KEY] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        return atomic_write(path, lambda stream: np.savez(stream, **payload))  # type: ignore[arg-type]
