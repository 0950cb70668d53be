"""The training log of a run: TensorBoard scalars, ``scalars.jsonl`` and a progress bar."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class RunLogger:
    """TensorBoard scalars under ``out_dir/tb`` and a progress bar with throughput.

    ``scalars`` writes a dict of scalars at a global step (``scalars.jsonl`` also records the
    wall time and the env steps and transitions so far); ``progress`` advances the bar by
    updates and shows env steps/s and voxel-agent transitions/s. Both degrade gracefully:
    without ``tensorboard`` installed the scalars go to ``out_dir/scalars.jsonl`` only.
    """

    def __init__(
        self, out_dir: Path, *, total: int, initial: int = 0, show_progress: bool = True
    ) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._jsonl = (self.out_dir / "scalars.jsonl").open("a", encoding="utf-8")
        self._writer: Any = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.out_dir / "tb"))
        except ImportError:
            self._writer = None
        self._bar: Any = None
        if show_progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, unit="upd", dynamic_ncols=True)
        self._start = time.perf_counter()
        self._env_steps = 0
        self._transitions = 0

    def scalars(self, values: Mapping[str, float], step: int) -> None:
        """Write scalars (names like ``losses/value`` or ``charts/dice_gain``) at ``step``."""
        clean = {key: float(value) for key, value in values.items()}
        for key, value in clean.items():
            if self._writer is not None:
                self._writer.add_scalar(key, value, step)
        counters = {
            "wall_s": time.perf_counter() - self._start,
            "env_steps_total": self._env_steps,
            "transitions_total": self._transitions,
        }
        self._jsonl.write(json.dumps({"step": step, **clean, **counters}) + "\n")
        self._jsonl.flush()

    def progress(self, updates: int, env_steps: int, transitions: int, **postfix: float) -> None:
        """Advance the bar by ``updates``; account ``env_steps`` and voxel ``transitions``."""
        self._env_steps += env_steps
        self._transitions += transitions
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        if self._bar is not None:
            shown = {key: f"{value:.3g}" for key, value in postfix.items()}
            shown["steps/s"] = f"{self._env_steps / elapsed:.1f}"
            shown["trans/s"] = f"{self._transitions / elapsed:.3g}"
            self._bar.set_postfix(shown, refresh=False)
            self._bar.update(updates)

    @property
    def throughput(self) -> tuple[float, float]:
        """(env steps/s, voxel-agent transitions/s) since this logger started."""
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        return self._env_steps / elapsed, self._transitions / elapsed

    def close(self) -> None:
        """Flush and close the writers and the bar."""
        if self._writer is not None:
            self._writer.close()
        self._jsonl.close()
        if self._bar is not None:
            self._bar.close()
