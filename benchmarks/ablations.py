"""IteR-MRL's ablations (Tables 1, 2, 4, 5, 6, 7) and the methods table, resumable.

Action sets and the binary state, relative vs absolute reward, good / none / bad (misleading) /
random / perturbed interaction at test time, accumulated (T = 5) vs immediate (T = 1) reward,
and A3C, MECCA, InterCNN, R-Net, min-cut and the initial segmentation from different initial
segmentations and with a perturbed user. Writes a Markdown report, a CSV, a PNG and the
learning curves; shares its cells with ``reward_designs.py`` in the same ``--out``.
See :mod:`segenv_agents.suites`.

Run: ``python benchmarks/ablations.py --profile quick`` (``--list`` shows the cells).
"""

from __future__ import annotations

from segenv_agents.suites.runner import main

if __name__ == "__main__":
    raise SystemExit(main(suite="ablations"))
