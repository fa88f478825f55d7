"""SIGTERM (a deploy) and SIGINT as a request to stop, for the clock and ``jobs run``.

The platform sends SIGTERM, waits (30 s on Heroku), then SIGKILL. A process that dies at once on
SIGTERM loses the work in its hands and, for the clock, keeps its lease until it expires; one that
sets the stop flag (``bot.shutdown``) finishes what it holds and starts nothing new.

The handler itself only notes the signal in a list: it runs in the main thread between two
bytecodes, maybe while that thread holds the very lock ``shutdown.request()`` takes. The main
thread, which only waits, turns the note into the request.
"""

import logging
import signal
import threading
from collections.abc import Callable
from typing import TypeVar

from bot import shutdown

T = TypeVar("T")

log = logging.getLogger(__name__)


def catch(*signums: int) -> tuple[list[int], dict]:
    """Note these signals in the returned list instead of dying; also returns the replaced handlers."""
    caught: list[int] = []

    def handler(signum, frame) -> None:
        caught.append(signum)

    return caught, {signum: signal.signal(signum, handler) for signum in signums}


def call_stoppable(work: Callable[[], T], *signums: int) -> T:
    """Run ``work`` in a thread while the main thread waits for it; on one of ``signums`` ask the
    process to stop, so the work finishes what it holds and starts nothing new. The previous
    handlers are put back afterwards."""
    caught, previous = catch(*signums)
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the main thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="stoppable")
    try:
        thread.start()
        while thread.is_alive():
            thread.join(0.2)
            if caught and not shutdown.requested():
                shutdown.request()
                log.warning("stop requested (signal %s): finishing the work in hand", caught[0])
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
