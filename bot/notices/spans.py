"""Which register sessions a notice covers: plain arithmetic on (date, session) pairs.

A session is ``(day, "AM" | "PM")``; they order naturally (Monday AM < Monday PM < Tuesday AM).
Families say when the child will be *back* ("back Wednesday"); a notice stores the last session
*away*: the school day before the return, afternoon included. Without a return date a reason covers
the rest of the day it was given ("until a new school day"); the next day the family is asked again,
as the seeds' policies ask parents to report each further day (003 §6.1, 004 §3.7).
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from bot import clock
from bot.calendar import SchoolCalendar

SESSIONS = ("AM", "PM")


def order(day: date, session_name: str) -> tuple[date, int]:
    """Sort key of a session: Monday AM < Monday PM < Tuesday AM."""
    return (day, SESSIONS.index(session_name.upper()))


def previous_session(day: date, session_name: str, calendar: SchoolCalendar) -> tuple[date, str] | None:
    """The register session just before this one (the morning, or the last school day's afternoon)."""
    if session_name.upper() == "PM":
        return day, "AM"
    before = calendar.previous_school_day(day)
    return (before, "PM") if before else None


@dataclass(frozen=True)
class Span:
    """First and last session covered; ``last_date`` None is open-ended ("until further notice")."""

    first_date: date
    first_session: str
    last_date: date | None
    last_session: str | None
    return_date: date | None = None

    def covers(self, day: date, session_name: str) -> bool:
        here = order(day, session_name)
        if here < order(self.first_date, self.first_session):
            return False
        return self.last_date is None or here <= order(self.last_date, self.last_session or "PM")


def first_open_session(
    now: datetime, *, tz: str, pm_close: time, calendar: SchoolCalendar
) -> tuple[date, str] | None:
    """Where a notice given at ``now`` starts when the family names no other day.

    Today from the morning when it comes on a school day before the afternoon register closes (a
    text at 8:10, or at 11:00 when the child is being collected); otherwise the next school day's
    morning (a text at 19:00 is about tomorrow). None when the calendar has no school day left.
    """
    local = clock.to_local(now, tz)
    today = local.date()
    if calendar.is_school_day(today) and local.time() < pm_close:
        return today, "AM"
    nxt = calendar.next_school_day(today)
    return (nxt, "AM") if nxt else None


def span_for(
    *,
    first_date: date,
    first_session: str,
    return_date: date | None,
    today: date,
    calendar: SchoolCalendar,
    open_ended: bool = False,
) -> Span:
    """The sessions a reason covers, from its first session to the day before the child is back.

    - open-ended (staff "until further notice"): no last session;
    - no return date: to the end of the later of the first day and today (a reply on Tuesday about an
      absence since Monday covers Monday and Tuesday);
    - back the same day it starts ("dentist this morning, in after lunch"): the first session only;
    - otherwise to the afternoon of the last school day before the return.
    """
    first_session = first_session.upper()
    if open_ended:
        return Span(first_date, first_session, None, None, return_date)
    if return_date is None:
        latest = calendar.previous_school_day(today, inclusive=True) or first_date
        last = max(first_date, latest)
        return Span(first_date, first_session, last, "PM", None)
    if return_date <= first_date:
        return Span(first_date, first_session, first_date, first_session, return_date)
    last = calendar.previous_school_day(return_date) or first_date
    return Span(first_date, first_session, max(last, first_date), "PM", return_date)
