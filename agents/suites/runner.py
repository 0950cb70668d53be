"""Run a suite: train (or resume) and evaluate its cells, then write its reports.

A finished cell is skipped on a re-run; an interrupted one resumes from its learner's
checkpoint (``train(args, run_dir, resume=True)``); a variant added later is evaluated without
retraining; ``only`` (glob patterns of cell names) and ``rerun`` re-run chosen cells. A cell
whose recorded settings differ from the current ones is an error, never silently reused.
Cells can run in forked processes (``jobs``). SIGINT, SIGTERM and the checkpoint signal (see
:mod:`..common.interrupts`) stop a suite cleanly: the running cells write their checkpoints,
every finished cell is kept, and running the same command again continues with the rest.
With ``dataset=`` the cells train and are evaluated on a NIfTI folder with IteR-MRL §4.1's
protocol (one split and one coarse network for the whole suite). :func:`benchmark_command` is
``segenv benchmark`` and :func:`main` the entry point of ``benchmarks/reward_designs.py`` and
``benchmarks/ablations.py``.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import importlib
import json
import multiprocessing
import os
import shlex
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from segenv.errors import ConfigError, SegEnvError
from segenv.metrics import NSD_TOLERANCE_MM, InteractiveMetrics

from .. import registry
from ..common import interrupts
from ..common.checkpoints import CHECKPOINT_NAME, load_checkpoint
from ..common.config import EnvArgs, RunArgs, check_shape, env_id_of, evaluation_env_kwargs
from ..common.datasets import DATASET_SHAPE
from ..common.evaluation import Policy, play_episodes, score_episode
from ..common.runtime import configure_torch
from ..graphcut import GraphCutPolicy
from ..scripted import hint_follower_policy, noop_policy
from .cells import (
    CELL_NAME,
    RESULT_NAME,
    TRAINED_NAME,
    cell_args,
    cell_config,
    cell_dir,
    config_key,
    field_defaults,
    jsonable,
    read_record,
    read_result,
    same_config_changes,
    write_record,
)
from .definitions import (
    PROFILES,
    SUITES,
    Cell,
    Profile,
    Suite,
    build_suite,
    check_designs,
    get_profile,
)
from .provenance import provenance
from .report import SuiteReport, write_reports

# --------------------------------------------------------------------------------- evaluation


def load_cell_policy(cell: Cell, run_dir: Path, args: EnvArgs) -> Policy:
    """The policy a cell is evaluated with: its trained learner, or a learning-free row."""
    if cell.learner == "noop":
        return noop_policy
    if cell.learner == "hint_follower":
        return hint_follower_policy
    if cell.learner == "mincut":  # λ chosen on the cell's training cases, σ per image
        training = evaluation_env_kwargs(args, "train", actions="paper", state="probability")
        return GraphCutPolicy.tuned(gym.make(env_id_of(args), **training))
    device = "auto" if isinstance(args, RunArgs) and args.device != "cpu" else "cpu"
    return registry.load(cell.learner).load_policy(run_dir, greedy=True, device=device)


def evaluate_cell(
    cell: Cell, profile: Profile, run_dir: Path, args: EnvArgs, variant: str
) -> dict[str, Any]:
    """Evaluate one variant of a cell on the test split; a JSON-ready record.

    The protocol of :func:`~..common.evaluation.evaluate_policy` at T = ``profile.eval_steps``
    (the variant's env overrides on top), kept per episode for paired comparisons: the Dice and
    the NSD (CVPR 2025 scoring) after every step, the final prediction's lesion volumes and the
    policy's mean time per step.
    """
    overrides = dict(cell.variants[variant])
    start, cpu_start = time.perf_counter(), process_cpu_s()
    policy = load_cell_policy(cell, run_dir, args)
    kwargs = evaluation_env_kwargs(args, "test", max_steps=profile.eval_steps, **overrides)
    env = gym.make(env_id_of(args), **kwargs)
    scores = []
    clicks_used = []
    metrics = InteractiveMetrics()
    try:
        episodes = len(env.unwrapped.dataset)  # type: ignore[attr-defined]
        for episode in play_episodes(
            env, policy, episodes, seed=profile.eval_seed, predictions=True
        ):
            scores.append(score_episode(episode, NSD_TOLERANCE_MM))
            clicks_used.append(episode.clicks_used)
            metrics.update(episode.dice, episode.clicks_per_step)
    finally:
        env.close()
    summary = metrics.aggregate()
    dice = np.array([score.dice for score in scores], float)
    nsd = np.array([score.nsd for score in scores], float)
    clicks = np.array(clicks_used, int)
    return {
        "variant": variant,
        "overrides": jsonable(overrides),
        "protocol": _evaluation_protocol(profile),
        "episodes": int(episodes),
        "dice": dice.round(6).tolist(),
        "nsd": nsd.round(6).tolist(),
        "false_positive_volume": [round(s.false_positive_volume, 4) for s in scores],
        "false_negative_volume": [round(s.false_negative_volume, 4) for s in scores],
        "seconds_per_step": [round(s.seconds_per_step, 6) for s in scores],
        "clicks_used": clicks.mean(axis=0).round(3).tolist(),
        "noc": {key: summary[key] for key in summary if key.startswith("NoC@")},
        "wall_s": round(time.perf_counter() - start, 3),
        "cpu_s": round(process_cpu_s() - cpu_start, 3),
    }


def process_cpu_s() -> float:
    """CPU seconds (user + system, all threads) this process has used so far."""
    return time.process_time()


EVALUATION_METRICS = 2
"""Version of what an evaluation records (2: NSD per step, lesion volumes, time per step); a
record of an older version is evaluated again, without retraining."""


def _evaluation_protocol(profile: Profile) -> dict[str, Any]:
    return {
        "eval_steps": profile.eval_steps,
        "eval_seed": profile.eval_seed,
        "split": "test",
        "metrics": EVALUATION_METRICS,
        "nsd_tolerance_mm": NSD_TOLERANCE_MM,
    }


# ------------------------------------------------------------------------------ running cells


def _check_same_config(
    cell: Cell,
    recorded: Mapping[str, Any],
    current: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Raise unless the settings match (see :func:`~.cells.same_config_changes`)."""
    changed = same_config_changes(recorded, current, defaults)
    if not changed:
        return
    raise ConfigError(
        f"cell {cell.name!r} was run with other settings ({'; '.join(changed[:6])}); re-run it "
        f"with --only '{cell.name}' --rerun (run_suite(..., only=[{cell.name!r}], rerun=True)), "
        "or choose another --out directory"
    )


def run_cell(
    cell: Cell, profile: Profile, out_dir: Path, *, show_progress: bool = True
) -> dict[str, Any]:
    """Train (or resume) one cell, evaluate its missing variants, write ``result.json``.

    Returns:
        The cell's result record.
    """
    interrupts.raise_if_requested(stage=f"cell {cell.name}")
    directory = cell_dir(out_dir, cell)
    config = prepare_cell(cell, profile, out_dir)
    result = read_result(out_dir, cell)
    args = cell_args(cell, profile)
    if isinstance(args, RunArgs) and args.threads > 0:
        configure_torch(args.threads)  # evaluation too (a finished cell may only evaluate)
    run_dir = directory / "run"
    if result is None:
        trained = directory / TRAINED_NAME  # training done, evaluation interrupted
        record = read_record(trained) if trained.exists() else None
        defaults = field_defaults(cell, profile)
        if record is not None and not same_config_changes(record["config"], config, defaults):
            result = record
        else:
            result = _train(cell, args, run_dir, config, show_progress)
            write_record(trained, result)
    wanted = {
        name: {"overrides": jsonable(dict(overrides)), "protocol": _evaluation_protocol(profile)}
        for name, overrides in cell.variants.items()
    }
    evaluations = dict(result.get("evaluations", {}))
    missing = [
        name
        for name, expected in wanted.items()
        if name not in evaluations
        or {key: evaluations[name].get(key) for key in expected} != expected
    ]
    if missing:
        for name in missing:
            evaluations[name] = evaluate_cell(cell, profile, run_dir, args, name)
        result["evaluations"] = evaluations
        result["evaluated_on"] = provenance()
        write_record(directory / RESULT_NAME, result)
    return result


def _train(
    cell: Cell, args: EnvArgs, run_dir: Path, config: Mapping[str, Any], show_progress: bool
) -> dict[str, Any]:
    start, cpu_start = time.perf_counter(), process_cpu_s()
    resumed = any(run_dir.glob("checkpoint.*"))  # checkpoint.pt, or SB3's checkpoint.zip
    updates = None
    if cell.trained:
        learner = registry.load(cell.learner)
        learner.train(args, run_dir, resume=resumed, show_progress=show_progress)
        state = load_checkpoint(run_dir / CHECKPOINT_NAME)
        updates = None if state is None else state.get("updates")
    return {
        "cell": cell.name,
        "group": cell.group,
        "learner": cell.learner,
        "seed": cell.seed,
        "config_key": config_key(config),
        "config": dict(config),
        "train": {
            "wall_s": round(time.perf_counter() - start, 3),
            "cpu_s": round(process_cpu_s() - cpu_start, 3),
            "updates": updates,
            "resumed": resumed,
            "finished": time.strftime("%Y-%m-%d %H:%M:%S"),
            "training_curve": _training_curve(run_dir),
        },
        "trained_on": provenance(),
        "evaluations": {},
    }


def _training_curve(run_dir: Path, points: int = 10) -> list[list[float]]:
    """A few ``[update, initial Dice, final Dice]`` points of the training log (averaged)."""
    path = run_dir / "scalars.jsonl"
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if "charts/final_dice" in record and "charts/initial_dice" in record:
            records.append(record)
    if not records:
        return []
    curve = []
    for chunk in np.array_split(np.arange(len(records)), min(points, len(records))):
        part = [records[i] for i in chunk]
        curve.append(
            [
                float(part[-1]["step"]),
                round(float(np.mean([r["charts/initial_dice"] for r in part])), 4),
                round(float(np.mean([r["charts/final_dice"] for r in part])), 4),
            ]
        )
    return curve


def select_cells(suite: Suite, only: str | Sequence[str] | None) -> list[Cell]:
    """The cells whose names match any glob pattern of ``only`` (all cells if None)."""
    if only is None:
        return list(suite.cells)
    patterns = [only] if isinstance(only, str) else list(only)
    patterns = [part for pattern in patterns for part in str(pattern).split(",") if part]
    if not patterns:
        raise ConfigError("only= is empty; give glob patterns of cell names, e.g. 'a3c-*'")
    chosen = [
        cell
        for cell in suite.cells
        if any(fnmatch.fnmatchcase(cell.name, pattern) for pattern in patterns)
    ]
    if not chosen:
        names = ", ".join(cell.name for cell in suite.cells[:8])
        raise ConfigError(
            f"only={patterns!r} matches no cell of suite {suite.name!r} ({suite.profile.name}); "
            f"its cells are named like: {names}, ..."
        )
    return chosen


def run_suite(
    suite: Suite,
    out_dir: str | os.PathLike[str],
    only: str | Sequence[str] | None = None,
    rerun: bool = False,
    show_progress: bool = True,
    jobs: int | None = None,
    data: DataOptions | None = None,
) -> SuiteReport:
    """Run (or resume) the cells of ``suite`` in ``out_dir``, then write its reports.

    Args:
        suite: From :func:`build_suite`.
        out_dir: Output directory; suites sharing it share their identical cells.
        only: Glob pattern(s) of cell names to run (e.g. ``"a3c-focal-*"``); the others are
            left as they are (their finished results still appear in the reports).
        rerun: Delete the chosen cells' results and runs first and train them again.
        show_progress: Print one line per cell (and, with one job, the learners' bars).
        jobs: Cells run at the same time, each in a forked process (default: the profile's).
            On a 2-core CPU two single-threaded cells beat one two-threaded cell, and they
            keep their speed when other work shares the machine.
        data: Train and evaluate on a NIfTI folder (:class:`DataOptions`) instead of the
            synthetic cases: ``OUT/splits.json`` and one coarse network serve every cell.

    Returns:
        The :class:`~.report.SuiteReport` (paths of the Markdown, CSV and PNG files,
        and the per-row summaries).

    Raises:
        Interrupted: A signal stopped the suite; the cells it ran have their checkpoints and
            every finished cell is kept (run the suite again to continue).
    """
    out = Path(out_dir)
    workers = suite.profile.jobs if jobs is None else jobs
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"jobs must be an int >= 1, got {jobs!r}")
    with interrupts.handle_signals():
        if data is not None:
            suite = with_dataset(suite, out, data)
        chosen = select_cells(suite, only)
        start = time.perf_counter()
        for cell in chosen:
            if rerun and cell_dir(out, cell).exists():
                shutil.rmtree(cell_dir(out, cell))
            prepare_cell(cell, suite.profile, out)  # a changed setting fails here, before work
        if workers == 1 or len(chosen) == 1:
            for index, cell in enumerate(chosen, 1):
                _say(show_progress, f"[{index}/{len(chosen)}] {cell.name}: {_state(out, cell)}")
                try:
                    run_cell(cell, suite.profile, out, show_progress=show_progress)
                except interrupts.Interrupted as stop:
                    raise _suite_interrupted(stop, suite, out, [cell]) from None
        else:
            _run_parallel(chosen, suite, out, workers, show_progress)
        return write_reports(suite, out, session_wall_s=time.perf_counter() - start)


