"""segenv_agents: the learners of segenv, the pieces they share, the benchmark suites, the CLI.

The ``agents/`` folder installs as the import package ``segenv_agents`` (with
``pip install 'segenv[learners]'``). Its layers, each importing only the ones below it:

1. :mod:`.cli` — the ``segenv`` command line;
2. :mod:`.suites` (the benchmark engine) and :mod:`.compare` (``segenv evaluate``: a run
   against the initial segmentation and the no-learning baselines);
3. :mod:`.registry` — the :class:`~.registry.Learner` contract and the table of learners;
4. the learners :mod:`.a3c`, :mod:`.mecca`, :mod:`.ppo`, :mod:`.sb3`, :mod:`.supervised`,
   :mod:`.coarse` and the baselines :mod:`.graphcut`, :mod:`.scripted`;
5. :mod:`.common` — the pieces the learners share, one concept per module.
"""
