"""Checks of plain argument values, shared by every module that validates user input.

Each returns the value as a plain Python type or raises a :mod:`segenv.errors` error that
quotes the bad value and the accepted range. ``name`` is how the caller names the argument in
the message: ``"clicks_per_step="`` for a keyword argument, ``"n_clicks"`` for a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

from segenv.errors import ConfigError, InputTypeError

__all__ = ["check_choice", "check_count", "check_number"]

T = TypeVar("T")


def check_count(name: str, value: object, *, minimum: int = 0) -> int:
    """An int (numpy ints too, not bool) that is ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_number(
    name: str, value: object, *, low: float, high: float, low_open: bool = False
) -> float:
    """A real number (not bool) in ``[low, high]``, or ``(low, high]`` with ``low_open``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise InputTypeError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not (low < number if low_open else low <= number) or not number <= high:
        bracket = "(" if low_open else "["
        raise ConfigError(f"{name} must be in {bracket}{low}, {high}], got {value!r}")
    return number


def check_choice(name: str, value: T, choices: Sequence[T]) -> T:
    """``value``, one of ``choices`` (``name`` is the keyword, e.g. ``"state"``)."""
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is unknown; use one of {tuple(choices)}")
    return value
