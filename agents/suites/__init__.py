"""Benchmark suites: MECCA's reward-design comparison and IteR-MRL's ablations, resumable.

A **suite** is a list of **cells** and the **tables** built from them. A cell is one learner
trained once with one seed (or a learning-free row such as min-cut) and evaluated on the
held-out synthetic test split under one or more **variants** (env settings at test time: the
user, the initial segmentation). A table row is a group of cells (one per seed) under one
variant. Two suites are defined (in :mod:`.definitions`), each at four
**profiles**:

* ``reward_designs`` — one learner per reward design of SPEC §4 (MECCA Fig. 9): ``relative``,
  ``absolute``, ``focal``, ``error_region`` train A3C with that env reward; ``confidence``
  trains MECCA (:mod:`segenv_agents.mecca`), the learner that supplies the confidence map the reward
  needs. Every design uses the same user (``largest_error``) and protocol, so only the reward
  differs (MECCA itself trains with its guided user; the suite leaves that out); a second
  table tests the same cells with the perturbed user (each design's Dice drop).
* ``ablations`` — IteR-MRL Tables 1, 2, 4, 5, 6, 7: the methods (A3C = IteR-MRL, MECCA,
  InterCNN, R-Net, min-cut, the initial segmentation) per step and from different initial
  segmentations; the action sets and the binary state; relative vs absolute reward; good /
  none / bad (misleading) / random / perturbed interaction at test time; every method's
  robustness to the perturbed user; accumulated (T = 5) vs immediate (T = 1) reward.

Profiles: ``tiny`` (seconds per cell, for tests), ``quick`` (2D 32×32, 5 seeds, both suites in
about an hour on a 2-core CPU), ``quick3d`` (3D 16×32×32, 5 seeds, each suite within about two
hours) and ``paper`` (the papers' settings, for a GPU). Cells with the same name are the same
run, so both suites share them (e.g. the relative-reward A3C cells) when they use the same
output directory. Every report gives 95 % confidence intervals over seeds, the CVPR 2025
interactive metrics, flags diverged cells and plots learning curves (:mod:`.report`);
:mod:`.validate` checks that a committed report states all of it.

Layout of an output directory ``OUT`` (``run_suite(suite, OUT)``)::

    OUT/cells/<cell>/cell.json     the resolved settings (written first)
    OUT/cells/<cell>/run/          the learner's run directory (checkpoint.pt, tb/, ...)
    OUT/cells/<cell>/trained.json  training done (wall time, training curve)
    OUT/cells/<cell>/result.json   per-episode Dice and NSD per step, lesion volumes and time
                                   per step of every variant (atomic, last)
    OUT/<suite>.md / .csv / .png   the report (see :mod:`.report`)
    OUT/<suite>_curves.png         the learning curve of every trained cell

Modules: :mod:`.definitions` (profiles, cells, tables, the two suites), :mod:`.cells` (a
cell's settings and folder), :mod:`.runner` (training, evaluation, resuming, the command
line), :mod:`.report` (Markdown, CSV, PNG) and :mod:`.provenance`. This package is the
benchmark engine, apart from the learners: it reaches them through :mod:`segenv_agents.registry`.

Command line (also ``python benchmarks/reward_designs.py`` / ``benchmarks/ablations.py``,
``python -m segenv_agents.suites``)::

    segenv benchmark reward_designs --profile quick --out runs/benchmarks/quick
    segenv benchmark ablations --profile quick --out runs/benchmarks/quick --only 'a3c-T1-*'
    segenv benchmark reward_designs --designs relative,my_reward --plugin my_package.rewards
"""

from .definitions import DESIGNS, PROFILES, SUITES, Cell, Profile, Row, Suite, Table, build_suite
from .report import SuiteReport
from .runner import compare_reward_designs, run_suite
from .validate import check_report, validate_report

__all__ = [
    "DESIGNS",
    "PROFILES",
    "SUITES",
    "Cell",
    "Profile",
    "Row",
    "Suite",
    "SuiteReport",
    "Table",
    "build_suite",
    "check_report",
    "compare_reward_designs",
    "run_suite",
    "validate_report",
]
