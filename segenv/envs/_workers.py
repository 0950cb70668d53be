"""VolumeWorkers: run one function over the volumes of a batch on a small thread pool.

The per-volume host work of the batched env (the simulated user's clicks, the hint encodings,
``p(0)`` at reset, the dense update of a volume on a CPU) is numba kernels, numpy ufuncs and
scipy filters that release the GIL, with a little Python around them, so threads run it in
parallel. Each call of the function touches only its own volume's state (its generator, its
episode, its rows of the batch buffers), so the results do not depend on the number of threads
or on their scheduling.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from segenv.devices import available_cores
from segenv.validation import check_count

__all__ = ["VolumeWorkers", "available_cores"]


class VolumeWorkers:
    """Run ``fn(i)`` for each volume index ``i``, on ``num_threads`` threads (the caller's too).

    Indices are handed out one at a time from a shared queue, so a slow volume (a reset, a
    large error region) does not hold the others up. ``num_threads=1`` runs everything on the
    calling thread, in index order, with no pool. The pool's threads start on the first parallel
    call; :meth:`close` stops them.
    """

    def __init__(self, num_threads: int | None = None) -> None:
        """``num_threads``: threads in all, >= 1 (None: :func:`~segenv.devices.available_cores`).

        The batched env resolves its ``num_threads=`` argument with
        :func:`segenv.devices.resolve_threads` (0 or None: one per core) before it gets here.
        """
        if num_threads is None:
            num_threads = available_cores()
        self.num_threads = check_count("num_threads=", num_threads, minimum=1)
        self._pool: ThreadPoolExecutor | None = None

    def run(self, fn: Callable[[int], None], indices: Iterable[int]) -> None:
        """Call ``fn(i)`` once for every index; return when all calls have finished.

        The first exception raised by a call is re-raised here, after every thread has stopped
        (calls already handed out finish; the remaining indices are skipped).
        """
        todo = [int(i) for i in indices]
        helpers = min(self.num_threads, len(todo)) - 1
        if helpers <= 0:
            for i in todo:
                fn(i)
            return
        queue = iter(todo)
        lock = threading.Lock()
        failed = threading.Event()

        def drain() -> None:
            while not failed.is_set():
                with lock:
                    i = next(queue, None)
                if i is None:
                    return
                try:
                    fn(i)
                except BaseException:
                    failed.set()
                    raise

        futures: list[Future[None]] = [self._executor().submit(drain) for _ in range(helpers)]
        error: BaseException | None = None
        try:
            drain()
        except BaseException as raised:
            error = raised
        for future in futures:
            exception = future.exception()
            if error is None and exception is not None:
                error = exception
        if error is not None:
            raise error

    def close(self) -> None:
        """Stop the pool's threads (a later :meth:`run` starts new ones)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self.num_threads - 1, thread_name_prefix="segenv-volume"
            )
        return self._pool

    def __repr__(self) -> str:
        return f"VolumeWorkers(num_threads={self.num_threads})"
