"""What the benchmark suites run: profiles, cells, tables, and the two suites.

The data model of :mod:`.runner` (which runs it) and :mod:`.report` (which
writes it up): a :class:`Profile` (data, budget, protocol, seeds), :class:`Cell` (one learner,
one seed, its test-time variants), :class:`Row` and :class:`Table` (how cells become a report),
and :class:`Suite`. :func:`build_suite` returns ``reward_designs`` (MECCA Fig. 9) or
``ablations`` (IteR-MRL Tables 1, 2, 4, 5, 6, 7) at the ``tiny``, ``quick``, ``quick3d`` or
``paper`` profile. Paper numbers quoted in the rows are Dice (%) after 5 steps on BraTS2015 FLAIR.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from segenv.errors import ConfigError

SUITES = ("reward_designs", "ablations")
DESIGNS = ("relative", "absolute", "focal", "error_region", "confidence")
"""The reward designs of SPEC §4 in MECCA Fig. 9's order (``confidence`` trains MECCA)."""
REFERENCE_DESIGN = "relative"
NON_TRAINED = ("noop", "mincut", "hint_follower")
"""Rows without training: the initial segmentation, min-cut with the clicks, a heuristic."""
_CELL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.+=-]+$")


@dataclass(frozen=True)
class Profile:
    """The data, budget and protocol every cell of a suite shares.

    Attributes:
        name: ``tiny``, ``quick``, ``quick3d`` or ``paper``.
        preset: The learners' ``CONFIGS`` entry each cell starts from.
        seeds: Training seeds per suite name.
        common: ``Args`` overrides applied to every learner that has the field (data size,
            protocol, budget, threads).
        per_learner: Extra ``Args`` overrides per learner name.
        eval_steps: T at test time (every row is evaluated for the same number of steps).
        jobs: Cells run at the same time by default (see :func:`run_suite`).
        eval_seed: Reset seed of the first test episode (the same for every row, so rows see
            the same cases and initial states and can be compared case by case).
        description: One line for the reports.
    """

    name: str
    preset: str
    seeds: Mapping[str, tuple[int, ...]]
    common: Mapping[str, Any]
    per_learner: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    eval_steps: int = 5
    eval_seed: int = 0
    jobs: int = 1
    description: str = ""


@dataclass(frozen=True)
class Cell:
    """One training run (or learning-free row) and its evaluations.

    Attributes:
        name: Unique name, also the folder under ``OUT/cells`` (letters, digits, ``_.+=-``).
        group: The row it belongs to across seeds (the name without the seed).
        learner: A name of :data:`segenv_agents.registry.LEARNERS` or of :data:`NON_TRAINED`.
        overrides: ``Args`` fields that differ from the profile (e.g. ``{"reward": "focal"}``).
        seed: The training seed.
        variants: Test-time env overrides by variant name (``{"good": {}, "bad":
            {"user": "random"}}``).
    """

    name: str
    group: str
    learner: str
    overrides: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    variants: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: {"good": {}})

    @property
    def trained(self) -> bool:
        """Whether the cell trains a learner."""
        return self.learner not in NON_TRAINED


@dataclass(frozen=True)
class Row:
    """A table row: the cells of ``group`` (all seeds) evaluated under ``variant``."""

    label: str
    group: str
    variant: str = "good"
    paper: float | None = None
    """the paper's final Dice (%) for this row, if it reports one"""


@dataclass(frozen=True)
class Table:
    """One table of a suite report.

    ``columns`` empty: Dice per step of every row, with a paired comparison against the
    ``reference`` row (IteR-MRL Table 2 layout), or against the row's own cells under
    ``against_variant``. ``columns`` given as ``(label, variant)`` pairs: the final Dice of
    every row under each variant (IteR-MRL Table 1 layout; a row's own ``variant`` is then
    ignored). Every table also reports the interactive 3D metrics of its rows.
    """

    key: str
    title: str
    rows: tuple[Row, ...]
    reference: str
    note: str = ""
    columns: tuple[tuple[str, str], ...] = ()
    against_variant: str = ""
    """if set, each row is compared with its own cells under this variant (a drop), not with
    the ``reference`` row (which then only anchors the plot)"""


