"""Benchmark suites: MECCA's reward-design comparison and IteR-MRL's ablations, resumable.

A **suite** is a list of **cells** and the **tables** built from them. A cell is one learner
trained once with one seed (or a learning-free row such as min-cut) and evaluated on the
held-out synthetic test split under one or more **variants** (env settings at test time: the
user, the initial segmentation). A table row is a group of cells (one per seed) under one
variant. Two suites are defined (in :mod:`agents.suite_definitions`), each at three
**profiles**:

* ``reward_designs`` — one learner per reward design of SPEC §4 (MECCA Fig. 9): ``relative``,
  ``absolute``, ``focal``, ``error_region`` train A3C with that env reward; ``confidence``
  trains MECCA (:mod:`agents.mecca`), the learner that supplies the confidence map the reward
  needs. Every design uses the same user (``largest_error``) and protocol, so only the reward
  differs (MECCA itself trains with its guided user; the suite leaves that out).
* ``ablations`` — IteR-MRL Tables 1, 2, 4, 5, 6, 7: the methods (A3C = IteR-MRL, MECCA,
  InterCNN, R-Net, min-cut, the initial segmentation) per step and from different initial
  segmentations; the action sets and the binary state; relative vs absolute reward; good /
  none / bad interaction at test time; accumulated (T = 5) vs immediate (T = 1) reward.

Profiles: ``tiny`` (seconds per cell, for tests), ``quick`` (both suites in under an hour on a
2-core CPU) and ``paper`` (the papers' settings, for a GPU). Cells with the same name are the
same run, so both suites share them (e.g. the relative-reward A3C cells) when they use the same
output directory.

Layout of an output directory ``OUT`` (``run_suite(suite, OUT)``)::

    OUT/cells/<cell>/cell.json     the resolved settings (written first)
    OUT/cells/<cell>/run/          the learner's run directory (checkpoint.pt, tb/, ...)
    OUT/cells/<cell>/trained.json  training done (wall time, training curve)
    OUT/cells/<cell>/result.json   per-episode Dice per step of every variant (atomic, last)
    OUT/<suite>.md / .csv / .png   the report (see :mod:`agents.suite_report`)

A finished cell is skipped on a re-run; an interrupted one resumes from its learner's
checkpoint (``train(args, run_dir, resume=True)``); a variant added later is evaluated without
retraining; ``only`` (glob patterns of cell names) and ``rerun`` re-run chosen cells. A cell
whose recorded settings differ from the current ones is an error, never silently reused.

Command line (also ``python benchmarks/reward_designs.py`` / ``benchmarks/ablations.py``)::

    segenv benchmark reward_designs --profile quick --out runs/benchmarks/quick
    segenv benchmark ablations --profile quick --out runs/benchmarks/quick --only 'a3c-T1-*'
    segenv benchmark reward_designs --designs relative,my_reward --plugin my_package.rewards
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import hashlib
import importlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from segenv.errors import ConfigError, DataError, SegEnvError

from .suite_definitions import (
    DESIGNS,
    NON_TRAINED,
    PROFILES,
    SUITES,
    Cell,
    Profile,
    Row,
    Suite,
    Table,
    build_suite,
    check_designs,
    get_profile,
)

if TYPE_CHECKING:
    from .suite_report import SuiteReport

RESULT_NAME = "result.json"
TRAINED_NAME = "trained.json"
CELL_NAME = "cell.json"

__all__ = [
    "DESIGNS",
    "NON_TRAINED",
    "PROFILES",
    "SUITES",
    "Cell",
    "Profile",
    "Row",
    "Suite",
    "Table",
    "build_suite",
    "cell_args",
    "compare_reward_designs",
    "get_profile",
    "main",
    "run_suite",
]


# -------------------------------------------------------------------------------- cell set-up


def cell_args(cell: Cell, profile: Profile) -> Any:
    """The learner's ``Args`` of ``cell`` (``EnvArgs`` for a learning-free row).

    Order: the learner's ``CONFIGS[profile.preset]`` → the fields its name fixes → the
    profile's common overrides (where the field exists) → the profile's per-learner ones →
    the cell's → the seed.
    """
    from .cli import LEARNERS, learner_module
    from .common.config import EnvArgs

    if not cell.trained:
        args: Any = EnvArgs()
        strict: dict[str, Any] = {}
    else:
        if cell.learner not in LEARNERS:
            raise ConfigError(
                f"cell {cell.name!r}: learner {cell.learner!r} is unknown; choose one of "
                f"{sorted(LEARNERS)} or a learning-free row {NON_TRAINED}"
            )
        module = learner_module(cell.learner)
        if profile.preset not in module.CONFIGS:
            raise ConfigError(
                f"learner {cell.learner!r} has no {profile.preset!r} preset; it has "
                f"{sorted(module.CONFIGS)}"
            )
        args = dataclasses.replace(
            module.CONFIGS[profile.preset], **dict(LEARNERS[cell.learner].fixed)
        )
        strict = {**profile.per_learner.get(cell.learner, {}), "seed": cell.seed}
    names = {item.name for item in dataclasses.fields(args)}
    changes = {key: value for key, value in profile.common.items() if key in names}
    for key, value in {**strict, **cell.overrides}.items():
        if key not in names:
            raise ConfigError(
                f"cell {cell.name!r}: {type(args).__module__}.Args has no field {key!r}"
            )
        changes[key] = value
    changes = {key: tuple(v) if isinstance(v, list) else v for key, v in changes.items()}
    return dataclasses.replace(args, **changes)


def cell_config(cell: Cell, profile: Profile) -> dict[str, Any]:
    """What identifies a cell's training run: the learner and every ``Args`` field (JSON)."""
    args = cell_args(cell, profile)
    return _jsonable(
        {"learner": cell.learner, "args_class": _qualname(type(args)), **_asdict(args)}
    )


