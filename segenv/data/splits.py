"""Seeded, disjoint splits of case names, saved to and read from JSON (IteR-MRL §4.1).

IteR-MRL trains the initial (coarse) method on ``train1``, the update method on ``train2``
(whose initial probabilities come from the initial method, which never saw them) and tests
on ``test``. :func:`three_way_split` draws them; :func:`two_way_split` is the usual
``train`` / ``test``. Names are sorted before the seeded permutation, so the split depends
only on the set of names and the seed, not on the order files were listed in.

File format (``Splits.save``)::

    {"format": "segenv.splits", "version": 1, "seed": 0,
     "splits": {"train1": [...], "train2": [...], "test": [...]}}
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

from segenv.errors import ConfigError, DataError, InputTypeError
from segenv.files import atomic_write_text

__all__ = ["PAPER_FRACTIONS", "Splits", "three_way_split", "two_way_split"]

PAPER_FRACTIONS: tuple[float, float, float] = (0.4, 0.4, 0.2)
"""Default ``train1 : train2 : test`` (MM-WHS 8/8/4 and NCI-ISBI 32/32/16 in IteR-MRL)."""

_FORMAT = "segenv.splits"
_VERSION = 1

S = TypeVar("S", bound="Subsettable")


class Subsettable(Protocol):
    """A source that can be restricted to named cases (e.g. :class:`NiftiSource`)."""

    def subset(self: S, names: Sequence[str]) -> S:
        """The cases with these names."""
        ...


@dataclass(frozen=True)
class Splits:
    """Named, disjoint groups of case names (e.g. ``train1`` / ``train2`` / ``test``)."""

    groups: Mapping[str, tuple[str, ...]]
    seed: int | None = None

    def __post_init__(self) -> None:
        """Check that no name is repeated within or across groups."""
        groups = {str(k): tuple(str(n) for n in v) for k, v in dict(self.groups).items()}
        seen: dict[str, str] = {}
        for group, names in groups.items():
            for name in names:
                if name in seen:
                    raise DataError(
                        f"splits are not disjoint: case {name!r} is in both {seen[name]!r} "
                        f"and {group!r}"
                    )
                seen[name] = group
        object.__setattr__(self, "groups", groups)

    def __getitem__(self, group: str) -> tuple[str, ...]:
        """The names of one group."""
        if group not in self.groups:
            raise ConfigError(f"no split named {group!r}; the splits are {list(self.groups)}")
        return self.groups[group]

    def sources(self, source: S) -> dict[str, S]:
        """``{group: source.subset(names)}`` for every group."""
        return {group: source.subset(names) for group, names in self.groups.items()}

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the splits as JSON (atomically)."""
        payload = {
            "format": _FORMAT,
            "version": _VERSION,
            "seed": self.seed,
            "splits": {group: list(names) for group, names in self.groups.items()},
        }
        return atomic_write_text(path, json.dumps(payload, indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Splits:
        """Read splits written by :meth:`save`.

        Raises:
            DataError: The file is missing, not JSON, not a splits file, or not disjoint.
        """
        source = Path(path)
        try:
            payload = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{source}: splits file not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DataError(f"{source}: not a readable JSON splits file ({error})") from None
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise DataError(f"{source}: not a segenv splits file (no format {_FORMAT!r})")
        groups = payload.get("splits")
        if not isinstance(groups, dict) or not all(isinstance(v, list) for v in groups.values()):
            raise DataError(f"{source}: 'splits' must map split names to lists of case names")
        try:
            return cls(groups, payload.get("seed"))
        except DataError as error:
            raise DataError(f"{source}: {error}") from None


def _shuffled(names: Sequence[str], seed: int) -> list[str]:
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise InputTypeError("names must be a sequence of case-name strings")
    ordered = sorted(names)
    if len(set(ordered)) != len(ordered):
        raise DataError("case names must be unique to be split")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative int, got {seed!r}")
    order = np.random.default_rng(int(seed)).permutation(len(ordered))
    return [ordered[i] for i in order]


def _count(name: str, value: object, total: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive int, got {value!r}")
    if value > total:
        raise ConfigError(f"{name}={value} is more than the {total} cases available")
    return int(value)


def three_way_split(
    names: Sequence[str],
    *,
    num_train: int | None = None,
    num_test: int | None = None,
    fractions: Sequence[float] = PAPER_FRACTIONS,
    seed: int = 0,
) -> Splits:
    """``train1`` / ``train2`` / ``test``: two equal training sets and a test set.

    ``num_train`` is the size of each training set; ``num_test`` defaults to every remaining
    case (when given, exactly that many are used and any others are left out). With neither,
    ``num_train = (n - round(fractions[2] · n)) // 2`` and the rest is ``test``.
    IteR-MRL: BraTS 117/117/40, MM-WHS 8/8/4, NCI-ISBI 32/32/16.

    Raises:
        ConfigError: The sizes do not fit the number of names (at least 3 are needed).
    """
    order = _shuffled(names, seed)
    n = len(order)
    if n < 3:
        raise ConfigError(f"a three-way split needs at least 3 cases, got {n}")
    if num_train is None:
        if num_test is None:
            if len(fractions) != 3 or min(fractions) < 0 or sum(fractions) <= 0:
                raise ConfigError(
                    f"fractions must be three non-negative numbers, got {fractions!r}"
                )
            reserved = min(n - 2, max(1, round(fractions[2] / sum(fractions) * n)))
        else:
            reserved = _count("num_test", num_test, n - 2)
        num_train = (n - reserved) // 2
    num_train = _count("num_train", num_train, (n - 1) // 2)
    remaining = n - 2 * num_train
    num_test = remaining if num_test is None else _count("num_test", num_test, remaining)
    return Splits(
        {
            "train1": tuple(order[:num_train]),
            "train2": tuple(order[num_train : 2 * num_train]),
            "test": tuple(order[2 * num_train : 2 * num_train + num_test]),
        },
        seed,
    )


def two_way_split(
    names: Sequence[str], *, num_test: int | None = None, test_fraction: float = 0.2, seed: int = 0
) -> Splits:
    """``train`` / ``test``, with ``num_test`` or ``round(test_fraction · n)`` (≥ 1) test cases."""
    order = _shuffled(names, seed)
    n = len(order)
    if n < 2:
        raise ConfigError(f"a two-way split needs at least 2 cases, got {n}")
    if num_test is None:
        if not 0 < test_fraction < 1:
            raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
        num_test = min(n - 1, max(1, round(test_fraction * n)))
    num_test = _count("num_test", num_test, n - 1)
    return Splits({"train": tuple(order[num_test:]), "test": tuple(order[:num_test])}, seed)
