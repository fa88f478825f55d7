"""Running one scheduled slot exactly once, and catching up slots missed while the clock was down.

A ``JobRun`` row with a unique key per (job, school, slot instant) is claimed before the job runs:
a second clock, or the same slot fired twice, finds the key taken and does nothing. A run that
failed may be claimed again, and so may one left "running" by a clock that died mid-job (after
``STALE_RUN``): every job is idempotent, so running it again finishes what the dead one started.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import clock
from bot.jobs import JOBS, run_for_school
from bot.settings import Settings
from bot.summary import JobSummary
from scheduler.schedule import Slot
from storage.models import JobRun, School

log = logging.getLogger(__name__)

STALE_RUN = timedelta(minutes=15)  # longer than any job takes; a run still "running" after it died


def run_key(slot: Slot, fire_time: datetime) -> str:
    return f"{slot.id}:{fire_time.astimezone(clock.zone(slot.tz)).isoformat(timespec='minutes')}"


def _claim(engine: Engine, slot: Slot, fire_time: datetime, *, now: datetime) -> int | None:
    key = run_key(slot, fire_time)
    with Session(engine) as session:
        try:
            row = JobRun(job_key=key, school_id=slot.school_id, job=slot.job, slot=fire_time,
                         started_at=now, status="running")
            session.add(row)
            session.commit()
            return row.id
        except IntegrityError:
            session.rollback()
        # A failed run, or one a dead clock left running, may be retried: flip it (back) to
        # running if nobody else has.
        result = session.execute(
            update(JobRun)
            .where(JobRun.job_key == key,
                   or_(JobRun.status == "failed",
                       and_(JobRun.status == "running", JobRun.started_at < now - STALE_RUN)))
            .values(status="running", started_at=now)
        )
        session.commit()
        if result.rowcount == 1:
            return session.exec(select(JobRun.id).where(JobRun.job_key == key)).first()
    return None


def run_slot(
    engine: Engine, settings: Settings, slot: Slot, fire_time: datetime, *, now: datetime
) -> JobSummary | None:
    """Run the slot's job for its school as at ``fire_time``, unless that run was already claimed.

    The job sees ``fire_time`` as its "now" (a slot caught up late behaves as it would have on
    time); ``now`` is when this clock actually ran it, for the ``JobRun`` row.
    """
    run_id = _claim(engine, slot, fire_time, now=now)
    if run_id is None:
        return None
    status = "done"
    try:
        with Session(engine) as session:
            school = session.get(School, slot.school_id)
        if school is None:
            status, summary = "skipped", JobSummary.skip("school removed")
        else:
            summary = run_for_school(JOBS[slot.job], engine, school=school, now=fire_time, settings=settings,
                                     **slot.opts)
    except Exception as exc:  # recorded, retried by catch-up; the clock keeps going
        log.exception("job %s failed (run %s)", slot.id, run_id)
        status, summary = "failed", JobSummary(details={"error": type(exc).__name__})
    with Session(engine) as session:
        row = session.get(JobRun, run_id)
        row.status, row.summary, row.finished_at = status, summary.as_dict(), now
        session.add(row)
        session.commit()
    log.info("job %s at %s: %s %s", slot.id, fire_time.isoformat(), status, summary)
    return summary


def missed_fire_times(slot: Slot, *, since: datetime, until: datetime) -> list[datetime]:
    """Every time the slot should have fired in (since, until]."""
    trigger = slot.trigger()
    times: list[datetime] = []
    prev = None
    nxt = trigger.get_next_fire_time(None, since + timedelta(seconds=1))
    while nxt is not None and nxt <= until:
        times.append(nxt)
        prev = nxt
        nxt = trigger.get_next_fire_time(prev, prev + timedelta(seconds=1))
    return times


def catch_up(engine: Engine, settings: Settings, slots: list[Slot], *, now: datetime,
             grace: timedelta) -> int:
    """Run slots whose time passed within ``grace`` while no clock ran them. Returns runs made."""
    ran = 0
    for slot in slots:
        for fire_time in missed_fire_times(slot, since=now - grace, until=now):
            if run_slot(engine, settings, slot, fire_time, now=now) is not None:
                ran += 1
    return ran
