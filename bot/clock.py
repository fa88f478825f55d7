"""The one clock: every "now" in the bot comes from here.

Stored times are UTC; school wall-clock times are converted with the school's zone. Tests move
time with freezegun, and operators pass ``--now`` to replay a job.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Europe/London"


def now() -> datetime:
    return datetime.now(UTC)


def zone(name: str | None = None) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_TZ)


def local_now(tz: str | None = None) -> datetime:
    return now().astimezone(zone(tz))


def local_today(tz: str | None = None) -> date:
    return local_now(tz).date()


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