def field_defaults(cell: Cell, profile: Profile) -> dict[str, Any]:
    """Flattened ``args.<field>`` defaults of a cell's ``Args``, for records predating a field."""
    args = cell_args(cell, profile)
    if not dataclasses.is_dataclass(args):
        return {}
    values = {
        field.name: field.default
        for field in dataclasses.fields(args)
        if field.default is not dataclasses.MISSING
    }
    return _flatten(_jsonable({"args": values}))


def config_key(config: Mapping[str, Any]) -> str:
    """A short hash of a cell config."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _asdict(args: Any) -> dict[str, Any]:
    return {"args": dataclasses.asdict(args)}


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _jsonable(value: Any) -> Any:
    """Tuples → lists, everything else JSON-native or ``str``, so records compare equal."""
    return json.loads(json.dumps(value, default=str))


# --------------------------------------------------------------------------------- evaluation


def evaluation_env_kwargs(
    args: Any, profile: Profile, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """Test-split env keywords: the cell's env, the largest-error user, T = ``eval_steps``.

    The reward is the plain gain (the metrics do not use it, and rows that supply no
    confidence map run too), then the variant's overrides.
    """
    from .common.config import env_kwargs

    kwargs = env_kwargs(
        args, "test", user="largest_error", reward="relative", max_steps=profile.eval_steps
    )
    kwargs.update(overrides)
    return kwargs


def load_cell_policy(cell: Cell, run_dir: Path, args: Any) -> Callable[..., np.ndarray]:
    """The policy a cell is evaluated with: its trained learner, or a learning-free row."""
    if cell.learner == "noop":
        from .scripted import noop_policy

        return noop_policy
    if cell.learner == "hint_follower":
        from .scripted import hint_follower_policy

        return hint_follower_policy
    if cell.learner == "mincut":
        from .graphcut import GraphCutPolicy

        return GraphCutPolicy()
    from .cli import learner_module

    device = "cpu" if getattr(args, "device", "cpu") == "cpu" else "auto"
    policy: Callable[..., np.ndarray] = learner_module(cell.learner).load_policy(
        run_dir, greedy=True, device=device
    )
    return policy


def play_episodes(
    env: Any, policy: Callable[..., np.ndarray], episodes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Dice per step and clicks used per step, ``(episodes, T + 1)`` each.

    Episode ``i`` is case ``i`` of the env's data set reset with ``seed + i`` — the protocol of
    :func:`agents.evaluation.evaluate_policy`, kept per episode for paired comparisons. Dice
    after step t was reached with the clicks given before that step (0 at step 0).
    """
    num_cases = len(env.unwrapped.dataset)
    env.action_space.seed(seed)
    dice_rows, click_rows = [], []
    for episode in range(episodes):
        observation, info = env.reset(
            seed=seed + episode, options={"case_index": episode % num_cases}
        )
        dice_values, available = [float(info["dice"])], [int(info["num_clicks"])]
        done = False
        while not done:
            observation, _, terminated, truncated, info = env.step(policy(observation, env))
            dice_values.append(float(info["dice"]))
            available.append(int(info["num_clicks"]))
            done = bool(terminated or truncated)
        dice_rows.append(dice_values)
        click_rows.append([0, *available[:-1]])
    return np.asarray(dice_rows, float), np.asarray(click_rows, int)


