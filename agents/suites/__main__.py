"""``python -m segenv_agents.suites``: the ``segenv benchmark`` command line."""

from .runner import main

raise SystemExit(main())
