"""Each school's timetable of jobs, derived from its policy.

Times are wall-clock in the school's zone, Monday to Friday; whether a day is a school day is
checked when the job runs (from the calendar), so a calendar change needs no rescheduling.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlmodel import Session, select

from bot.alerts.routes import missing_routes
from bot.notices.digest import DIGEST_AFTER_MINUTES
from bot.policy import policy_for
from bot.settings import Settings
from storage.models import School

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Slot:
    job: str
    school_id: int
    label: str  # stable name of the slot within the day, e.g. "AM" or "11:00"
    at: time
    days: str = "mon-fri"
    opts: dict = field(default_factory=dict)
    tz: str = "Europe/London"

    def trigger(self) -> CronTrigger:
        return CronTrigger(day_of_week=self.days, hour=self.at.hour, minute=self.at.minute, timezone=self.tz)

    @property
    def id(self) -> str:
        return f"{self.job}:{self.school_id}:{self.label}"


REPORT_LINKS_AT = time(7, 30)  # the job acts on the first school day of each term only

MIS_SYNC_FROM = time(2, 30)
PRIVACY_PURGE_FROM = time(4, 0)  # the retention purge (bot.privacy): nightly, after the MIS sync
MIS_WRITEBACK_SECONDS = 30


def interval_jobs(settings: Settings) -> dict[str, int]:
    """Global jobs the clock runs on an interval besides sending (name -> seconds): reading the live
    register (the job itself picks the schools whose register window is open) and write-back."""
    return {"mis-poll": settings.mis_poll_interval_seconds, "mis-writeback": MIS_WRITEBACK_SECONDS}


def _plus(t: time, minutes: int) -> time:
    return (datetime.combine(datetime(2000, 1, 3), t) + timedelta(minutes=minutes)).time()


def school_slots(session: Session, school: School) -> list[Slot]:
    policy = policy_for(session, school.id)
    tz = school.timezone
    slots = [
        Slot("register-close", school.id, "AM", policy.am_close, opts={"session_name": "AM"}, tz=tz),
        Slot("register-close", school.id, "PM", policy.pm_close, opts={"session_name": "PM"}, tz=tz),
    ]
    # "Register not taken": some minutes after each close (with or without an MIS link).
    check = policy.register_check_after_minutes
    for name, closes in (("AM", policy.am_close), ("PM", policy.pm_close)):
        slots.append(
            Slot(
                "registers-missing", school.id, name, _plus(closes, check), opts={"session_name": name}, tz=tz
            )
        )
    if school.wonde_id:
        # Nightly, spread over an hour so a trust's schools do not all call Wonde at once (and clear
        # of the 01:00-02:00 hour that daylight saving skips or repeats).
        at = _plus(MIS_SYNC_FROM, school.id % 60)
        slots.append(Slot("mis-sync", school.id, "nightly", at, days="mon-sun", tz=tz))
    for chase_at in policy.chase_times or []:
        t = time.fromisoformat(chase_at)
        slots.append(Slot("chase", school.id, chase_at, t, opts={"slot": chase_at}, tz=tz))
    # Escalation: soon after the morning register, then hourly so unacted alerts are re-raised.
    first = _plus(policy.am_close, 20)
    slots.append(Slot("escalation-sweep", school.id, first.strftime("%H:%M"), first, tz=tz))
    for hour in range(first.hour + 1, 17):
        t = time(hour, first.minute)
        slots.append(Slot("escalation-sweep", school.id, t.strftime("%H:%M"), t, tz=tz))
    # ...and soon after the afternoon register too, so an afternoon absence of a vulnerable pupil
    # reaches the DSL (day 1 of their ladder) within minutes, not at the next hourly sweep.
    after_pm_close = _plus(policy.pm_close, 20)
    if after_pm_close.strftime("%H:%M") not in {s.label for s in slots if s.job == "escalation-sweep"}:
        slots.append(
            Slot("escalation-sweep", school.id, after_pm_close.strftime("%H:%M"), after_pm_close, tz=tz)
        )
    after_pm = _plus(policy.pm_close, 60)
    slots.append(Slot("statutory-sweep", school.id, "daily", after_pm, tz=tz))
    slots.append(Slot("weekly-report", school.id, "weekly", _plus(policy.pm_close, 90), days="fri", tz=tz))
    # What families told us (issue 15): the morning's counts after AM close; term-start links.
    digest_at = _plus(policy.am_close, DIGEST_AFTER_MINUTES)
    slots.append(Slot("morning-digest", school.id, "daily", digest_at, tz=tz))
    slots.append(Slot("report-links", school.id, "term-start", REPORT_LINKS_AT, tz=tz))
    slots.append(
        Slot(
            "privacy-purge",
            school.id,
            "nightly",
            _plus(PRIVACY_PURGE_FROM, school.id % 60),
            days="mon-sun",
            tz=tz,
        )
    )
    return slots


def refused_schools(session: Session, settings: Settings | None) -> list[tuple[School, str]]:
    """In production, the schools the clock will not run because their alerts would reach nobody
    (no chat and no email route: ``bot.alerts.routes.missing_routes``), each with what to set."""
    if settings is None or settings.environment != "production":
        return []
    return missing_routes(list(session.exec(select(School).order_by(School.urn)).all()), settings)


def all_slots(session: Session, settings: Settings | None = None) -> list[Slot]:
    """Every school's slots; in production, none for a school with no alert route (logged by name)."""
    refused = set()
    for school, why in refused_schools(session, settings):
        refused.add(school.id)
        log.error(
            "clock: not running school %s (%s): its alerts would reach nobody: %s",
            school.urn,
            school.name,
            why,
        )
    slots: list[Slot] = []
    for school in session.exec(select(School).order_by(School.id)).all():
        if school.id not in refused:
            slots.extend(school_slots(session, school))
    return slots