@dataclass(frozen=True)
class Suite:
    """A named set of cells and the tables built from them, at one profile."""

    name: str
    profile: Profile
    cells: tuple[Cell, ...]
    tables: tuple[Table, ...]

    def cell(self, name: str) -> Cell:
        """The cell called ``name``."""
        for cell in self.cells:
            if cell.name == name:
                return cell
        raise ConfigError(f"suite {self.name!r} has no cell {name!r}")


# ----------------------------------------------------------------------------------- profiles

_PROTOCOL = {"initial_clicks": 5, "clicks_per_step": 5, "max_steps": 5, "target_dice": 0.75}
FIVE_SEEDS = (0, 1, 2, 3, 4)
"""Training seeds of every trained row outside ``tiny``: enough for a 95 % t-interval."""

PROFILES: dict[str, Profile] = {
    "tiny": Profile(
        name="tiny",
        preset="quick",
        seeds={"reward_designs": (0,), "ablations": (0,)},
        common={
            **_PROTOCOL,
            "shape": (16, 16),
            "num_train_cases": 4,
            "num_test_cases": 2,
            "total_updates": 2,
            "num_envs": 1,
            "channels": 4,
            "shared_dilations": (1,),
            "head_dilations": (1,),
            "threads": 1,
            "checkpoint_every_s": 1e9,
            "log_every": 1,
            "device": "cpu",
        },
        description="for tests: 2D 16×16, 2 updates, 2 test cases (numbers mean nothing)",
    ),
    # Measured on the 2-core CPU this project runs on, single-threaded cells (torch threads
    # = 1): A3C 0.24 CPU-s per update at 32×32 (4 envs × 5 steps), MECCA 0.50, InterCNN /
    # R-Net ~0.12; one test variant (48 episodes) ~1.5 CPU-s. Two-threaded torch on a shared
    # 2-core machine was 15× slower per update than one thread (threads spin while the other
    # core is busy), hence 1 thread. With 5 seeds per trained row (3 and 2 before, too few for
    # a confidence interval): 72 distinct cells for both suites sharing one --out (25 + 62,
    # 15 shared), about 105 CPU-min by the figures above (the 35 cells of 3 + 2 seeds: 51
    # estimated, 42 measured, 27 min of wall time), so roughly an hour two at a time.
    "quick": Profile(
        name="quick",
        preset="quick",
        seeds={"reward_designs": FIVE_SEEDS, "ablations": FIVE_SEEDS},
        common={
            **_PROTOCOL,
            "shape": (32, 32),
            "num_train_cases": 1000,
            "num_test_cases": 48,
            "total_updates": 400,
            "num_envs": 4,  # the cost-setting fields are pinned: the budget above holds
            "channels": 16,  # even when the learners' own quick presets change
            "threads": 1,
            "checkpoint_every_s": 60.0,
            "device": "cpu",
        },
        per_learner={"intercnn": {"total_updates": 300}, "rnet": {"total_updates": 300}},
        jobs=2,
        description=(
            "2D 32×32 synthetic slices, 400 updates per learner (300 supervised), 48 test "
            "cases, 5 seeds, two single-threaded cells at a time (both suites in about an hour "
            "on 2 cores)"
        ),
    ),
    # The 3D profile: 16×32×32 volumes, each suite within about two hours on this 2-core CPU,
    # on the learners' quick3d presets (the 3D main job's data: mixed families, domain
    # randomisation, difficulty 1.0, image-aware start). Per-update cost measured here with
    # the runner's settings (one torch thread, 4 envs × 5 steps; process CPU time of a
    # 6-update run minus a 2-update run, over 4; the same method gives A3C 0.22 CPU-s at
    # 32×32, the 0.24 quoted above): with 16 channels A3C 4.5 CPU-s per update (19× the 2D
    # cost: 16× the voxels, 3×3×3 kernels), MECCA 12.7, InterCNN 4.2, R-Net 1.6, a test episode
    # 2 CPU-s; with 8 channels A3C 1.7, MECCA 4.2, InterCNN 1.7, R-Net 1.0, a test episode 0.75
    # (MECCA 1.2, no-op 0.15, min-cut 0.3). Hence 8 channels and 16 test cases. The ablations
    # suite alone (40 A3C-like cells, 5 T = 1, 5 MECCA, 10 supervised at 50 updates) costs
    # ≈ 91 CPU-s per A3C/MECCA update of the budget + 13.6 per supervised update + ≈ 115
    # CPU-s per test case (its 139 variant evaluations): 70 / 50 updates and 16 cases give
    # ≈ 8,900 CPU-s = 148 CPU-min, about 1.6 h two at a time at the 1.55 busy cores the quick
    # run got (1.25 h on two idle cores); reward_designs alone (25 cells, 55 CPU-s per
    # update, 50 variant evaluations) ≈ 76 CPU-min, under an hour. Both suites in one --out
    # share 15 cells: ≈ 172 CPU-min, under 2 h on idle cores. An interrupted run resumes cell
    # by cell (and a cell from its checkpoint), so it can be continued in another session.
    "quick3d": Profile(
        name="quick3d",
        preset="quick3d",  # the learners' 3D presets (the 3D main job's data and schedules)
        seeds={"reward_designs": FIVE_SEEDS, "ablations": FIVE_SEEDS},
        common={
            **_PROTOCOL,
            # the data, pinned so that the learning-free rows see the learners' cases
            "difficulty": 1.0,
            "family": "mixed",
            "randomise": True,
            "shape": (16, 32, 32),
            "num_train_cases": 1000,
            "num_test_cases": 16,
            "total_updates": 70,
            "num_envs": 4,
            "channels": 8,
            "threads": 1,
            "checkpoint_every_s": 60.0,
            "device": "cpu",
        },
        per_learner={"intercnn": {"total_updates": 50}, "rnet": {"total_updates": 50}},
        jobs=2,
        description=(
            "3D 16×32×32 synthetic volumes, 70 updates per learner (50 supervised), 8-channel "
            "networks, 16 test cases, 5 seeds, two single-threaded cells at a time (each suite "
            "within about 2 h on 2 cores)"
        ),
    ),
    "paper": Profile(
        name="paper",
        preset="paper",
        seeds={"reward_designs": FIVE_SEEDS, "ablations": FIVE_SEEDS},
        common={
            **_PROTOCOL,
            "shape": (30, 55, 55),
            "num_train_cases": 100,
            "num_test_cases": 50,
            "gamma": 0.95,
            "lr": 1e-4,
            "device": "auto",
        },
        description="the papers' settings (55×55×30, T = 5, 5 clicks per step, lr 1e-4, γ = 0.95)",
    ),
}


