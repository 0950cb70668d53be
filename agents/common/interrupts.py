"""Stopping a long run cleanly: SIGINT, SIGTERM and a scheduler's warning signal.

A training run or a benchmark installs the handlers with :func:`handle_signals` (the
``segenv`` command does it around every command, :class:`~.training.TrainingLoop` around its
loop when nobody has). What a signal then does depends on where the process is:

* inside :func:`deferred` (a loop that can checkpoint): the first signal is only *recorded*;
  the loop asks :func:`stop_requested` between two updates, writes its checkpoint and raises
  :class:`Interrupted`, which says where it stopped;
* outside (setting up, evaluating): the first signal raises :class:`Interrupted` at once;
* a second SIGINT or SIGTERM quits at once (exit status ``128 + signal``), without a
  checkpoint: the last one written stays, since every checkpoint is written atomically;
* forked children (asynchronous A3C workers, parallel benchmark cells) only record the
  signal; their parent stops them (the signal is forwarded to them) and kills them on a
  second one.

Schedulers that warn before the deadline (e.g. Slurm's ``--signal=USR1@120``) are served by
the opt-in *checkpoint signal* (``segenv train --checkpoint-signal USR1`` or the environment
variable :data:`CHECKPOINT_SIGNAL_ENV`): it stops the run like SIGTERM does. The exit status of
an interrupted command is ``128 + signal number`` (130 for SIGINT, 143 for SIGTERM).

Nothing here imports torch, so the command line uses it without the learners' stack.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from segenv.errors import ConfigError

CHECKPOINT_SIGNAL_ENV = "SEGENV_CHECKPOINT_SIGNAL"
"""Environment variable naming the opt-in checkpoint signal (e.g. ``USR1``)."""

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Always handled: Ctrl-C and what a scheduler or ``kill`` sends."""


class Interrupted(BaseException):
    """A run stopped on a signal, and where.

    A ``BaseException`` like ``KeyboardInterrupt``, so no ``except Exception`` on the way up
    mistakes it for an error. :attr:`line` is what the command line prints.

    Attributes:
        signum: The signal that stopped the run.
        done: Units of work done and kept (None: stopped before a loop could count them).
        total: The units the run was asked for.
        unit: What is counted (``"update"``, ``"env step"``, ``"epoch"``).
        stage: What was running, if not the training itself (``"the coarse network"``,
            ``"cell a3c-relative-s0"``).
        saved: Whether a checkpoint was written for ``done`` (default: when ``done`` is known).
        note: More to say (e.g. ``"3 of 35 cells finished and kept"``).
    """

    def __init__(
        self,
        signum: int,
        done: int | None = None,
        total: int | None = None,
        unit: str = "update",
        stage: str = "",
        saved: bool | None = None,
        note: str = "",
    ) -> None:
        saved = done is not None if saved is None else bool(saved)
        super().__init__(signum, done, total, unit, stage, saved, note)
        self.signum = int(signum)
        self.done = done
        self.total = total
        self.unit = unit
        self.stage = stage
        self.saved = saved
        self.note = note

    @property
    def exit_code(self) -> int:
        """``128 + signum``, the shell's convention (130 for SIGINT, 143 for SIGTERM)."""
        return exit_code(self.signum)

    @property
    def line(self) -> str:
        """``"interrupted at update 58/300; checkpoint saved"`` (and the stage and note)."""
        parts = ["interrupted"]
        if self.stage:
            parts.append(f"in {self.stage}")
        if self.done is not None:
            total = "" if self.total is None else f"/{self.total}"
            parts.append(f"at {self.unit} {self.done}{total}")
        text = " ".join(parts)
        text += "; checkpoint saved" if self.saved else "; no new checkpoint"
        return f"{text}; {self.note}" if self.note else text

    def __str__(self) -> str:
        return f"{self.line} ({signal_name(self.signum)})"


class _State:
    """The process's handler state (one per process; a forked child inherits a copy)."""

    def __init__(self) -> None:
        self.owner = os.getpid()
        self.installed = 0
        self.deferring = 0
        self.requested: int | None = None
        self.signals: tuple[int, ...] = ()
        self.previous: dict[int, object] = {}


_STATE = _State()


