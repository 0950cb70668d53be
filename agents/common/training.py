"""The outer loop every learner shares: resume, progress, logging and timed checkpoints."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from segenv.errors import ConfigError

from .checkpoints import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .logger import RunLogger
from .runs import write_config


class TrainingLoop:
    """The outer loop every learner shares: resume, progress, logging, timed checkpoints.

    A learner builds it from plain values (its budget and logging settings) and opens the run
    directory (:meth:`open`); then it yields one :class:`UpdateResult` per update and gives
    ``state(updates_done)``, the checkpoint payload. The loop logs the results, writes a
    checkpoint every ``checkpoint_every_s`` seconds and at the end, and :meth:`resume_state`
    reads the checkpoint back.
    """

    def __init__(
        self,
        out_dir: Path,
        total_updates: int,
        checkpoint_every_s: float = 120.0,
        log_every: int = 10,
        show_progress: bool = True,
    ) -> None:
        if total_updates < 0:
            raise ConfigError(f"total_updates must be >= 0, got {total_updates}")
        self.out_dir = Path(out_dir)
        self.total_updates = total_updates
        self.checkpoint_every_s = checkpoint_every_s
        self.log_every = max(1, log_every)
        self.show_progress = show_progress

    def open(self, learner: str, config: Any, *, resume: bool) -> dict[str, Any] | None:
        """Start or resume the run: return the checkpoint to resume from (None: start afresh).

        The learner's name and its settings (a dataclass) are recorded in ``config.json``; a
        directory that holds a run is an error unless ``resume``.
        """
        state = self.resume_state(resume)
        write_config(self.out_dir, learner, config)
        return state

    @property
    def checkpoint_path(self) -> Path:
        """Where the checkpoint lives."""
        return self.out_dir / CHECKPOINT_NAME

    def resume_state(self, resume: bool) -> dict[str, Any] | None:
        """The checkpoint to resume from (None to start fresh)."""
        state = load_checkpoint(self.checkpoint_path)
        if state is not None and not resume:
            raise ConfigError(
                f"{self.out_dir} already holds a run; pass --resume to continue it or choose "
                "another --out directory"
            )
        return state

    def run(
        self,
        start_update: int,
        results: Iterable[UpdateResult],
        state: Callable[[int], dict[str, Any]],
    ) -> int:
        """Consume update results until ``total_updates``; return the updates done in all.

        Args:
            start_update: The first update index (the checkpoint's count when resuming).
            results: The learner's updates, in any order (asynchronous workers interleave);
                the loop stops after ``total_updates - start_update`` of them.
            state: ``state(updates_done) -> checkpoint payload``.
        """
        logger = RunLogger(
            self.out_dir,
            total=self.total_updates,
            initial=start_update,
            show_progress=self.show_progress,
        )
        last_save = time.monotonic()
        done = start_update
        try:
            for result in results:
                done += 1
                logger.progress(
                    1, result.env_steps, result.transitions, **_headline(result.scalars)
                )
                if result.update % self.log_every == 0 or done >= self.total_updates:
                    steps_per_s, transitions_per_s = logger.throughput
                    scalars = {
                        **result.scalars,
                        "charts/env_steps_per_s": steps_per_s,
                        "charts/transitions_per_s": transitions_per_s,
                    }
                    logger.scalars(scalars, result.update + 1)
                if done >= self.total_updates:
                    break
                if time.monotonic() - last_save >= self.checkpoint_every_s:
                    save_checkpoint(self.checkpoint_path, state(done))
                    last_save = time.monotonic()
            save_checkpoint(self.checkpoint_path, state(done))
            return done
        finally:
            logger.close()

    def run_updates(
        self,
        start_update: int,
        update: Callable[[int], UpdateResult],
        state: Callable[[int], dict[str, Any]],
    ) -> int:
        """:meth:`run` for a synchronous learner: ``update(index)`` for each remaining index."""
        results = (update(index) for index in range(start_update, self.total_updates))
        return self.run(start_update, results, state)


class UpdateResult(NamedTuple):
    """What one learner update reports to :class:`TrainingLoop`."""

    update: int
    scalars: dict[str, float]
    env_steps: int
    transitions: int


def _headline(scalars: Mapping[str, float]) -> dict[str, float]:
    keys = ("charts/dice_gain", "charts/final_dice", "losses/policy")
    return {key.split("/")[-1]: scalars[key] for key in keys if key in scalars}
