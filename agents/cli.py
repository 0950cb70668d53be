"""The ``segenv`` command line: train a learner, evaluate a run.

::

    segenv train a3c --config quick --out runs/a3c            # train (progress bar, TensorBoard)
    segenv train a3c --config quick --out runs/a3c --resume   # continue an interrupted run
    segenv train a3c --config quick --out runs/x --lr 3e-4    # any Args field as a flag
    segenv evaluate runs/a3c --split test                     # the IteR-MRL Table 2 comparison
    segenv learners                                           # what can be trained
    segenv benchmark reward_designs --profile quick           # a benchmark suite (resumable)

``train`` writes ``DIR/config.json`` (the learner and every setting), ``DIR/checkpoint.pt``
(atomically, every ``checkpoint_every_s`` seconds and at the end), ``DIR/tb/`` (TensorBoard:
``tensorboard --logdir DIR``) and ``DIR/scalars.jsonl``. ``evaluate`` prints Dice after each
step, its gain, ASSD and NoC@85/90 for the trained agent, the same agent with the user set to
``none`` (no clicks, noise hints), the initial segmentation (the no-op policy: Dice stays) and
two no-learning baselines (a hint-following heuristic and min-cut with the clicks as seeds),
and writes ``DIR/eval_<split>.json``.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from segenv.errors import ConfigError, SegEnvError
from segenv.files import atomic_write_text

from . import registry
from .common.runs import CONFIG_NAME, args_from_dict, read_config
from .compare import evaluate_run

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


def add_args_flags(parser: argparse.ArgumentParser, args_class: type[Any]) -> None:
    """One ``--field-name`` flag per field of an ``Args`` dataclass (default: the preset's)."""
    group = parser.add_argument_group(f"{args_class.__module__}.Args (override the preset)")
    docs = _field_docs(args_class)
    for field in dataclasses.fields(args_class):
        default = field.default
        help_text = docs.get(field.name, "")
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


def args_with_overrides(preset: Any, namespace: argparse.Namespace) -> Any:
    """The preset with every flag the user gave replaced."""
    changes = {}
    for field in dataclasses.fields(preset):
        value = getattr(namespace, field.name, None)
        if value is not None:
            changes[field.name] = tuple(value) if isinstance(value, list) else value
    return dataclasses.replace(preset, **changes)


# ---------------------------------------------------------------------------------- train


def train_command(argv: Sequence[str]) -> int:
    """``segenv train <learner> --config quick|paper --out DIR [--resume] [--FIELD VALUE ...]``."""
    first = argparse.ArgumentParser(prog="segenv train", add_help=False)
    first.add_argument("learner", choices=sorted(registry.LEARNERS))
    known, _ = first.parse_known_args(argv)
    learner = registry.load(known.learner)
    parser = argparse.ArgumentParser(
        prog="segenv train",
        description=f"Train {known.learner}: {registry.spec(known.learner).summary}.",
    )
    parser.add_argument("learner", choices=sorted(registry.LEARNERS))
    parser.add_argument("--config", default="quick", choices=sorted(learner.CONFIGS))
    parser.add_argument("--out", type=Path, required=True, help="run directory")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_args_flags(parser, learner.Args)
    namespace = parser.parse_args(argv)
    preset = registry.preset(known.learner, namespace.config)
    if namespace.resume and (namespace.out / CONFIG_NAME).exists():
        recorded_learner, recorded = read_config(namespace.out)
        if recorded_learner != known.learner:
            raise ConfigError(
                f"{namespace.out} holds a {recorded_learner!r} run, not {known.learner!r}"
            )
        preset = args_from_dict(learner.Args, recorded)
    args = args_with_overrides(preset, namespace)
    start = time.perf_counter()
    checkpoint = learner.train(
        args, namespace.out, resume=namespace.resume, show_progress=not namespace.no_progress
    )
    print(f"trained {known.learner} in {time.perf_counter() - start:.0f} s → {checkpoint}")
    return 0


# ------------------------------------------------------------------------------- evaluate


def evaluate_command(argv: Sequence[str]) -> int:
    """``segenv evaluate DIR [--split test|train] [--episodes N] [--dataset PATH]``."""
    parser = argparse.ArgumentParser(
        prog="segenv evaluate",
        description="Evaluate a trained run against the initial segmentation and baselines.",
    )
    parser.add_argument("run", type=Path, help="run directory written by segenv train")
    parser.add_argument("--split", default="test", choices=("test", "train"))
    parser.add_argument("--episodes", type=int, default=None, help="default: the run's setting")
    parser.add_argument("--dataset", default=None, help="evaluate on a data set folder (MSD)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode")
    parser.add_argument("--stochastic", action="store_true", help="sample actions, not argmax")
    parser.add_argument("--device", default="cpu", help="'cpu', 'cuda' or 'auto'")
    parser.add_argument("--no-baselines", action="store_true", help="only the trained agent")
    parser.add_argument(
        "--flips", action="store_true", help="also voxels fixed / broken per step and policy"
    )
    namespace = parser.parse_args(argv)
    text, record = evaluate_run(
        namespace.run,
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
    atomic_write_text(namespace.run / name, json.dumps(record, indent=2) + "\n")
    return 0


# ---------------------------------------------------------------------------------- main


def learners_command(argv: Sequence[str]) -> int:
    """``segenv learners``: list what can be trained."""
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


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "train": train_command,
    "evaluate": evaluate_command,
    "learners": learners_command,
    "benchmark": benchmark_command,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``segenv`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        print(__doc__)
        return 0 if not argv or argv[0] in ("-h", "--help") else 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except SegEnvError as error:
        print(f"segenv {argv[0]}: error: {error}", file=sys.stderr)
        return 2
    except ImportError as error:
        hint = registry.missing_extra(error)
        if hint is None:
            raise
        print(f"segenv {argv[0]}: error: {hint}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
