import pytest

from segenv_agents.common.schedules import geometric_decay, progress_of


def test_progress_runs_from_the_first_to_the_last_update():
    assert progress_of(0, 11) == 0.0
    assert progress_of(5, 11) == pytest.approx(0.5)
    assert progress_of(10, 11) == 1.0
    assert progress_of(12, 11) == 1.0  # past the end (a longer resumed run) stays at 1
    assert progress_of(0, 1) == 0.0  # a one-update run


def test_geometric_decay_by_hand():
    assert geometric_decay(0.05, 0.04, 0.0) == pytest.approx(0.05)
    assert geometric_decay(0.05, 0.04, 0.5) == pytest.approx(0.01)  # 0.05 · sqrt(0.04)
    assert geometric_decay(0.05, 0.04, 1.0) == pytest.approx(0.002)
    assert geometric_decay(0.05, 0.04, 2.0) == pytest.approx(0.002)  # clipped at the end
    assert geometric_decay(0.05, 1.0, 0.7) == pytest.approx(0.05)  # 1 keeps it constant
