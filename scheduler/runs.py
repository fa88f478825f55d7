"""Running one scheduled slot exactly once, and catching up slots missed, failed or interrupted.

A ``JobRun`` row with a unique key per (job, school, slot instant) is claimed before the job runs:
a second clock, or the same slot fired twice, finds the key taken and does nothing. The clock
catches up every few minutes (``scheduler.clock``), and a claimed run may be claimed again when

- it failed: after a backoff (``CLOCK_RETRY_SECONDS``, doubling each try, capped), while the slot
  is within its grace;
- it was interrupted: a clock stopped by SIGTERM could not finish it in its grace period;
- it is "running" under a clock that no longer holds the lease (killed, or cut off): at once, not
  after ``STALE_RUN``, so a register close the dead leader started is finished within seconds;
- it is "running" with no clock recorded (rows from before holders were kept) after ``STALE_RUN``.

Every job is idempotent and runs alone for its school, so running it again finishes what the
first run started, even if that run turns out to be still going.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import clock, shutdown
from bot.alerts import ops
from bot.jobs import JOBS, run_for_school
from bot.settings import Settings
from bot.summary import JobSummary
from scheduler.schedule import Slot
from storage.db import session_scope
from storage.models import ClockLease, JobRun, School

log = logging.getLogger(__name__)

STALE_RUN = timedelta(minutes=15)  # longer than any job takes; a run still "running" after it died
FINISHED = ("done", "skipped")


def run_key(slot: Slot, fire_time: datetime) -> str:
    return f"{slot.id}:{fire_time.astimezone(clock.zone(slot.tz)).isoformat(timespec='minutes')}"


def backoff(settings: Settings, attempts: int) -> timedelta:
    """How long a run that failed its ``attempts``-th try waits: 1, 2, 4, 8 min... capped."""
    seconds = settings.clock_retry_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.clock_retry_max_seconds))


def _retryable(*, now: datetime, holder: str | None):
    """SQL condition: this claimed run may be claimed again by ``holder`` at ``now``."""
    live = sa_select(ClockLease.holder).where(ClockLease.expires_at > now)
    orphaned = or_(
        JobRun.started_at < now - STALE_RUN,
        and_(JobRun.holder.is_not(None), JobRun.holder != holder, JobRun.holder.not_in(live)),
    )
    return or_(
        JobRun.status == "interrupted",
        and_(JobRun.status == "failed", or_(JobRun.retry_at.is_(None), JobRun.retry_at <= now)),
        and_(JobRun.status == "running", orphaned),
    )


def _claim(
    engine: Engine, slot: Slot, fire_time: datetime, *, now: datetime, holder: str | None
) -> tuple[int, int] | None:
    """Claim the run for ``holder``: (run id, attempt number), or None if it is not ours to run."""
    key = run_key(slot, fire_time)
    with Session(engine) as session:
        row = session.exec(select(JobRun).where(JobRun.job_key == key)).first()
        if row is None:
            try:
                row = JobRun(
                    job_key=key,
                    school_id=slot.school_id,
                    job=slot.job,
                    slot=fire_time,
                    started_at=now,
                    status="running",
                    holder=holder,
                )
                session.add(row)
                session.commit()
                return row.id, 1
            except IntegrityError:  # another clock claimed it a moment ago
                session.rollback()
                return None
        if row.status in FINISHED:
            return None
        run_id, attempts = row.id, row.attempts + 1
        result = session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, _retryable(now=now, holder=holder))
            .values(status="running", started_at=now, holder=holder, attempts=attempts, retry_at=None)
        )
        session.commit()
        return (run_id, attempts) if result.rowcount == 1 else None


def _finish(
    engine: Engine,
    run_id: int,
    *,
    holder: str | None,
    status: str,
    summary: JobSummary,
    retry_at: datetime | None,
    now: datetime,
) -> None:
    """Record the outcome, unless another clock has taken the run over meanwhile (its result wins)."""
    mine = JobRun.holder == holder if holder is not None else JobRun.holder.is_(None)
    with Session(engine) as session:
        session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, mine)
            .values(status=status, summary=summary.as_dict(), finished_at=now, retry_at=retry_at)
        )
        session.commit()


def run_slot(
    engine: Engine,
    settings: Settings,
    slot: Slot,
    fire_time: datetime,
    *,
    now: datetime,
    holder: str | None = None,
) -> JobSummary | None:
    """Run the slot's job for its school as at ``fire_time``, unless that run is not ours to make.

    The job sees ``fire_time`` as its "now" (a slot caught up late behaves as it would have on
    time); ``now`` is when this clock actually ran it, for the ``JobRun`` row. Nothing new starts
    once the process was asked to stop.
    """
    if shutdown.requested():
        return None
    claimed = _claim(engine, slot, fire_time, now=now, holder=holder)
    if claimed is None:
        return None
    run_id, attempts = claimed
    status, retry_at = "done", None
    try:
        with Session(engine) as session:
            school = session.get(School, slot.school_id)
        if school is None:
            status, summary = "skipped", JobSummary.skip("school removed")
        else:
            summary = run_for_school(
                JOBS[slot.job], engine, school=school, now=fire_time, settings=settings, **slot.opts
            )
    except Exception as exc:  # recorded, retried by catch-up after a backoff; the clock keeps going
        log.exception("job %s failed (run %s, try %d)", slot.id, run_id, attempts)
        status, summary = "failed", JobSummary(details={"error": type(exc).__name__})
        retry_at = now + backoff(settings, attempts)
    _finish(engine, run_id, holder=holder, status=status, summary=summary, retry_at=retry_at, now=now)
    if status == "done":  # a late register close reported to the operators is now off /healthz
        with session_scope(engine) as session:
            ops.close_ops_alert(session, key=ops.slot_late_key(run_key(slot, fire_time)))
    log.info("job %s at %s: %s %s", slot.id, fire_time.isoformat(), status, summary)
    return summary


def interrupt(engine: Engine, holder: str, *, now: datetime) -> int:
    """Mark the runs ``holder`` could not finish before stopping as interrupted (retried at once by
    the next leader). Returns how many."""
    with Session(engine) as session:
        result = session.execute(
            update(JobRun)
            .where(JobRun.holder == holder, JobRun.status == "running")
            .values(status="interrupted", finished_at=now)
        )
        session.commit()
        return result.rowcount


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


def catch_up(
    engine: Engine,
    settings: Settings,
    slots: list[Slot],
    *,
    now: datetime,
    grace: timedelta,
    holder: str | None = None,
) -> int:
    """Run slots whose time passed within ``grace`` and that have no finished run: missed while no
    clock ran, failed (once their backoff is over), interrupted, or orphaned by a dead clock.
    Returns runs made."""
    ran = 0
    for slot in slots:
        for fire_time in missed_fire_times(slot, since=now - grace, until=now):
            if shutdown.requested():
                return ran
            if run_slot(engine, settings, slot, fire_time, now=now, holder=holder) is not None:
                ran += 1
    return ran
