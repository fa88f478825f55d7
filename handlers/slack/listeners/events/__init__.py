"""Events API listeners. Slack retries events it thinks were missed, so each is handled once per
``event_id`` (within this process)."""

import threading
import time
from collections import OrderedDict


class Seen:
    """A small thread-safe memory of recent event ids."""

    def __init__(self, size: int = 2048, ttl: float = 3600.0):
        self._ids: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self.size, self.ttl = size, ttl

    def first_time(self, event_id: str | None) -> bool:
        if not event_id:
            return True
        now = time.monotonic()
        with self._lock:
            while self._ids and (
                len(self._ids) >= self.size or next(iter(self._ids.values())) < now - self.ttl
            ):
                self._ids.popitem(last=False)
            if event_id in self._ids:
                return False
            self._ids[event_id] = now
            return True
