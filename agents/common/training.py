"""The outer loop every learner shares: resume, progress, logging, checkpoints, signals.

Every learner that runs its updates through :class:`TrainingLoop` (A3C, MECCA, the supervised
baselines, and any new one) gets the same lifecycle: a resume that refuses to mix two runs
(:func:`~.runs.check_resume`), checkpoints written atomically every ``checkpoint_every_s``
seconds, at the end and when a signal stops the run (:mod:`.interrupts`), the global
generators' states in every checkpoint, and a log that continues from the checkpoint's step.

Under torchrun (:mod:`.distributed`) the loop is rank-aware: rank 0 alone reads and writes the
run directory (``config.json``, logs, TensorBoard, checkpoints, the progress bar) and hands the
resumed checkpoint to the other ranks; each update's scalars are averaged and its env steps and
transitions summed over the ranks; and after every update the ranks agree whether to stop
(a signal reached any of them) and whether to checkpoint (rank 0's clock), so all of them
leave the loop after the same update and nobody waits in a collective for a rank that left.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from segenv.errors import ConfigError

from . import distributed, interrupts
from .checkpoints import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from .logger import RunLogger
from .runs import announce_fresh_start, check_resume, write_config
from .runtime import restore_rng_states, rng_states, seed_global_generators


class TrainingLoop:
    """The outer loop every learner shares: resume, progress, logging, checkpoints, signals.

    A learner builds it from plain values (its budget and logging settings) and opens the run
    directory (:meth:`open`); then it yields one :class:`UpdateResult` per update and gives
    ``state(updates_done)``, the checkpoint payload. The loop logs the results, writes a
    checkpoint every ``checkpoint_every_s`` seconds and at the end, and :meth:`resume_state`
    reads the checkpoint back.

    Signals: while :meth:`run` consumes updates, SIGINT, SIGTERM and the opt-in checkpoint
    signal (:mod:`.interrupts`) let the current update finish; then the loop writes the
    checkpoint and raises :class:`~.interrupts.Interrupted` (``done``, ``total``), which the
    command line turns into one line and exit status ``128 + signal``. A second SIGINT or
    SIGTERM quits at once, leaving the last checkpoint.

    Repeatability: every checkpoint also holds the states of Python's, numpy's and torch's
    global generators, which :meth:`run` puts back when it resumes, after the learner has
    built its network; what a learner draws from its own generators (A3C's action sampler,
    the episodes' reset seeds) it keeps in its own payload.
    """

    def __init__(
        self,
        out_dir: Path,
        total_updates: int,
        checkpoint_every_s: float = 120.0,
        log_every: int = 10,
        show_progress: bool = True,
        seed: int = 0,
    ) -> None:
        if total_updates < 0:
            raise ConfigError(f"total_updates must be >= 0, got {total_updates}")
        self.out_dir = Path(out_dir)
        self.total_updates = total_updates
        self.checkpoint_every_s = checkpoint_every_s
        self.log_every = max(1, log_every)
        self.show_progress = show_progress
        self.seed = seed
        self._resumed: Mapping[str, Any] | None = None

    def open(self, learner: str, config: Any, *, resume: bool) -> dict[str, Any] | None:
        """Start or resume the run: return the checkpoint to resume from (None: start afresh).

        The learner's name and its settings (a dataclass) are recorded in ``config.json``; a
        directory that holds a run is an error unless ``resume``; resuming with settings that
        change the environment, the network or the learner is an error naming each field
        (:func:`~.runs.check_resume`); resuming a directory without a checkpoint says that it
        starts afresh.

        Under torchrun rank 0 does all of this and hands the checkpoint (or its error) to the
        other ranks; ``config.json`` also records the ``world_size``, which a resume may change.
        """
        outcome: tuple[str, Any] = ("ok", None)
        if distributed.is_main():
            try:
                if resume:
                    check_resume(self.out_dir, learner, config)
                state = self.resume_state(resume)
                if resume and state is None:
                    announce_fresh_start(self.out_dir)
                write_config(self.out_dir, learner, config, world_size=distributed.world_size())
                outcome = ("ok", state)
            except Exception as error:  # the other ranks must not wait for a state
                outcome = ("error", str(error))
                distributed.broadcast_object(outcome)
                raise
        outcome = distributed.broadcast_object(outcome)
        if outcome[0] == "error":
            raise ConfigError(f"rank 0 could not open the run: {outcome[1]}")
        state = outcome[1]
        self._resumed = state
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

        Raises:
            Interrupted: A signal stopped the run; the checkpoint at ``done`` is written.
        """
        main = distributed.is_main()
        with interrupts.handle_signals(), interrupts.deferred():
            if self._resumed is not None and "rng" in self._resumed:
                restore_rng_states(self._resumed["rng"])
            if not main:  # its own draws, not rank 0's (the network is built by now)
                seed_global_generators(distributed.rank_seed(self.seed, start_update))
            if main and self._resumed is not None and start_update >= self.total_updates:
                print(
                    f"segenv: {self.out_dir} is already at update {start_update}/"
                    f"{self.total_updates}; nothing to train (raise --total-updates to go on)",
                    file=sys.stderr,
                )
            logger = None
            if main:
                logger = RunLogger(
                    self.out_dir,
                    total=self.total_updates,
                    initial=start_update,
                    show_progress=self.show_progress,
                )
            last_save = time.monotonic()
            done = start_update
            stopped = None
            if done < self.total_updates:
                stopped = int(distributed.agree([interrupts.stop_requested() or 0])[0]) or None
            try:
                for result in [] if stopped else results:
                    done += 1
                    scalars, env_steps, transitions = distributed.reduce_update(
                        result.scalars, result.env_steps, result.transitions
                    )
                    if logger is not None:
                        logger.progress(1, env_steps, transitions, **_headline(scalars))
                        if result.update % self.log_every == 0 or done >= self.total_updates:
                            steps_per_s, transitions_per_s = logger.throughput
                            scalars["charts/env_steps_per_s"] = steps_per_s
                            scalars["charts/transitions_per_s"] = transitions_per_s
                            logger.scalars(scalars, result.update + 1)
                    if done >= self.total_updates:
                        break
                    save_due = main and time.monotonic() - last_save >= self.checkpoint_every_s
                    signum, save = distributed.agree(
                        [interrupts.stop_requested() or 0, float(save_due)]
                    )
                    stopped = int(signum) or None
                    if stopped:
                        break
                    if save:
                        self._save(state, done)
                        last_save = time.monotonic()
                self._save(state, done)
            finally:
                if logger is not None:
                    logger.close()
            if stopped:
                raise interrupts.Interrupted(stopped, done, self.total_updates)
            return done

    def _save(self, state: Callable[[int], dict[str, Any]], done: int) -> None:
        """The learner's payload and the global generators' states, written atomically.

        Rank 0's alone, with the world size it was trained with (any world size resumes it).
        """
        if not distributed.is_main():
            return
        payload = {**state(done), "rng": rng_states()}
        if distributed.active():
            payload["world_size"] = distributed.world_size()
        save_checkpoint(self.checkpoint_path, payload)

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
