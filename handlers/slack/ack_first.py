"""Acknowledgements before work: command work waits while Slack requests are still being acked.

Slack retries, and shows the user an error, when a request is not acknowledged within 3 seconds,
whereas the answer that follows through ``response_url`` may take longer. On a small machine the
two compete for the same interpreter (the GIL) and cores, so when a burst of commands arrives (the
whole pastoral team at 9:20) the work of the first ones would slow the acks of the rest. This
executor holds each job until no Slack request is in flight, and never longer than ``max_wait``,
so a steady stream of requests cannot starve the answers.
"""

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager

MAX_WAIT_SECONDS = 0.5


class AckFirstExecutor(Executor):
    def __init__(self, workers: int, *, max_wait: float = MAX_WAIT_SECONDS, name: str = "slack-work"):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._idle = threading.Condition()
        self._in_flight = 0
        self.max_wait = max_wait

    @contextmanager
    def request(self):
        """Wrap the handling of one incoming request (up to the moment its ack is returned)."""
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                if self._in_flight == 0:
                    self._idle.notify_all()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def submit(self, fn: Callable, /, *args, **kwargs) -> Future:
        queued = time.monotonic()
        return self._pool.submit(self._when_idle, queued, fn, args, kwargs)

    def _when_idle(self, queued: float, fn: Callable, args: tuple, kwargs: dict):
        with self._idle:
            self._idle.wait_for(
                lambda: self._in_flight == 0, timeout=max(0.0, queued + self.max_wait - time.monotonic())
            )
        return fn(*args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)
