"""School-day arithmetic from a school's calendar.

A school day is a weekday inside a term that is not a holiday, INSET day, bank holiday or closure.
Every "day 3", "5 school days after" and "rolling 10 school weeks" in the bot is counted here.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, select

from storage.models import CalendarEntry

NON_SCHOOL_KINDS = {"holiday", "inset", "bank_holiday", "closure"}
KINDS = NON_SCHOOL_KINDS | {"term"}


class NotASchoolDay(ValueError):
    pass


@dataclass(frozen=True)
class Span:
    kind: str
    start: date
    end: date
    name: str = ""


class SchoolCalendar:
    """Answers school-day questions; built once from a school's calendar rows."""

    def __init__(self, spans: Iterable[Span]):
        self.spans = sorted(spans, key=lambda s: (s.start, s.kind))
        days: set[date] = set()
        for span in self.spans:
            if span.kind == "term":
                d = span.start
                while d <= span.end:
                    if d.weekday() < 5:
                        days.add(d)
                    d += timedelta(days=1)
        for span in self.spans:
            if span.kind in NON_SCHOOL_KINDS:
                d = span.start
                while d <= span.end:
                    days.discard(d)
                    d += timedelta(days=1)
        self._days = sorted(days)
        self._set = days

    # -- single days -----------------------------------------------------------------------------

    @property
    def first_day(self) -> date | None:
        return self._days[0] if self._days else None

    @property
    def last_day(self) -> date | None:
        return self._days[-1] if self._days else None

    def is_school_day(self, day: date) -> bool:
        return day in self._set

    def why_not(self, day: date) -> str | None:
        """Why a date is not a school day, in words staff understand; None if it is one."""
        if day in self._set:
            return None
        if not self._days:
            return (
                "the school has no calendar yet (import its term dates: attendance-bot import "
                "calendar FILE --school URN)"
            )
        for span in self.spans:
            if span.kind in NON_SCHOOL_KINDS and span.start <= day <= span.end:
                label = span.kind.replace("_", " ")
                return f"{day:%a %d %b %Y} is {('a ' + label) if label != 'inset' else 'an INSET day'}" + (
                    f" ({span.name})" if span.name else ""
                )
        if day.weekday() >= 5:
            return f"{day:%a %d %b %Y} is a weekend"
        return f"{day:%a %d %b %Y} is outside term time"

    def next_school_day(self, day: date, *, inclusive: bool = False) -> date | None:
        i = bisect_left(self._days, day) if inclusive else bisect_right(self._days, day)
        return self._days[i] if i < len(self._days) else None

    def previous_school_day(self, day: date, *, inclusive: bool = False) -> date | None:
        i = bisect_right(self._days, day) if inclusive else bisect_left(self._days, day)
        return self._days[i - 1] if i > 0 else None

    # -- counting --------------------------------------------------------------------------------

    def add_school_days(self, day: date, n: int) -> date | None:
        """The school day ``n`` school days after ``day`` (``day`` itself need not be a school day)."""
        if n == 0:
            return day if self.is_school_day(day) else self.next_school_day(day)
        i = bisect_right(self._days, day) + n - 1
        if n < 0:
            i = bisect_left(self._days, day) + n
        return self._days[i] if 0 <= i < len(self._days) else None

    def school_days_between(self, start: date, end: date) -> list[date]:
        """School days from ``start`` to ``end``, both included."""
        return self._days[bisect_left(self._days, start) : bisect_right(self._days, end)]

    def count_school_days(self, start: date, end: date) -> int:
        return bisect_right(self._days, end) - bisect_left(self._days, start)

    def school_day_number(self, first: date, day: date) -> int:
        """Which school day of an episode ``day`` is, when the episode began on ``first`` (day 1)."""
        return self.count_school_days(first, day)

    def nth_school_day(self, first: date, n: int) -> date | None:
        """The ``n``-th school day of an episode starting on ``first`` (``n=1`` is the first)."""
        start = self.next_school_day(first, inclusive=True)
        if start is None:
            return None
        return self.add_school_days(start, n - 1) if n > 1 else start

    def rolling_weeks_start(self, end: date, weeks: int) -> date | None:
        """First school day of the last ``weeks`` school weeks ending with ``end``'s week.

        Holiday weeks (no school day) do not count, so a half-term never shortens the window.
        """
        seen: list[tuple[int, int]] = []
        i = bisect_right(self._days, end) - 1
        first: date | None = None
        while i >= 0:
            d = self._days[i]
            wk = d.isocalendar()[:2]
            if not seen or seen[-1] != wk:
                if len(seen) == weeks:
                    break
                seen.append(wk)
            first = d
            i -= 1
        return first


def load_calendar(session: Session, school_id: int) -> SchoolCalendar:
    rows = session.exec(select(CalendarEntry).where(CalendarEntry.school_id == school_id)).all()
    return SchoolCalendar(Span(r.kind, r.start_date, r.end_date, r.name) for r in rows)
