"""A small pool of worker processes for slash-command work, so it never holds the web process's GIL.

Under a burst, command work (queries, rendering) in threads of the web process competes with the
next requests' acks for the one interpreter lock; in separate processes it competes only for CPU,
which the OS shares more fairly. The pool starts lazily on first use with the ``spawn`` method
(never ``fork``: the web server is multi-threaded) and shuts down at exit.

The job takes plain picklable arguments and answers through ``response_url`` itself, the same post
Bolt's ``respond`` makes.
"""

import atexit
import logging
import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor

log = logging.getLogger(__name__)


class WorkProcesses:
    """``size`` worker processes, created on the first ``submit``."""

    def __init__(self, size: int):
        self.size = size
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, fn, /, *args) -> Future:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.size,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_warm,
                )
                atexit.register(self.shutdown)
            future = self._pool.submit(fn, *args)
        future.add_done_callback(_log_failure)
        return future

    def pids(self) -> list[int]:
        """The worker processes' ids (empty before the first job)."""
        with self._lock:
            return sorted((self._pool._processes or {}).keys()) if self._pool else []

    def shutdown(self) -> None:
        """Finish queued work and stop the processes (idempotent)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
            atexit.unregister(self.shutdown)


def _warm() -> None:
    """Import the command code once per process, before the first job needs it."""
    import slack_sdk.webhook  # noqa: F401

    import bot.commands  # noqa: F401


def _log_failure(future: Future) -> None:
    # The job handles its own errors; this catches a worker that died or a job that could not start.
    exc = future.exception() if not future.cancelled() else None
    if exc is not None:
        log.error("slack work process failed: %s", type(exc).__name__)
