"""The training log of a run: TensorBoard scalars, ``scalars.jsonl`` and a progress bar.

A resumed run continues its log from the checkpoint's step: :class:`RunLogger` opened at
``initial=N`` drops the records after step N from ``scalars.jsonl`` (they were logged after
the last checkpoint and are about to be logged again) and has TensorBoard hide the events
after step N (:func:`purge_tensorboard`), so every step appears once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from segenv.files import atomic_write_text

SCALARS_NAME = "scalars.jsonl"


class RunLogger:
    """TensorBoard scalars under ``out_dir/tb`` and a progress bar with throughput.

    ``scalars`` writes a dict of scalars at a global step (``scalars.jsonl`` also records the
    wall time and the env steps and transitions so far, continued across resumes);
    ``progress`` advances the bar by updates and shows env steps/s and voxel-agent
    transitions/s. Both degrade gracefully: without ``tensorboard`` installed the scalars go to
    ``out_dir/scalars.jsonl`` only. ``initial`` is the step the run starts (or resumes) at:
    whatever an earlier session logged after it is dropped (see the module docstring).
    """

    def __init__(
        self, out_dir: Path, *, total: int, initial: int = 0, show_progress: bool = True
    ) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        last = truncate_scalars(self.out_dir / SCALARS_NAME, initial)
        self._jsonl = (self.out_dir / SCALARS_NAME).open("a", encoding="utf-8")
        self._writer: Any = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.out_dir / "tb"), purge_step=initial + 1)
        except ImportError:
            self._writer = None
        self._bar: Any = None
        if show_progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=initial, unit="upd", dynamic_ncols=True)
        self._start = time.perf_counter()
        self._env_steps = 0
        self._transitions = 0
        self._earlier = {  # the totals of the sessions before this one
            key: float(last.get(key, 0))
            for key in ("wall_s", "env_steps_total", "transitions_total")
        }

    def scalars(self, values: Mapping[str, float], step: int) -> None:
        """Write scalars (names like ``losses/value`` or ``charts/dice_gain``) at ``step``."""
        clean = {key: float(value) for key, value in values.items()}
        for key, value in clean.items():
            if self._writer is not None:
                self._writer.add_scalar(key, value, step)
        counters = {
            "wall_s": self._earlier["wall_s"] + time.perf_counter() - self._start,
            "env_steps_total": int(self._earlier["env_steps_total"]) + self._env_steps,
            "transitions_total": int(self._earlier["transitions_total"]) + self._transitions,
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


def truncate_scalars(path: Path, step: int) -> dict[str, Any]:
    """Drop the records of ``path`` (``scalars.jsonl``) logged after ``step``; return the last kept.

    Lines that are not JSON records (a line cut short by a kill) are dropped too. The file is
    rewritten atomically, and only when something is dropped.
    """
    path = Path(path)
    if not path.exists():
        return {}
    kept, dropped = [], False
    last: dict[str, Any] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
            keep = isinstance(record, dict) and int(record["step"]) <= step
        except (ValueError, KeyError, TypeError):
            record, keep = None, False
        if keep:
            kept.append(line)
            last = record  # type: ignore[assignment]
        else:
            dropped = True
    if dropped:
        atomic_write_text(path, "".join(f"{line}\n" for line in kept))
    return last


def purge_tensorboard(folder: Path, step: int) -> None:
    """Have TensorBoard hide the events of ``folder`` logged at ``step`` or later.

    TensorBoard's own mechanism (``SummaryWriter(purge_step=...)``): a session-start event at
    ``step`` makes it discard the earlier sessions' events from that step on. For folders a
    library writes on its own (e.g. stable-baselines3's ``tb/ppo_1``) before it logs again.
    """
    folder = Path(folder)
    if not folder.is_dir() or not any(folder.glob("events.out.tfevents.*")):
        return
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return
    SummaryWriter(str(folder), purge_step=step).close()