@dataclasses.dataclass(frozen=True)
class DataOptions:
    """A suite on real data: the folder and how to split it (see ``segenv train --dataset``)."""

    dataset: str
    """an MSD task folder or a folder of image/label pairs"""
    preset: str = ""
    """task preset of :mod:`segenv.data.presets`"""
    splits: str = ""
    """splits JSON (default: drawn with data seed 0 and kept as ``OUT/splits.json``)"""
    shape: tuple[int, ...] = DATASET_SHAPE
    """``(D, H, W)`` the volumes are resized to"""
    coarse: str = ""
    """the coarse network's folder (default: segenv's shared cache)"""
    coarse_epochs: int = 30
    """epochs of the coarse network on ``train1``"""


def with_dataset(suite: Suite, out: Path, data: DataOptions) -> Suite:
    """``suite`` with every cell on ``data``: splits and coarse network prepared once, here."""
    from ..coarse import prepare_dataset_run

    check_shape(data.shape)
    wanted = EnvArgs(
        shape=tuple(data.shape),
        dataset=str(Path(data.dataset).expanduser().resolve()),
        preset=data.preset,
        splits=str(Path(data.splits).expanduser().resolve()) if data.splits else "",
        coarse=str(Path(data.coarse).expanduser().resolve()) if data.coarse else "",
        coarse_epochs=data.coarse_epochs,
    )
    out.mkdir(parents=True, exist_ok=True)
    device = str(suite.profile.common.get("device", "auto"))
    prepared = prepare_dataset_run(wanted, out / "splits.json", device=device)
    fields = ("shape", "dataset", "preset", "splits", "coarse", "coarse_epochs")
    common = {**suite.profile.common, **{name: getattr(prepared, name) for name in fields}}
    return dataclasses.replace(suite, profile=dataclasses.replace(suite.profile, common=common))