def get_profile(profile: str | Profile) -> Profile:
    """A profile by name (or the profile itself)."""
    if isinstance(profile, Profile):
        return profile
    if profile not in PROFILES:
        raise ConfigError(f"profile {profile!r} is unknown; choose one of {sorted(PROFILES)}")
    return PROFILES[profile]


# ------------------------------------------------------------------------------ the two suites


def _cells(
    group: str,
    learner: str,
    seeds: Sequence[int],
    overrides: Mapping[str, Any] | None = None,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Cell]:
    """One cell per seed (a single seed-0 cell for a learning-free row)."""
    if learner in NON_TRAINED:
        seeds = (0,)
    return [
        Cell(
            name=group if learner in NON_TRAINED else f"{group}-s{seed}",
            group=group,
            learner=learner,
            overrides=dict(overrides or {}),
            seed=int(seed),
            variants=dict(variants or {"good": {}}),
        )
        for seed in seeds
    ]


def design_group(design: str) -> str:
    """The cell group that trains ``design`` (``confidence`` → MECCA, the rest → A3C)."""
    return "mecca-confidence" if design == "confidence" else f"a3c-{design}"


PERTURBED_VARIANT: Mapping[str, Any] = {"user": "perturbed"}
"""The robustness variant: the perturbed largest-error user at its defaults."""
_DESIGN_VARIANTS: Mapping[str, Mapping[str, Any]] = {"good": {}, "perturbed": PERTURBED_VARIANT}


def _design_cells(design: str, seeds: Sequence[int]) -> list[Cell]:
    if design == "confidence":
        overrides = {"reward": "confidence", "user": "largest_error"}
        return _cells(design_group(design), "mecca", seeds, overrides, _DESIGN_VARIANTS)
    return _cells(design_group(design), "a3c", seeds, {"reward": design}, _DESIGN_VARIANTS)


