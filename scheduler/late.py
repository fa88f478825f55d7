"""Telling the operators when a register close has not run: once per slot, N minutes after its time.

Register close is what opens cases and texts families on the first day; if it has not completed
``CLOCK_LATE_ALERT_MINUTES`` after its time (the clock was down, the job keeps failing, the
database refuses it), a person must look. The alert goes to the operators (``bot.alerts.ops``),
not to the school: staff cannot fix the clock. It is raised once per slot (its key is the run's),
checked on every catch-up, and closed when the run completes (``scheduler.runs``). Non-school days
are left alone.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import clock
from bot.alerts import ops
from bot.calendar import load_calendar
from bot.settings import Settings
from scheduler.runs import FINISHED, missed_fire_times, run_key
from scheduler.schedule import Slot
from storage.db import session_scope
from storage.models import JobRun, School

log = logging.getLogger(__name__)

WATCHED = ("register-close",)
LOOKBACK = timedelta(hours=12)  # a register close missed this morning is still reported at noon


def late_slots(
    engine: Engine, slots: list[Slot], *, now: datetime, after: timedelta
) -> list[tuple[Slot, datetime, JobRun | None]]:
    """Watched slots due between ``LOOKBACK`` and ``after`` ago with no finished run, on school days."""
    late = []
    with Session(engine) as session:
        for slot in slots:
            if slot.job not in WATCHED:
                continue
            for fire_time in missed_fire_times(slot, since=now - LOOKBACK, until=now - after):
                run = session.exec(select(JobRun).where(JobRun.job_key == run_key(slot, fire_time))).first()
                if run is not None and run.status in FINISHED:
                    continue
                day = clock.to_local(fire_time, slot.tz).date()
                if load_calendar(session, slot.school_id).is_school_day(day):
                    late.append((slot, fire_time, run))
    return late


def alert_late(engine: Engine, settings: Settings, slots: list[Slot], *, now: datetime) -> int:
    """Raise an ops alert for each late register close not yet reported; returns how many are new."""
    after = timedelta(minutes=settings.clock_late_alert_minutes)
    raised = 0
    for slot, fire_time, run in late_slots(engine, slots, now=now, after=after):
        with session_scope(engine) as session:
            school = session.get(School, slot.school_id)
            if school is None:
                continue
            local = clock.to_local(fire_time, slot.tz)
            state = (
                f"its run {run.status} after {run.attempts} tries"
                if run is not None
                else "no clock has started it"
            )
            title = f"Register close {slot.label} at {local:%H:%M} has not completed for school {school.urn}"
            body = (
                f"{settings.clock_late_alert_minutes} minutes after its time, {state}. Families of "
                "absent pupils have not been texted. Check the clock process (attendance-bot clock, "
                "/healthz) and its log; it is retried on every catch-up while within the grace, or "
                f"run it by hand: attendance-bot jobs run register-close --school {school.urn} "
                f"--session {slot.label.lower()} --now {fire_time.isoformat()}"
            )
            key = ops.slot_late_key(run_key(slot, fire_time))
            if ops.raise_ops_alert(
                session,
                school_id=school.id,
                key=key,
                kind=ops.SLOT_LATE,
                title=title,
                body=body,
                now=now,
                data={"job": slot.job, "slot": fire_time.isoformat()},
            ):
                log.error(
                    "%s at %s not done %d min after its time: operators alerted",
                    slot.id,
                    fire_time.isoformat(),
                    settings.clock_late_alert_minutes,
                )
                raised += 1
    return raised
