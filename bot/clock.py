"""The one clock: every "now" in the bot comes from here, read once at a process edge.

Only the edges read the time: the clock process (once per firing), the CLI (once per command, or
``--now``) and the HTTP handlers (once per request). Everything below takes ``now`` as a keyword
argument, so ``jobs run X --now T`` behaves exactly as the clock would at T, and tests pass a fixed
time instead of depending on the real date. Stored times are UTC; school wall-clock times are
converted with the school's zone.

In development and tests the clock process may run from a given instant (``CLOCK_START_AT``,
``start_at``): the process's time is then the system's plus a fixed offset, so two clocks started
together agree and a fault test can be at 09:16 on a school Monday whatever the real date.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Europe/London"

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def start_at(instant: datetime) -> None:
    """From now on this process's time runs on from ``instant`` (development and tests only)."""
    global _offset
    _offset = instant - datetime.now(UTC)


def zone(name: str | None = None) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_TZ)


def at_local(day: date, wall: time, tz: str | None = None) -> datetime:
    """The UTC instant of a wall-clock time on a school day (DST-correct)."""
    return datetime.combine(day, wall, tzinfo=zone(tz)).astimezone(UTC)


def to_local(instant: datetime, tz: str | None = None) -> datetime:
    return instant.astimezone(zone(tz))


def parse_now(value: str | None, tz: str | None = None) -> datetime:
    """``--now`` values: ISO with an offset, or naive ISO read as school wall-clock time."""
    if not value:
        return now()
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone(tz))
    return parsed.astimezone(UTC)
