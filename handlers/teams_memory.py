"""What the Teams edge remembers between requests: activity ids already answered, and answers that
were too slow for Teams' 5-second window, kept for the person who asked.

Both live in the web process (one per deployment, see the Procfile) and are purged by age, so they
stay small. Time is always passed in (the request's ``now``), never read here.

Why answers are kept instead of posted: an outgoing webhook can only answer in the channel thread
within 5 seconds; anything later would have to go to the school's Workflows channel, which every
member reads. So a slow answer is kept here for its requester, the channel is told only that it is
ready, and the requester's next identical command gets it at once (without running it again: a
``recode`` must not be recorded twice).
"""

import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta

SEEN_FOR = timedelta(minutes=15)  # longer than the accepted skew either side (5 + 5 minutes)
KEEP_ANSWER_FOR = timedelta(minutes=5)
GIVE_UP_AFTER = timedelta(minutes=30)  # a command still running after this is forgotten (it may hang)


class SeenActivities:
    """Activity ids answered recently; a replay within the accepted clock skew is refused."""

    def __init__(self, keep_for: timedelta = SEEN_FOR):
        self._seen: dict[str, datetime] = {}
        self._lock = threading.Lock()
        self.keep_for = keep_for

    def first_time(self, key: str, *, now: datetime) -> bool:
        with self._lock:
            for old in [k for k, at in self._seen.items() if at < now - self.keep_for]:
                del self._seen[old]
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def __len__(self) -> int:
        return len(self._seen)


@dataclass
class _Kept:
    future: Future
    started: datetime
    finished: datetime | None = None


def answer_key(user_id: str, line: str) -> tuple[str, str]:
    """The same person typing the same command (case and spacing aside)."""
    return user_id, " ".join(line.lower().split())


class SlowAnswers:
    """Commands still running, or finished but not yet collected, per (user, command line)."""

    def __init__(self, keep_for: timedelta = KEEP_ANSWER_FOR):
        self._kept: dict[tuple[str, str], _Kept] = {}
        self._lock = threading.Lock()
        self.keep_for = keep_for

    def join_or_start(
        self, key: tuple[str, str], start: Callable[[], Future], *, now: datetime
    ) -> tuple[Future, bool]:
        """The future of an identical command running or ready to collect, else ``start()``'s
        (and True). One step under the lock: a double-sent command runs once."""
        with self._lock:
            self._purge(now)
            kept = self._kept.get(key)
            if kept is not None:
                return kept.future, False
            future = start()
            self._kept[key] = _Kept(future, now)
            return future, True

    def finished(self, key: tuple[str, str], *, now: datetime) -> None:
        """Start the collection window: the answer is kept ``keep_for`` from when it was ready."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                kept.finished = now

    def collect(self, key: tuple[str, str]) -> None:
        """The requester has the answer: forget it (a further identical command runs afresh)."""
        with self._lock:
            self._kept.pop(key, None)

    def _purge(self, now: datetime) -> None:
        def gone(v: _Kept) -> bool:
            if v.finished is not None:
                return v.finished < now - self.keep_for
            return v.started < now - GIVE_UP_AFTER

        for key in [k for k, v in self._kept.items() if gone(v)]:
            del self._kept[key]

    def __len__(self) -> int:
        return len(self._kept)