def _suite_interrupted(
    stop: interrupts.Interrupted, suite: Suite, out: Path, running: Sequence[Cell]
) -> interrupts.Interrupted:
    """The suite's :class:`Interrupted`: the cell(s) stopped and how many are kept."""
    finished = sum(read_result(out, cell) is not None for cell in suite.cells)
    note = f"{finished} of {len(suite.cells)} cells finished and kept"
    names = ", ".join(cell.name for cell in running)
    stage = f"cell{'s' if len(running) > 1 else ''} {names}" if names else ""
    if len(running) == 1:
        return interrupts.Interrupted(
            stop.signum, stop.done, stop.total, stop.unit, stage, stop.saved, note
        )
    return interrupts.Interrupted(stop.signum, stage=stage, saved=stop.saved, note=note)


def _say(show: bool, text: str) -> None:
    if show:
        print(text, file=sys.stderr, flush=True)


def _state(out: Path, cell: Cell) -> str:
    return "finished, checking its variants" if read_result(out, cell) else "running"


def _run_parallel(
    cells: Sequence[Cell], suite: Suite, out: Path, workers: int, show_progress: bool
) -> None:
    """Run cells in ``workers`` forked processes (forked: rewards registered here work).

    A signal reaches the workers too (forwarded); each running cell writes its checkpoint and
    stops, the cells not started are cancelled, then :class:`Interrupted` is raised.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        raise ConfigError("jobs > 1 needs the 'fork' start method (Linux, macOS); use jobs=1")
    profile = suite.profile
    context = multiprocessing.get_context("fork")
    ordered = sorted(cells, key=lambda cell: -relative_cost(cell, profile))  # long ones first
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    with interrupts.deferred(), pool:
        started = time.perf_counter()
        futures = {
            pool.submit(run_cell, cell, profile, out, show_progress=False): cell for cell in ordered
        }
        pending = set(futures)
        finished = 0
        stopped: list[tuple[Cell, interrupts.Interrupted]] = []
        try:
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    try:
                        future.result()  # re-raises a cell's error here
                    except interrupts.Interrupted as stop:
                        stopped.append((futures[future], stop))
                        continue
                    finished += 1
                    elapsed = (time.perf_counter() - started) / 60
                    name = futures[future].name
                    _say(
                        show_progress, f"[{finished}/{len(cells)}] {name}: done ({elapsed:.1f} min)"
                    )
                signum = interrupts.stop_requested()
                if (signum is not None or stopped) and pending:  # a stopped cell stops the rest
                    for future in pending:
                        future.cancel()
                    pending = {future for future in pending if not future.cancelled()}
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    signum = interrupts.stop_requested()
    if stopped or signum is not None:
        running = [(cell, stop) for cell, stop in stopped if stop.done is not None]
        if len(running) == 1:  # where that cell stopped
            error = running[0][1]
        else:
            first = stopped[0][1] if stopped else interrupts.Interrupted(signum or 2)
            saved = any(stop.saved for _, stop in stopped)
            error = interrupts.Interrupted(first.signum, saved=saved)
        cells = [cell for cell, _ in running]
        raise _suite_interrupted(error, suite, out, cells) from None


def relative_cost(cell: Cell, profile: Profile) -> float:
    """Rough training cost of a cell: the env steps its run plays (``total_env_steps``).

    MECCA counts twice (its confidence network doubles an update's cost, measured on the
    quick profile: 0.50 vs 0.24 CPU-s per update); learning-free rows cost nothing.
    """
    args = cell_args(cell, profile)
    if not isinstance(args, RunArgs):  # a learning-free row
        return 0.0
    factor = 2.0 if cell.learner == "mecca" else 1.0
    return factor * args.total_env_steps


def prepare_cell(cell: Cell, profile: Profile, out_dir: Path) -> dict[str, Any]:
    """Check a cell's recorded settings against the current ones; record them if new.

    Returns:
        The cell's config.
    """
    directory = cell_dir(out_dir, cell)
    config = cell_config(cell, profile)
    defaults = field_defaults(cell, profile)
    result = read_result(out_dir, cell)
    if result is not None:
        _check_same_config(cell, result["config"], config, defaults)
        return config
    cell_file = directory / CELL_NAME
    if cell_file.exists():
        recorded = read_record(cell_file)["config"]
        _check_same_config(cell, recorded, config, defaults)
    else:
        write_record(cell_file, {"cell": cell.name, "config": config})
    return config


def compare_reward_designs(
    designs: Sequence[str],
    profile: str | Profile = "quick",
    out_dir: str | os.PathLike[str] = "runs/benchmarks",
    seeds: Sequence[int] | None = None,
    *,
    only: str | Sequence[str] | None = None,
    rerun: bool = False,
    show_progress: bool = True,
    jobs: int | None = None,
) -> SuiteReport:
    """Train and compare reward designs in this process (MECCA Fig. 9 protocol).

    A design registered in this process with ``@segenv.rewards.REWARDS.register(name)`` works
    like the built-in ones (A3C is trained with ``reward=name``; parallel cells are forked, so
    they see it too); ``relative`` is always added as the reference. ``out_dir/<profile>``
    holds the cells and ``reward_designs.md/.csv/.png``; see :func:`run_suite` for the rest.

    Example::

        from segenv.rewards import REWARDS
        @REWARDS.register("half_gain")
        def half_gain(inputs):
            return 0.5 * inputs.gain
        report = compare_reward_designs(["half_gain"], profile="tiny", out_dir="runs/bench")
        print(report.markdown_path.read_text())
    """
    chosen = get_profile(profile)
    suite = build_suite("reward_designs", chosen, seeds=seeds, designs=designs)
    out = Path(out_dir) / chosen.name
    return run_suite(suite, out, only=only, rerun=rerun, show_progress=show_progress, jobs=jobs)


# -------------------------------------------------------------------------------- command line


def _parser(prog: str, suite: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a benchmark suite (resumable) and write its Markdown, CSV and PNG.",
    )
    if suite is None:
        parser.add_argument("suite", choices=SUITES)
    parser.add_argument(
        "--profile",
        default="quick",
        choices=sorted(PROFILES),
        help="; ".join(f"{name}: {profile.description}" for name, profile in PROFILES.items()),
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default runs/benchmarks/PROFILE)"
    )
    parser.add_argument("--only", default=None, help="comma-separated glob patterns of cells")
    parser.add_argument("--rerun", action="store_true", help="train the chosen cells again")
    parser.add_argument("--seeds", default=None, help="comma-separated training seeds")
    parser.add_argument("--designs", default=None, help="reward designs (reward_designs only)")
    parser.add_argument(
        "--plugin", action="append", default=[], help="module to import first (own rewards)"
    )
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=None,
        help="cells at the same time, >= 1 (default: the profile's)",
    )
    parser.add_argument("--no-progress", action="store_true", help="quiet")
    parser.add_argument("--list", action="store_true", help="list the cells and exit")
    real = parser.add_argument_group(
        "real data (IteR-MRL §4.1: splits, a coarse network on train1, cells on train2 / test)"
    )
    real.add_argument("--dataset", default=None, help="an MSD task folder or image/label pairs")
    real.add_argument("--preset", default="", help="task preset (segenv.data.presets)")
    real.add_argument("--splits", default="", help="splits JSON (default: OUT/splits.json)")
    real.add_argument(
        "--shape", type=_positive, nargs=3, default=None, metavar="N", help="D H W (30 55 55)"
    )
    real.add_argument("--coarse", default="", help="coarse network folder (default: cache)")
    real.add_argument("--coarse-epochs", type=_positive, default=30, help="its epochs on train1")
    parser.add_argument(
        "--checkpoint-signal",
        default=None,
        metavar="SIGNAL",
        help="also stop with checkpoints on this signal, e.g. USR1; default "
        f"${interrupts.CHECKPOINT_SIGNAL_ENV}",
    )
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def benchmark_command(argv: Sequence[str], *, suite: str | None = None, prog: str = "") -> int:
    """``segenv benchmark reward_designs|ablations [--profile ...] [--only ...] ...``."""
    namespace = _parser(prog or "segenv benchmark", suite).parse_args(list(argv))
    name = suite or namespace.suite
    for plugin in namespace.plugin:
        try:
            importlib.import_module(plugin)
        except ImportError as error:
            raise ConfigError(f"--plugin {plugin!r} cannot be imported: {error}") from error
    seeds = None
    if namespace.seeds is not None:
        try:
            seeds = [int(part) for part in namespace.seeds.split(",") if part]
        except ValueError as error:
            raise ConfigError(
                f"--seeds must be comma-separated ints, got {namespace.seeds!r}"
            ) from error
    designs = None if namespace.designs is None else check_designs(namespace.designs)
    built = build_suite(name, namespace.profile, seeds=seeds, designs=designs)
    out = namespace.out or Path("runs/benchmarks") / namespace.profile
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a directory; choose a directory path")
    if namespace.list:
        for cell in select_cells(built, namespace.only):
            state = "done" if read_result(out, cell) is not None else "to run"
            print(f"{cell.name:40s} {cell.learner:9s} {state}")
        return 0
    data = None
    if namespace.dataset is not None:
        data = DataOptions(
            dataset=namespace.dataset,
            preset=namespace.preset,
            splits=namespace.splits,
            shape=tuple(namespace.shape) if namespace.shape else DATASET_SHAPE,
            coarse=namespace.coarse,
            coarse_epochs=namespace.coarse_epochs,
        )
    elif namespace.shape or namespace.splits or namespace.preset or namespace.coarse:
        raise ConfigError("--shape, --splits, --preset and --coarse need --dataset PATH")
    checkpoint_signal = interrupts.parse_signal(namespace.checkpoint_signal)
    try:
        with interrupts.handle_signals(checkpoint_signal):
            report = run_suite(
                built,
                out,
                only=namespace.only,
                rerun=namespace.rerun,
                show_progress=not namespace.no_progress,
                jobs=namespace.jobs,
                data=data,
            )
    except interrupts.Interrupted as stop:
        words = [word for word in argv if word not in ("--rerun", "--debug")]
        again = shlex.join([*shlex.split(prog or "segenv benchmark"), *words])
        print(f"{stop.line}; resume with: {again}", file=sys.stderr)
        return stop.exit_code
    print(report.markdown_path.read_text(encoding="utf-8"))
    print(
        f"wrote {report.markdown_path}, {report.csv_path}, {report.png_path}, {report.curves_path}"
    )
    return 0


def main(argv: Sequence[str] | None = None, *, suite: str | None = None) -> int:
    """Entry point of ``benchmarks/reward_designs.py`` and ``benchmarks/ablations.py``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    prog = f"python benchmarks/{suite}.py" if suite else "segenv benchmark"
    try:
        return benchmark_command(argv, suite=suite, prog=prog)
    except SegEnvError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