def exit_code(signum: int) -> int:
    """The exit status of a command stopped by ``signum``: ``128 + signum``."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    """``"SIGINT"`` for 2, and so on."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def parse_signal(text: str | int | None) -> int | None:
    """A signal number from ``"USR1"``, ``"SIGUSR1"`` or ``"10"`` (None or ``""``: none).

    Raises:
        ConfigError: The name is not a signal this platform has, or one that cannot be caught.
    """
    if text is None or text == "":
        return None
    value = str(text).strip().upper()
    name = value if value.startswith("SIG") else "SIG" + value
    try:
        number = int(value) if value.isdigit() else int(signal.Signals[name])
    except (KeyError, ValueError):
        number = -1
    uncatchable = {getattr(signal, name, None) for name in ("SIGKILL", "SIGSTOP")}
    if number <= 0 or number in uncatchable or number not in set(signal.valid_signals()):
        raise ConfigError(
            f"checkpoint signal {text!r} is not a signal that can be caught here; use a name "
            "such as USR1, USR2 or HUP (or a number)"
        )
    return number


def checkpoint_signal_from_env() -> int | None:
    """The signal named by :data:`CHECKPOINT_SIGNAL_ENV`, if set."""
    text = os.environ.get(CHECKPOINT_SIGNAL_ENV, "")
    try:
        return parse_signal(text)
    except ConfigError as error:
        raise ConfigError(f"${CHECKPOINT_SIGNAL_ENV}: {error}") from None


def stop_requested() -> int | None:
    """The signal that asked this process to stop, or None."""
    return _STATE.requested


def raise_if_requested(**where: object) -> None:
    """Raise :class:`Interrupted` if a stop was requested (keywords as its constructor's)."""
    if _STATE.requested is not None:
        raise Interrupted(_STATE.requested, **where)  # type: ignore[arg-type]


@contextlib.contextmanager
def handle_signals(checkpoint_signal: int | None = None) -> Iterator[None]:
    """Handle SIGINT, SIGTERM and the checkpoint signal inside this block (see the module).

    Re-entrant: an inner block adds its checkpoint signal and changes nothing else. Outside
    the main thread of the main interpreter (where Python cannot set handlers) it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    state = _STATE
    wanted: list[int] = [int(number) for number in STOP_SIGNALS]
    extra = checkpoint_signal if checkpoint_signal is not None else checkpoint_signal_from_env()
    if extra is not None and extra not in wanted:
        wanted.append(extra)
    # A forked child (a benchmark cell, an A3C worker) inherits its parent's handlers and
    # stays a child: it records signals and leaves quitting to the parent.
    outermost = state.installed == 0
    if outermost:
        state.owner = os.getpid()
        state.requested = None
        state.deferring = 0
        state.previous = {}
        state.signals = ()
    added = [number for number in wanted if number not in state.signals]
    for number in added:
        state.previous[number] = signal.signal(number, _handler)
    state.signals = (*state.signals, *added)
    state.installed += 1
    try:
        yield
    finally:
        state.installed -= 1
        for number in reversed(added):
            signal.signal(number, state.previous.pop(number))  # type: ignore[arg-type]
        state.signals = tuple(number for number in state.signals if number not in added)
        if state.installed == 0:
            state.requested = None


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Inside this block a first signal is recorded, not raised (see :func:`stop_requested`)."""
    _STATE.deferring += 1
    try:
        yield
    finally:
        _STATE.deferring -= 1


def _handler(signum: int, frame: FrameType | None) -> None:
    state = _STATE
    if os.getpid() != state.owner:  # a forked child: its parent decides
        if state.requested is None:
            state.requested = signum
        return
    if state.requested is not None:
        if signum in STOP_SIGNALS or signum == state.requested:
            _quit_now(signum)
        return
    state.requested = signum
    for child in multiprocessing.active_children():  # workers stop at their next boundary
        with contextlib.suppress(OSError, TypeError):
            os.kill(child.pid, signum)  # type: ignore[arg-type]
    if state.deferring == 0:
        raise Interrupted(signum)


def _quit_now(signum: int) -> None:
    """The second signal: kill the children and leave at once (the last checkpoint stays)."""
    for child in multiprocessing.active_children():
        with contextlib.suppress(OSError, TypeError, AttributeError):
            os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    message = (
        f"segenv: {signal_name(signum)} again: stopped at once; the last checkpoint written stays\n"
    )
    with contextlib.suppress(OSError):
        os.write(2, message.encode())
    os._exit(exit_code(signum))
