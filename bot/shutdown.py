"""A process-wide "please stop" flag, set by the process edge on SIGTERM.

Why a flag and not an exception: a deploy sends SIGTERM and then, after a grace period, SIGKILL.
Work in flight (a batch of texts half handed to the provider) must finish and be recorded; only
*new* work must stop. The clock and the CLI set the flag from their signal handler; the sender and
the job loop ask ``requested()`` before claiming more work. Tests reset it with ``clear()``.
"""

from __future__ import annotations

import threading

_STOP = threading.Event()


def request() -> None:
    """Ask every loop in this process to stop claiming new work."""
    _STOP.set()


def requested() -> bool:
    """True once the process has been asked to stop."""
    return _STOP.is_set()


def wait(seconds: float) -> bool:
    """Sleep up to ``seconds``, waking early when a stop is requested; True if it was."""
    return _STOP.wait(seconds)


def clear() -> None:
    """Forget a stop request (tests, and a process that keeps running after a drill)."""
    _STOP.clear()