def check_designs(designs: Sequence[str]) -> list[str]:
    """Validate reward design names (registered in ``segenv.rewards.REWARDS``); dedupe."""
    from segenv.rewards import REWARDS

    if isinstance(designs, str):
        designs = [part for part in designs.split(",") if part]
    if not designs:
        raise ConfigError("designs is empty; name at least one reward design, e.g. ['focal']")
    checked: list[str] = []
    for design in designs:
        if not isinstance(design, str):
            raise ConfigError(f"designs must be names of reward designs, got {design!r}")
        REWARDS.get(design)  # unknown → ConfigError with "did you mean"
        if not _CELL_NAME_PATTERN.match(design):
            raise ConfigError(
                f"reward design name {design!r} cannot name a cell folder; register it under a "
                "name of letters, digits and _.+=-"
            )
        if design not in checked:
            checked.append(design)
    return checked


def reward_designs_suite(
    profile: Profile, seeds: Sequence[int], designs: Sequence[str] | None = None
) -> Suite:
    """MECCA Fig. 9: the same protocol trained with each reward design, reference ``relative``.

    A second table tests the same cells with the perturbed user (each design's Dice drop).
    """
    chosen = check_designs(list(designs) if designs is not None else list(DESIGNS))
    if REFERENCE_DESIGN not in chosen:
        chosen.insert(0, REFERENCE_DESIGN)  # the paired comparisons need the reference
    cells = [cell for design in chosen for cell in _design_cells(design, seeds)]
    rows = tuple(Row(design, design_group(design)) for design in chosen)
    table = Table(
        key="reward_designs",
        title="Reward designs (MECCA Fig. 9): Dice (%) after each step",
        rows=rows,
        reference=REFERENCE_DESIGN,
        note=(
            "A3C trained with each env reward; `confidence` is MECCA (A3C + action-confidence "
            "network, eq 8 with the learner preset's weight), trained with the same "
            "largest-error user as the others. MECCA reports MECCA > Err-IteR-MRL ≈ IteR-MRL "
            "(relative) and an erratic Focal-IteR-MRL (Fig. 9 gives curves, no numbers)."
        ),
    )
    robustness = Table(
        key="robustness",
        title="Reward designs with a perturbed user (after Marinov et al. 2024): Dice (%) per step",
        rows=tuple(Row(design, design_group(design), "perturbed") for design in chosen),
        reference=REFERENCE_DESIGN,
        against_variant="good",
        note=(
            "The same cells tested with the `perturbed` user (largest-error clicks, 2 mm "
            "Gaussian jitter, 20 % of clicks skipped); Δ is each design's change against its "
            "own cells with the ideal user (its Dice drop, negative = worse)."
        ),
    )
    return Suite("reward_designs", profile, tuple(cells), (table, robustness))


# IteR-MRL Table 4 (BraTS2015, V-Net start): action set → final Dice (%)
_ACTION_ROWS = (
    ("±1.0, binary state", "a3c-actions_1.0-binary", {"actions": "1.0", "state": "binary"}, 84.03),
    ("±0.4", "a3c-actions_0.4", {"actions": "0.4"}, 84.29),
    ("±0.2", "a3c-actions_0.2", {"actions": "0.2"}, 86.51),
    ("±0.1", "a3c-actions_0.1", {"actions": "0.1"}, 87.20),
    ("±0.1 ±0.2", "a3c-actions_0.1+0.2", {"actions": "0.1+0.2"}, 87.88),
    ("±0.1 ±0.2 ±0.4 (paper)", "a3c-relative", {"reward": "relative"}, 88.53),
    ("±0.1 ±0.2 ±0.4 ±1.0", "a3c-actions_0.1+0.2+0.4+1.0", {"actions": "0.1+0.2+0.4+1.0"}, 88.02),
)
_INITIAL: dict[str, dict[str, Any]] = {
    "BG": {"initialiser": "background", "initialiser_kwargs": {}},
    "coarse 0.85": {"initialiser": "degraded_truth", "initialiser_kwargs": {"target_dice": 0.85}},
}
_METHODS: tuple[tuple[str, str, str, dict[str, Any], float | None, tuple[Any, ...]], ...] = (
    # label, group, learner, overrides, paper Table 2 (step 5), Table 1 (BG, V-Net, P-Net)
    ("initial (no-op)", "noop", "noop", {}, 77.15, (0.0, 77.15, 82.16)),
    ("min-cut", "mincut", "mincut", {}, 80.69, (27.46, 80.69, 84.08)),
    ("R-Net", "rnet", "rnet", {}, 85.80, (82.97, 85.80, 84.83)),
    ("InterCNN", "intercnn", "intercnn", {}, 85.56, (85.17, 85.56, 86.54)),
    (
        "MECCA",
        "mecca-confidence",
        "mecca",
        {"reward": "confidence", "user": "largest_error"},
        None,
        (None, None, None),
    ),
    ("A3C (IteR-MRL)", "a3c-relative", "a3c", {"reward": "relative"}, 88.53, (86.14, 88.53, 87.50)),
)
_REFERENCE = "A3C (IteR-MRL)"


