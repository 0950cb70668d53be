"""The ``segenv`` command line: train a learner, evaluate a run, run a benchmark suite.

::

    segenv train a3c --config quick --out runs/a3c            # train (progress bar, TensorBoard)
    segenv train a3c --config quick --out runs/a3c --resume   # continue an interrupted run
    segenv train a3c --config quick --out runs/x --lr 3e-4    # any Args field as a flag
    segenv train a3c --dataset Task01_BrainTumour --out runs/brats   # real data, IteR-MRL §4.1
    segenv evaluate runs/a3c                                  # the IteR-MRL Table 2 comparison
    segenv learners                                           # what can be trained
    segenv benchmark reward_designs --profile quick           # a benchmark suite (resumable)
    segenv help train a3c                                     # the flags of one learner

``train`` writes ``DIR/config.json`` (the learner and every setting), ``DIR/checkpoint.pt``
(atomically, every ``checkpoint_every_s`` seconds, at the end and when interrupted),
``DIR/tb/`` (TensorBoard: ``tensorboard --logdir DIR``) and ``DIR/scalars.jsonl``. ``evaluate``
prints Dice after each step, its gain, ASSD and NoC@85/90 for the trained agent, the same agent
with the user set to ``none`` (no clicks, noise hints), the initial segmentation (the no-op
policy: Dice stays) and two no-learning baselines (a hint-following heuristic and min-cut with
the clicks as seeds), and writes ``DIR/eval_<split>.json``.

Long runs. SIGINT (Ctrl-C), SIGTERM and the opt-in checkpoint signal (``--checkpoint-signal
USR1`` or ``$SEGENV_CHECKPOINT_SIGNAL``) let the current update finish, write the checkpoint
and print ``interrupted at update N/M; checkpoint saved; resume with: segenv train ...
--resume``; the exit status is ``128 + signal`` (130, 143). A second Ctrl-C quits at once.
``--resume`` refuses flags that would change the environment, the network or the learner.

Mistakes (a bad value, path or file) exit with status 2 and one line on stderr naming the
value and the fix; ``--debug`` (or ``SEGENV_DEBUG=1``) shows the traceback instead. Listing
the learners and every ``--help`` work without the learners' stack (torch); the commands that
need it say ``pip install 'segenv[learners]'`` in one line.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import difflib
import inspect
import itertools
import json
import os
import shlex
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from segenv.errors import ConfigError, SegEnvError
from segenv.files import atomic_write_text

from . import registry
from .common import interrupts
from .common.config import COARSE_START, SYNTHETIC_COARSE_EPOCHS, EnvArgs, check_shape
from .common.datasets import DATASET_SHAPE
from .common.runs import (
    CONFIG_NAME,
    RESUMABLE_FIELDS,
    args_from_dict,
    check_resume,
    read_config,
    resume_conflicts,
)

DEBUG_ENV = "SEGENV_DEBUG"
"""Set to 1 to see tracebacks instead of one-line errors (like ``--debug``)."""

BUDGET_FIELDS = ("total_updates", "total_timesteps")
"""The ``Args`` fields that say how much a run trains; 0 trains nothing and is refused."""

PATH_FIELDS = ("dataset", "splits", "coarse")
"""``Args`` fields holding paths, recorded absolute so that a run can be found from anywhere."""

# ------------------------------------------------------------------------------ Args flags


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an int >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    parse.__name__ = f"int >= {minimum}"
    return parse


def add_args_flags(parser: argparse.ArgumentParser, args_class: type[Any]) -> None:
    """One ``--field-name`` flag per field of an ``Args`` dataclass (default: the preset's)."""
    group = parser.add_argument_group(f"{args_class.__module__}.Args (override the preset)")
    docs = _field_docs(args_class)
    for field in dataclasses.fields(args_class):
        default = field.default
        help_text = docs.get(field.name, "")
        if field.name in RESUMABLE_FIELDS:
            help_text += " [may change on --resume]"
        if isinstance(default, bool):
            group.add_argument(_flag(field.name), type=_parse_bool, metavar="BOOL", help=help_text)
        elif isinstance(default, tuple):
            group.add_argument(_flag(field.name), type=int, nargs="+", metavar="N", help=help_text)
        elif isinstance(default, (int, float, str)):
            group.add_argument(_flag(field.name), type=type(default), help=help_text)


def _field_docs(args_class: type[Any]) -> dict[str, str]:
    """The attribute docstrings of a dataclass and its bases (CleanRL's field docs)."""
    docs: dict[str, str] = {}
    for klass in reversed(args_class.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            tree = ast.parse(inspect.getsource(klass).lstrip())
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, following in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[node.target.id] = following.value.value.replace("%", "%%")
    return docs


def given_flags(args_class: type[Any], namespace: argparse.Namespace) -> dict[str, Any]:
    """The ``Args`` fields the user gave as flags, with their values (lists as tuples)."""
    changes = {}
    for field in dataclasses.fields(args_class):
        value = getattr(namespace, field.name, None)
        if value is not None:
            changes[field.name] = tuple(value) if isinstance(value, list) else value
    return changes


def args_with_overrides(preset: Any, namespace: argparse.Namespace) -> Any:
    """The preset with every flag the user gave replaced."""
    return dataclasses.replace(preset, **given_flags(type(preset), namespace))


# ---------------------------------------------------------------------------------- train

RESUME_HELP = (
    "On --resume the run keeps its recorded settings; only "
    + ", ".join(_flag(name) for name in RESUMABLE_FIELDS)
    + ", --no-progress and --checkpoint-signal may change (any other flag that differs is "
    "refused, naming the field). SIGINT / SIGTERM / the checkpoint signal: the current update "
    "finishes, the checkpoint is written, one line says how to resume; exit status 128 + "
    "signal (130, 143). A second Ctrl-C quits at once."
)


def _learner_lines() -> str:
    width = max(len(name) for name in registry.LEARNERS)
    return "\n".join(
        f"  {name:{width}s}  {spec.summary}" for name, spec in registry.LEARNERS.items()
    )


def train_overview_parser() -> argparse.ArgumentParser:
    """``segenv train --help``: the learners, one line each (imports no learner)."""
    parser = argparse.ArgumentParser(
        prog="segenv train",
        usage="segenv train LEARNER --out DIR [--config NAME] [--resume] [--FIELD VALUE ...]",
        description="Train a learner into a run directory (resumable).",
        epilog=(
            f"learners:\n{_learner_lines()}\n\n"
            "`segenv train LEARNER --help` lists its flags (every field of its Args).\n"
            "Real data: --dataset PATH [--preset NAME] [--splits FILE] [--coarse DIR] runs "
            "IteR-MRL §4.1 (splits, coarse network on train1, the learner on train2).\n\n"
            + RESUME_HELP
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    names = ", ".join(registry.LEARNERS)
    parser.add_argument("learner", metavar="LEARNER", help=f"one of: {names}")
    return parser


def learner_parser(name: str, learner: registry.Learner) -> argparse.ArgumentParser:
    """``segenv train NAME``'s parser: the run flags, then one flag per ``Args`` field."""
    parser = argparse.ArgumentParser(
        prog=f"segenv train {name}",
        description=f"Train {name}: {registry.spec(name).summary}.",
        epilog=RESUME_HELP,
    )
    run = parser.add_argument_group("the run")
    run.add_argument(
        "--config",
        default=None,
        choices=sorted(learner.CONFIGS),
        help="the preset the flags override (default quick; on --resume, the recorded settings)",
    )
    run.add_argument("--out", type=Path, required=True, help="run directory")
    run.add_argument(
        "--resume", action="store_true", help="continue the run in --out (fresh if none)"
    )
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.add_argument(
        "--checkpoint-signal",
        default=None,
        metavar="SIGNAL",
        help="also stop with a checkpoint on this signal, e.g. USR1 (a scheduler's warning); "
        f"default ${interrupts.CHECKPOINT_SIGNAL_ENV}",
    )
    run.add_argument("--debug", action="store_true", help=f"show tracebacks (also {DEBUG_ENV}=1)")
    add_args_flags(parser, learner.Args)
    return parser


def train_command(argv: Sequence[str]) -> int:
    """``segenv train <learner> --config quick|paper --out DIR [--resume] [--FIELD VALUE ...]``."""
    argv = list(argv)
    overview = train_overview_parser()
    if not argv or argv[0] in ("-h", "--help"):
        if argv:
            overview.print_help()
            return 0
        overview.error(
            "choose a learner: segenv train LEARNER --out DIR (`segenv train --help` lists them)"
        )
    name = argv[0]
    if name.startswith("-"):
        overview.error(
            f"the learner comes first: segenv train LEARNER {shlex.join(argv)}; choose one of "
            + ", ".join(registry.LEARNERS)
        )
    registry.spec(name)  # an unknown name: a one-line error with the closest one
    learner = registry.load(name)
    parser = learner_parser(name, learner)
    namespace = parser.parse_args(argv[1:])
    from .common import distributed  # torch is loaded with the learner by now

    if distributed.launched() and not getattr(learner, "TORCHRUN", False):
        raise ConfigError(
            f"{name} does not train under torchrun; the data-parallel learners are "
            + ", ".join(n for n in registry.LEARNERS if getattr(_loaded(n), "TORCHRUN", False))
            + f" (run {name} as one process: segenv train {name} ...)"
        )
    main_rank = distributed.launch_rank() == 0
    checkpoint_signal = interrupts.parse_signal(namespace.checkpoint_signal)
    args = train_args(name, learner, namespace)
    if not namespace.resume and any(namespace.out.glob("checkpoint.*")):
        raise ConfigError(
            f"{namespace.out} already holds a run; pass --resume to continue it or choose "
            "another --out directory"
        )
    fresh_dataset_run = (
        bool(getattr(args, "dataset", "")) and not (namespace.out / "splits.json").is_file()
    )
    if distributed.requested_world_size() > 1 and fresh_dataset_run:
        raise ConfigError(
            "--dataset under torchrun: every rank would draw the splits and train the coarse "
            f"network; prepare the run in one process first (segenv train {name} --dataset ... "
            f"--out {namespace.out} --total-updates 1), then continue it under torchrun with "
            "--resume"
        )
    out = check_out_dir(namespace.out)
    resume_line = _resume_command(argv)
    try:
        with interrupts.handle_signals(checkpoint_signal):
            if getattr(args, "dataset", "") or getattr(args, "start", "") == COARSE_START:
                from .coarse import prepare_run

                args = prepare_run(args, out, device=args.device)
            start = time.perf_counter()
            checkpoint = learner.train(
                args, out, resume=namespace.resume, show_progress=not namespace.no_progress
            )
    except interrupts.Interrupted as stop:
        if main_rank:
            print(f"{stop.line}; resume with: {resume_line}", file=sys.stderr)
        return stop.exit_code
    if main_rank:
        print(f"trained {name} in {time.perf_counter() - start:.0f} s → {checkpoint}")
    return 0


def _loaded(name: str) -> Any:
    """The learner module of ``name``, or None when its extra is not installed."""
    try:
        return registry.load(name)
    except ImportError:
        return None


def train_args(name: str, learner: registry.Learner, namespace: argparse.Namespace) -> Any:
    """The ``Args`` to train with: the preset (or, on resume, the record) and the flags.

    Raises:
        ConfigError: A value that cannot train (a bad shape, a budget of 0), or a resume whose
            flags or ``--config`` would change the recorded run (each field named).
    """
    given = given_flags(learner.Args, namespace)
    for field in PATH_FIELDS:
        if given.get(field):
            given[field] = str(Path(given[field]).expanduser().resolve())
    out: Path = namespace.out
    recorded_run = namespace.resume and (out / CONFIG_NAME).exists()
    if recorded_run:
        recorded_learner, recorded = read_config(out)
        if recorded_learner != name:
            raise ConfigError(
                f"{out} holds a {recorded_learner!r} run, not {name!r}; resume it with "
                f"segenv train {recorded_learner} --out {out} --resume, or choose another --out"
            )
        _same_splits(recorded, given)
        base = args_from_dict(learner.Args, recorded)
        if namespace.config is not None:  # the preset must describe the same run
            preset = registry.preset(name, namespace.config)
            other = dataclasses.replace(preset, **implied_defaults(preset, given))
            conflicts = [field for field, _, _ in resume_conflicts(recorded, other)]
            sources = {field: f"--config {namespace.config}" for field in conflicts}
            sources.update({field: _flag(field) for field in given})
            check_resume(out, name, other, sources=sources)
    else:
        base = registry.preset(name, namespace.config or "quick")
        given = implied_defaults(base, given)
    args = dataclasses.replace(base, **given)
    check_shape(args.shape)
    for field in BUDGET_FIELDS:
        if hasattr(args, field) and getattr(args, field) < 1:
            raise ConfigError(
                f"{_flag(field)} {getattr(args, field)} trains nothing; give a count >= 1"
            )
    if recorded_run:
        check_resume(out, name, args)
    return args


def implied_defaults(base: Any, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` and the defaults its flags imply over the preset ``base``.

    ``--dataset``: the papers' volume, not the preset's shape. ``--start coarse`` on the
    synthetic data: :data:`SYNTHETIC_COARSE_EPOCHS` coarse epochs, not the real data's 30.
    """
    given = dict(given)
    dataset = given.get("dataset", getattr(base, "dataset", ""))
    if given.get("dataset") and "shape" not in given:
        given["shape"] = DATASET_SHAPE  # real data: the papers' volume, not the preset's
    default_epochs = EnvArgs().coarse_epochs
    if (
        not dataset
        and given.get("start", getattr(base, "start", "")) == COARSE_START
        and "coarse_epochs" not in given
        and getattr(base, "coarse_epochs", default_epochs) == default_epochs
    ):
        given["coarse_epochs"] = SYNTHETIC_COARSE_EPOCHS
    return given


def _same_splits(recorded: dict[str, Any], given: dict[str, Any]) -> None:
    """``--splits FILE`` on resume is fine when it holds the recorded splits (drop it then)."""
    path, old = given.get("splits"), recorded.get("splits")
    if not path or not old or path == old:
        return
    from segenv.data.splits import Splits

    if Path(old).is_file() and Splits.load(path).groups == Splits.load(old).groups:
        given["splits"] = old


def check_out_dir(out: Path, flag: str = "--out") -> Path:
    """Create run directory ``out`` if needed; a ConfigError says why it cannot be one."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{flag} {out} is a file, not a directory; choose a directory path")
    parent = out
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise ConfigError(
            f"{flag} {out}: {parent} is a file, so no directory can be made under it; choose "
            "another path"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(
            f"{flag} {out}: cannot create the directory ({error.strerror}); choose a writable place"
        ) from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ConfigError(f"{flag} {out} is not writable; choose a writable place")
    return out


def _resume_command(argv: Sequence[str]) -> str:
    """The command that continues an interrupted ``segenv train`` run."""
    words = [word for word in argv if word != "--debug"]
    if "--resume" not in words:
        words.append("--resume")
    return shlex.join(["segenv", "train", *words])


# ------------------------------------------------------------------------------- evaluate


def evaluate_parser() -> argparse.ArgumentParser:
    """``segenv evaluate``'s parser."""
    parser = argparse.ArgumentParser(
        prog="segenv evaluate",
        description="Evaluate a trained run against the initial segmentation and baselines "
        "(on its held-out test split: synthetic, or the test split of its --dataset).",
    )
    parser.add_argument("run", type=Path, help="run directory written by segenv train")
    parser.add_argument("--split", default="test", choices=("test", "train"))
    parser.add_argument(
        "--episodes", type=_at_least(1), default=None, help="default: the run's setting"
    )
    parser.add_argument(
        "--dataset", default=None, help="evaluate on another data set folder (MSD, 3D runs)"
    )
    parser.add_argument("--seed", type=_at_least(0), default=0, help="seed of the first episode")
    parser.add_argument("--stochastic", action="store_true", help="sample actions, not argmax")
    parser.add_argument("--device", default="cpu", help="'cpu', 'cuda' or 'auto'")
    parser.add_argument("--no-baselines", action="store_true", help="only the trained agent")
    parser.add_argument(
        "--flips", action="store_true", help="also voxels fixed / broken per step and policy"
    )
    parser.add_argument("--render", type=Path, metavar="DIR", help="draw 2 episodes as PNG strips")
    parser.add_argument("--gif", action="store_true", help="with --render: animated GIFs too")
    parser.add_argument("--debug", action="store_true", help=f"show tracebacks ({DEBUG_ENV}=1)")
    return parser


def evaluate_command(argv: Sequence[str]) -> int:
    """``segenv evaluate DIR [--split test|train] [--episodes N] [--dataset PATH] [--render D]``."""
    namespace = evaluate_parser().parse_args(argv)
    run: Path = namespace.run
    if not run.exists():
        raise ConfigError(f"{run} does not exist; give a run directory written by segenv train")
    if not run.is_dir():
        raise ConfigError(f"{run} is a file; give a run directory written by segenv train")
    if namespace.render is not None:
        check_out_dir(namespace.render, "--render")
    read_config(run)  # a missing or damaged config.json: one line, before torch loads
    from .compare import evaluate_run

    text, record = evaluate_run(
        run,
        split=namespace.split,
        episodes=namespace.episodes,
        dataset=namespace.dataset,
        seed=namespace.seed,
        greedy=not namespace.stochastic,
        device=namespace.device,
        baselines=not namespace.no_baselines,
        flips=namespace.flips,
    )
    print(text)
    name = f"eval_{namespace.split}.json" if namespace.dataset is None else "eval_dataset.json"
    atomic_write_text(run / name, json.dumps(record, indent=2) + "\n")
    if namespace.render is not None:
        from .episode_render import render_run

        kwargs = {"split": namespace.split, "dataset": namespace.dataset, "seed": namespace.seed}
        for path in render_run(run, namespace.render, gif=namespace.gif, **kwargs):
            print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------------------------- main


def learners_command(argv: Sequence[str]) -> int:
    """``segenv learners``: list what can be trained."""
    argparse.ArgumentParser(
        prog="segenv learners", description="List the learners segenv train knows."
    ).parse_args(argv)
    for name, spec in registry.LEARNERS.items():
        print(f"{name:15s} {spec.summary} ({spec.module_name})")
    return 0


def benchmark_command(argv: Sequence[str]) -> int:
    """``segenv benchmark reward_designs|ablations ...``: see :mod:`.suites`.

    The benchmark engine is imported when the command runs: it needs the learners' stack,
    which the other commands import only as far as they need it.
    """
    from .suites.runner import benchmark_command as run_benchmark

    return run_benchmark(argv)


def help_command(argv: Sequence[str]) -> int:
    """``segenv help [COMMAND [LEARNER]]``: the help of the command line or of one command."""
    if not argv or argv[0] in ("-h", "--help"):
        build_parser().print_help()
        return 0
    command = argv[0]
    if command not in COMMANDS:
        return _unknown_command(command)
    if command == "help":
        build_parser().print_help()
        return 0
    return COMMANDS[command]([*argv[1:2], "--help"])


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "train": train_command,
    "evaluate": evaluate_command,
    "learners": learners_command,
    "benchmark": benchmark_command,
    "help": help_command,
}

SUMMARIES = {
    "train": "train a learner into a run directory (resumable; `segenv train --help`)",
    "evaluate": "evaluate a run: Dice per step, NoC, ASSD against the baselines",
    "learners": "list the learners",
    "benchmark": "run a benchmark suite: reward_designs or ablations (resumable)",
    "help": "show the help of a command: segenv help train [LEARNER]",
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser: ``segenv COMMAND ...`` (each command parses its own flags)."""
    parser = argparse.ArgumentParser(
        prog="segenv",
        description="Interactive 3D segmentation as multi-agent RL: train, evaluate, benchmark.",
        epilog=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--debug", action="store_true", help=f"show tracebacks of errors (also {DEBUG_ENV}=1)"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name, summary in SUMMARIES.items():
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def _unknown_command(command: str) -> int:
    parser = build_parser()
    close = difflib.get_close_matches(command, COMMANDS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    parser.print_usage(sys.stderr)
    print(
        f"segenv: error: unknown command {command!r}{hint}; the commands are: "
        + ", ".join(COMMANDS),
        file=sys.stderr,
    )
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``segenv`` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    argv = [word for word in argv if word != "--debug"]
    if not argv or argv[0] in ("-h", "--help"):
        build_parser().print_help()
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        return _unknown_command(command)
    prefix = f"segenv {command}: error:"
    try:
        with interrupts.handle_signals():
            return COMMANDS[command](rest)
    except SystemExit as exit_:  # argparse: --help (0) or a usage error (2)
        return exit_.code if isinstance(exit_.code, int) else 2
    except interrupts.Interrupted as stop:
        print(stop.line, file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return interrupts.exit_code(2)
    except SegEnvError as error:
        return _report(debug, f"{prefix} {error}")
    except ImportError as error:
        hint = registry.missing_extra(error)
        if hint is None:
            return _report(debug, f"segenv {command}: internal error: {error!r}", status=1)
        return _report(debug, f"{prefix} {hint}")
    except OSError as error:  # the file system said no (a path, permissions, a full disk)
        where = f": {error.filename}" if error.filename else ""
        return _report(debug, f"{prefix} {error.strerror or error}{where}")
    except Exception as error:  # a bug: one line unless --debug
        return _report(
            debug,
            f"segenv {command}: internal error: {type(error).__name__}: {error} (run again "
            f"with --debug or {DEBUG_ENV}=1 for the traceback)",
            status=1,
        )


def _report(debug: bool, line: str, status: int = 2) -> int:
    """Print an error line (after the traceback with ``--debug``); return the exit status."""
    if debug:
        traceback.print_exc()
    print(line, file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
