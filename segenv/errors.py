"""The package's errors.

Every user-facing problem is one of these, with a message that names the offending argument,
the value it got, and how to fix it.
"""

from __future__ import annotations


class SegEnvError(Exception):
    """Base class of every error segenv raises on purpose."""


class ConfigError(SegEnvError, ValueError):
    """An argument or configuration value is invalid (wrong value, unknown name, bad shape)."""


class InputTypeError(SegEnvError, TypeError):
    """An argument has the wrong type or dtype."""


class DataError(SegEnvError, ValueError):
    """A volume, label map or file is unusable (NaN, empty foreground, missing file, ...)."""


def describe(value: object) -> str:
    """A short, safe description of ``value`` for error messages (arrays by shape and dtype)."""
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        return f"{type(value).__name__}(shape={tuple(shape)}, dtype={dtype})"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class EnvStateError(SegEnvError, RuntimeError):
    """The environment was used out of order (e.g. ``step`` after the episode ended)."""
