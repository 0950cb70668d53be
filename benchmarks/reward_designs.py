"""Reward designs (MECCA Fig. 9): the same protocol trained with each reward design.

Relative CE gain (the reference), absolute, focal, error-region (A3C) and confidence-weighted
(MECCA), over five seeds, evaluated on the held-out synthetic split: Dice per step and the
CVPR 2025 interactive metrics with 95 % confidence intervals, a paired comparison against
``relative``, the Dice drop under a perturbed user, diverged cells flagged, a Markdown table, a
CSV, a PNG and the learning curves.
Finished cells are skipped on a re-run, interrupted ones resume. See :mod:`segenv_agents.suites`.

Run: ``python benchmarks/reward_designs.py --profile quick`` (``--only 'a3c-focal-*' --rerun``
re-runs cells; ``--designs relative,my_reward --plugin my_module`` adds your own reward).
"""

from __future__ import annotations

from segenv_agents.suites.runner import main

if __name__ == "__main__":
    raise SystemExit(main(suite="reward_designs"))
