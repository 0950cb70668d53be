import threading

import pytest

from segenv.errors import ConfigError, InputTypeError
from segenv.views.workers import VolumeWorkers, available_cores


@pytest.mark.parametrize("num_threads", [1, 2, 4])
def test_every_index_runs_once_into_its_own_slot(num_threads):
    workers = VolumeWorkers(num_threads)
    slots = [0] * 9
    threads = set()

    def work(i):
        slots[i] += i * i
        threads.add(threading.get_ident())

    workers.run(work, range(9))
    workers.close()
    assert slots == [i * i for i in range(9)]
    assert len(threads) <= num_threads


def test_one_thread_runs_in_order_on_the_caller():
    order = []
    VolumeWorkers(1).run(lambda i: order.append((i, threading.get_ident())), [3, 1, 2])
    assert order == [(i, threading.get_ident()) for i in (3, 1, 2)]


def test_an_exception_is_reraised_after_every_thread_stopped():
    workers = VolumeWorkers(2)
    done = []

    def work(i):
        if i == 0:
            raise ValueError("volume 0 failed")
        done.append(i)

    with pytest.raises(ValueError, match="volume 0"):
        workers.run(work, range(50))
    assert 0 not in done and len(set(done)) == len(done)  # the rest may be skipped
    workers.run(done.append, [99])  # the pool still works
    assert done[-1] == 99
    workers.close()


def test_default_is_one_thread_per_core_and_bad_counts_raise():
    assert VolumeWorkers().num_threads == available_cores() >= 1
    with pytest.raises(ConfigError, match="num_threads"):
        VolumeWorkers(0)
    with pytest.raises(InputTypeError, match="num_threads"):
        VolumeWorkers(2.0)  # type: ignore[arg-type]