def evaluate_cell(
    cell: Cell, profile: Profile, run_dir: Path, args: Any, variant: str
) -> dict[str, Any]:
    """Evaluate one variant of a cell on the test split; a JSON-ready record."""
    import gymnasium as gym

    from segenv.metrics import InteractiveMetrics

    from .common.config import env_id_of

    overrides = dict(cell.variants[variant])
    start, cpu_start = time.perf_counter(), process_cpu_s()
    policy = load_cell_policy(cell, run_dir, args)
    env = gym.make(env_id_of(args), **evaluation_env_kwargs(args, profile, overrides))
    try:
        episodes = len(env.unwrapped.dataset)  # type: ignore[attr-defined]
        dice, clicks = play_episodes(env, policy, episodes, profile.eval_seed)
    finally:
        env.close()
    metrics = InteractiveMetrics()
    for dice_row, click_row in zip(dice, clicks, strict=True):
        metrics.update(dice_row, np.diff(click_row))
    summary = metrics.aggregate()
    return {
        "variant": variant,
        "overrides": _jsonable(overrides),
        "protocol": _evaluation_protocol(profile),
        "episodes": int(episodes),
        "dice": dice.round(6).tolist(),
        "clicks_used": clicks.mean(axis=0).round(3).tolist(),
        "noc": {key: summary[key] for key in summary if key.startswith("NoC@")},
        "wall_s": round(time.perf_counter() - start, 3),
        "cpu_s": round(process_cpu_s() - cpu_start, 3),
    }


def process_cpu_s() -> float:
    """CPU seconds (user + system, all threads) this process has used so far."""
    return time.process_time()


def _evaluation_protocol(profile: Profile) -> dict[str, Any]:
    return {"eval_steps": profile.eval_steps, "eval_seed": profile.eval_seed, "split": "test"}


# ------------------------------------------------------------------------------ running cells


def cell_dir(out_dir: Path, cell: Cell) -> Path:
    """``OUT/cells/<cell name>``."""
    return Path(out_dir) / "cells" / cell.name


def read_result(out_dir: Path, cell: Cell) -> dict[str, Any] | None:
    """A cell's ``result.json``, or None if it has not finished."""
    path = cell_dir(out_dir, cell) / RESULT_NAME
    if not path.exists():
        return None
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        raise DataError(
            f"cannot read {path}: {error}; re-run the cell with --only {cell.name} --rerun"
        ) from error


def write_json_atomic(path: Path, record: Mapping[str, Any]) -> None:
    """Write JSON to a temporary file, fsync, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(json.dumps(record, indent=1) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _check_same_config(
    cell: Cell,
    recorded: Mapping[str, Any],
    current: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
) -> None:
    """Raise unless the settings match; a setting the record predates counts at its default."""
    if recorded == current:
        return
    old, new = _flatten(recorded), _flatten(current)
    for key, value in (defaults or {}).items():
        if key not in old and new.get(key) == value:
            old[key] = value
    changed = [
        f"{key}: {old.get(key, '—')!r} → {new.get(key, '—')!r}"
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]
    if not changed:
        return
    raise ConfigError(
        f"cell {cell.name!r} was run with other settings ({'; '.join(changed[:6])}); re-run it "
        f"with --only '{cell.name}' --rerun (run_suite(..., only=[{cell.name!r}], rerun=True)), "
        "or choose another --out directory"
    )


def _flatten(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def run_cell(
    cell: Cell, profile: Profile, out_dir: Path, *, show_progress: bool = True
) -> dict[str, Any]:
    """Train (or resume) one cell, evaluate its missing variants, write ``result.json``.

    Returns:
        The cell's result record.
    """
    from .suite_report import provenance

    directory = cell_dir(out_dir, cell)
    config = prepare_cell(cell, profile, out_dir)
    result = read_result(out_dir, cell)
    args = cell_args(cell, profile)
    threads = int(getattr(args, "threads", 0))
    if cell.trained and threads > 0:
        from .common.runtime import configure_torch

        configure_torch(threads)  # evaluation too (a finished cell may only evaluate)
    run_dir = directory / "run"
    if result is None:
        trained = directory / TRAINED_NAME  # training done, evaluation interrupted
        if trained.exists() and json.loads(trained.read_text("utf-8"))["config"] == config:
            result = dict(json.loads(trained.read_text("utf-8")))
        else:
            result = _train(cell, args, run_dir, config, show_progress)
            write_json_atomic(trained, result)
    wanted = {
        name: {"overrides": _jsonable(dict(overrides)), "protocol": _evaluation_protocol(profile)}
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
        write_json_atomic(directory / RESULT_NAME, result)
    return result


def _train(
    cell: Cell, args: Any, run_dir: Path, config: Mapping[str, Any], show_progress: bool
) -> dict[str, Any]:
    from .suite_report import provenance

    start, cpu_start = time.perf_counter(), process_cpu_s()
    resumed = (run_dir / "checkpoint.pt").exists()
    updates = None
    if cell.trained:
        from .cli import learner_module
        from .common.checkpoints import load_checkpoint

        learner_module(cell.learner).train(args, run_dir, resume=True, show_progress=show_progress)
        state = load_checkpoint(run_dir / "checkpoint.pt")
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

    Returns:
        The :class:`agents.suite_report.SuiteReport` (paths of the Markdown, CSV and PNG files,
        and the per-row summaries).
    """
    from .suite_report import write_reports

    out = Path(out_dir)
    workers = suite.profile.jobs if jobs is None else jobs
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"jobs must be an int >= 1, got {jobs!r}")
    chosen = select_cells(suite, only)
    start = time.perf_counter()
    for cell in chosen:
        if rerun and cell_dir(out, cell).exists():
            shutil.rmtree(cell_dir(out, cell))
        prepare_cell(cell, suite.profile, out)  # a changed setting fails here, before any work
    if workers == 1 or len(chosen) == 1:
        for index, cell in enumerate(chosen, 1):
            _say(show_progress, f"[{index}/{len(chosen)}] {cell.name}: {_state(out, cell)}")
            run_cell(cell, suite.profile, out, show_progress=show_progress)
    else:
        _run_parallel(chosen, suite.profile, out, workers, show_progress)
    return write_reports(suite, out, session_wall_s=time.perf_counter() - start)