def ablations_suite(profile: Profile, seeds: Sequence[int]) -> Suite:
    """IteR-MRL Tables 1, 2, 4, 5, 6, 7 and a robustness table (reference: A3C, relative)."""
    initial_variants = {f"init {name}": overrides for name, overrides in _INITIAL.items()}
    method_variants: dict[str, Mapping[str, Any]] = {
        "good": {},
        **initial_variants,
        "perturbed": PERTURBED_VARIANT,
    }
    reference_variants: dict[str, Mapping[str, Any]] = {
        **method_variants,
        "none": {"user": "none"},
        "bad": {"user": "misleading"},
        "random": {"user": "random"},
    }
    cells: list[Cell] = []
    for _label, group, learner, overrides, _paper, _table1 in _METHODS:
        variants = reference_variants if group == "a3c-relative" else method_variants
        cells += _cells(group, learner, seeds, overrides, variants)
    for _label, group, overrides, _paper in _ACTION_ROWS:
        if group != "a3c-relative":
            cells += _cells(group, "a3c", seeds, overrides)
    cells += _cells("a3c-absolute", "a3c", seeds, {"reward": "absolute"})
    cells += _cells("a3c-T1", "a3c", seeds, {"max_steps": 1})

    methods_steps = Table(
        key="methods_steps",
        title="Methods (IteR-MRL Table 2): Dice (%) after each step from the coarse start",
        rows=tuple(
            Row(label, group, "good", paper) for label, group, _l, _o, paper, _t in _METHODS
        ),
        reference=_REFERENCE,
        note=(
            "Initial segmentation: the start of the Protocol line, Dice 0.75 (a stand-in for "
            "IteR-MRL's V-Net start, 77.15). Paper column: IteR-MRL Table 2 (step 5). MECCA "
            "Table 1 reports MECCA 90.29 > IteR-MRL 88.94 > DeepIGeoS 88.32 ≈ InterCNN 88.26."
        ),
    )
    columns = (("BG", "init BG"), ("coarse 0.75", "good"), ("coarse 0.85", "init coarse 0.85"))
    methods_initial = Table(
        key="methods_initial",
        title="Methods from different initial segmentations (IteR-MRL Table 1): final Dice (%)",
        rows=tuple(Row(label, group) for label, group, *_ in _METHODS),
        reference=_REFERENCE,
        columns=columns,
        note=(
            "Every learner is trained from the Dice-0.75 start and tested from each start: BG "
            "(all background), the training start, and a better one (Dice 0.85, a stand-in for "
            "DeepIGeoS P-Net). IteR-MRL trains each update method per initial method. Paper "
            "(BG / V-Net / P-Net): "
            + "; ".join(
                f"{label} {' / '.join('–' if v is None else f'{v:.2f}' for v in table1)}"
                for label, _g, _l, _o, _p, table1 in _METHODS
            )
        ),
    )
    actions = Table(
        key="actions",
        title="Action sets and state (IteR-MRL Table 4): Dice (%) after each step",
        rows=tuple(Row(label, group, "good", paper) for label, group, _o, paper in _ACTION_ROWS),
        reference="±0.1 ±0.2 ±0.4 (paper)",
        note="Paper: ±0.1 ±0.2 ±0.4 best (88.53), ±1.0 with the binary state worst (84.03).",
    )
    reward = Table(
        key="reward",
        title="Relative vs absolute reward (IteR-MRL Table 5): Dice (%) after each step",
        rows=(
            Row("absolute", "a3c-absolute", "good", 87.65),
            Row("relative", "a3c-relative", "good", 88.53),
        ),
        reference="relative",
        note="Paper: relative 88.53 > absolute 87.65 after 5 steps.",
    )
    interaction = Table(
        key="interaction",
        title="Interaction at test time (IteR-MRL Table 6): Dice (%) after each step",
        rows=(
            Row("good (largest-error user)", "a3c-relative", "good", 88.53),
            Row("none (noise hints)", "a3c-relative", "none", 80.78),
            Row("bad (misleading clicks)", "a3c-relative", "bad", 72.76),
            Row("random clicks, true labels", "a3c-relative", "random"),
            Row("perturbed largest-error user", "a3c-relative", "perturbed"),
        ),
        reference="good (largest-error user)",
        note=(
            "The same A3C cells, evaluated with five users. bad: the `misleading` user, random "
            'voxels whose clicks say "this is wrong here" (the opposite of the prediction), '
            "IteR-MRL's reading of a click, so wrong wherever the prediction was right; random: "
            "random voxels with their true labels (uninformative, never wrong); perturbed: "
            "largest-error clicks jittered by 2 mm with 20 % skipped (after Marinov et al. "
            "2024). Paper: good > none > bad."
        ),
    )
    robustness = Table(
        key="robustness",
        title="Robustness to a perturbed user (Marinov et al. 2024): Dice (%) after each step",
        rows=tuple(Row(label, group, "perturbed") for label, group, *_ in _METHODS),
        reference=_REFERENCE,
        against_variant="good",
        note=(
            "Every method tested with the `perturbed` user (largest-error clicks, 2 mm Gaussian "
            "jitter, 20 % of clicks skipped); Δ is each method's change against its own cells "
            "with the ideal largest-error user (its Dice drop, negative = worse)."
        ),
    )
    horizon = Table(
        key="horizon",
        title="Accumulated (T = 5) vs immediate (T = 1) reward (IteR-MRL Table 7)",
        rows=(
            Row("immediate (trained with T = 1)", "a3c-T1", "good", 74.89),
            Row("accumulated (trained with T = 5)", "a3c-relative", "good", 88.53),
        ),
        reference="accumulated (trained with T = 5)",
        note="Both are tested for 5 steps. Paper: accumulated 88.53 > immediate 74.89.",
    )
    tables = (methods_steps, methods_initial, actions, reward, interaction, robustness, horizon)
    return Suite("ablations", profile, tuple(_merge_cells(cells)), tables)


