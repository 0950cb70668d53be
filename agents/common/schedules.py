"""Schedules of a training coefficient over a run, as pure functions of its progress."""

from __future__ import annotations

from segenv.errors import ConfigError


def progress_of(done: int, total: int) -> float:
    """How far a run is, in [0, 1]: ``done`` of ``total`` updates, 1 at the last one."""
    return min(1.0, max(0.0, done / max(1, total - 1)))


def geometric_decay(start: float, final_fraction: float, progress: float) -> float:
    """``start · final_fraction^progress``: from ``start`` at 0 to its fraction at 1.

    The entropy schedule of the A3C, MECCA, PPO and SB3 presets (``final_fraction`` = 1 keeps
    the coefficient constant).
    """
    return start * final_fraction ** min(1.0, max(0.0, progress))


def check_final_fraction(name: str, value: float) -> None:
    """Refuse a decay's final fraction outside (0, 1] with a message naming the field."""
    if not 0 < value <= 1:
        raise ConfigError(f"{name} must be in (0, 1] (1 = constant), got {value}")