def _say(show: bool, text: str) -> None:
    if show:
        print(text, file=sys.stderr, flush=True)


def _state(out: Path, cell: Cell) -> str:
    return "finished, checking its variants" if read_result(out, cell) else "running"


def _run_parallel(
    cells: Sequence[Cell], profile: Profile, out: Path, workers: int, show_progress: bool
) -> None:
    """Run cells in ``workers`` forked processes (forked: rewards registered here work)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    if "fork" not in multiprocessing.get_all_start_methods():
        raise ConfigError("jobs > 1 needs the 'fork' start method (Linux, macOS); use jobs=1")
    context = multiprocessing.get_context("fork")
    ordered = sorted(cells, key=lambda cell: -relative_cost(cell, profile))  # long ones first
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        started = time.perf_counter()
        futures = {
            pool.submit(run_cell, cell, profile, out, show_progress=False): cell for cell in ordered
        }
        pending = set(futures)
        finished = 0
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()  # re-raises a cell's error here
                    finished += 1
                    elapsed = (time.perf_counter() - started) / 60
                    name = futures[future].name
                    _say(
                        show_progress, f"[{finished}/{len(cells)}] {name}: done ({elapsed:.1f} min)"
                    )
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def relative_cost(cell: Cell, profile: Profile) -> float:
    """Rough training cost of a cell: updates × steps per episode × episodes per update.

    MECCA counts twice (its confidence network doubles an update's cost, measured on the
    quick profile: 0.50 vs 0.24 CPU-s per update); learning-free rows cost nothing.
    """
    if not cell.trained:
        return 0.0
    args = cell_args(cell, profile)
    updates = int(getattr(args, "total_updates", 0) or getattr(args, "total_timesteps", 1))
    factor = 2.0 if cell.learner == "mecca" else 1.0
    return factor * updates * args.max_steps * getattr(args, "num_envs", 1)


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
        recorded = json.loads(cell_file.read_text("utf-8"))["config"]
        _check_same_config(cell, recorded, config, defaults)
    else:
        write_json_atomic(cell_file, {"cell": cell.name, "config": config})
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
        "--jobs", type=int, default=None, help="cells at the same time (default: the profile's)"
    )
    parser.add_argument("--no-progress", action="store_true", help="quiet")
    parser.add_argument("--list", action="store_true", help="list the cells and exit")
    return parser


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
    if namespace.list:
        for cell in select_cells(built, namespace.only):
            state = "done" if read_result(out, cell) is not None else "to run"
            print(f"{cell.name:40s} {cell.learner:9s} {state}")
        return 0
    report = run_suite(
        built,
        out,
        only=namespace.only,
        rerun=namespace.rerun,
        show_progress=not namespace.no_progress,
    )
    print(report.markdown_path.read_text(encoding="utf-8"))
    print(f"wrote {report.markdown_path}, {report.csv_path}, {report.png_path}")
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


if __name__ == "__main__":
    from . import suite as _suite  # the importable module, not a second copy of it

    raise SystemExit(_suite.main())