def _merge_cells(cells: Iterable[Cell]) -> list[Cell]:
    """Drop repeated cells (same name), keeping the union of their variants."""
    merged: dict[str, Cell] = {}
    for cell in cells:
        if cell.name in merged:
            known = merged[cell.name]
            variants = {**known.variants, **cell.variants}
            merged[cell.name] = dataclasses.replace(known, variants=variants)
        else:
            merged[cell.name] = cell
    return list(merged.values())


def build_suite(
    name: str,
    profile: str | Profile = "quick",
    *,
    seeds: Sequence[int] | None = None,
    designs: Sequence[str] | None = None,
) -> Suite:
    """The suite ``name`` (one of :data:`SUITES`) at ``profile``.

    Args:
        name: ``"reward_designs"`` or ``"ablations"``.
        profile: ``"tiny"``, ``"quick"``, ``"quick3d"``, ``"paper"`` or a :class:`Profile`.
        seeds: Training seeds (default: the profile's for this suite).
        designs: Reward designs of the ``reward_designs`` suite (default: all five of
            :data:`DESIGNS`); ``relative``, the reference, is always added.
    """
    chosen = get_profile(profile)
    if name not in SUITES:
        raise ConfigError(f"suite {name!r} is unknown; choose one of {SUITES}")
    run_seeds = tuple(chosen.seeds.get(name, (0,))) if seeds is None else tuple(seeds)
    if not run_seeds or any(
        isinstance(seed, bool) or not isinstance(seed, int) or seed < 0 for seed in run_seeds
    ):
        raise ConfigError(f"seeds must be non-negative ints, at least one; got {seeds!r}")
    if name == "reward_designs":
        return reward_designs_suite(chosen, run_seeds, designs)
    if designs is not None:
        raise ConfigError("designs= only applies to the 'reward_designs' suite")
    return ablations_suite(chosen, run_seeds)
