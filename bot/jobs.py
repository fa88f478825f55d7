"""The catalogue of jobs the clock runs and operators can run by hand.

Each job is a function of (engine, settings, school or None, now, options) returning a summary
dict. Per-school jobs run in one transaction for that school; the services they call are
idempotent (unique keys on messages and alerts), so running a job twice changes nothing more.
"""

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from bot import clock
from bot.settings import Settings
from storage.db import session_scope
from storage.models import School

log = logging.getLogger(__name__)

Runner = Callable[..., dict]


@dataclass(frozen=True)
class Job:
    name: str
    help: str
    per_school: bool
    run: Runner
    options: tuple[str, ...] = field(default_factory=tuple)


def _in_school_tx(fn: Callable[..., dict]) -> Runner:
    """Run a per-school service in its own transaction, retrying once on a write conflict."""

    def runner(engine: Engine, settings: Settings, *, school: School, now: datetime, **opts) -> dict:
        for attempt in (1, 2):
            try:
                with session_scope(engine) as session:
                    school_row = session.get(School, school.id)
                    return fn(session, school=school_row, now=now, settings=settings, **opts)
            except (IntegrityError, OperationalError):
                if attempt == 2:
                    raise
                log.warning("job conflict for school %s; retrying once", school.id)
        raise AssertionError("unreachable")

    return runner


def _register_close(session, *, school, now, settings, session_name: str = "AM") -> dict:
    from bot.firstday.service import register_close

    day = clock.to_local(now, school.timezone).date()
    return register_close(session, school=school, day=day, session_name=session_name, settings=settings)


def _chase(session, *, school, now, settings, slot: str | None = None) -> dict:
    from bot.firstday.service import chase

    slot = slot or clock.to_local(now, school.timezone).strftime("%H:%M")
    return chase(session, school=school, now=now, slot=slot, settings=settings)


def _send_outbox(engine, settings, *, school=None, now) -> dict:
    from bot.messaging.sender import send_outbox_job

    return send_outbox_job(engine, settings, now)


def _deliver_alerts(engine, settings, *, school=None, now) -> dict:
    from bot.alerts.deliver import deliver_pending

    return deliver_pending(engine, settings=settings, now=now)


def _optional(module: str, attr: str) -> Runner | None:
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None
    return getattr(mod, attr)


def _school_job(module: str, attr: str) -> Runner:
    """Adapter for jobs that manage their own transactions: fn(engine, *, school_id, now, ...)."""

    def runner(engine, settings, *, school, now, **opts) -> dict:
        fn = _optional(module, attr)
        if fn is None:
            return {"skipped": f"{attr} is not available in this build"}
        try:
            return fn(engine, school_id=school.id, now=now, settings=settings, **opts)
        except TypeError:
            return fn(engine, school_id=school.id, now=now, **opts)

    return runner


JOBS: dict[str, Job] = {
    j.name: j
    for j in [
        Job("register-close", "Open cases for N marks and message families (--session am|pm).", True,
            _in_school_tx(_register_close), ("session_name",)),
        Job("chase", "Chase families of still-unexplained absences; move to the next contact.", True,
            _in_school_tx(_chase), ("slot",)),
        Job("escalation-sweep", "Raise due escalation alerts (day 3 home visit, day 5 MASH...).", True,
            _school_job("bot.escalation.scheduled", "escalation_sweep")),
        Job("statutory-sweep", "N to O after 5 school days; statutory thresholds; tiers.", True,
            _school_job("bot.thresholds.scheduled", "statutory_sweep")),
        Job("weekly-report", "Build and post the weekly attendance report.", True,
            _school_job("bot.reports.scheduled", "weekly_report_job")),
        Job("send-outbox", "Deliver queued messages (SMS, email) with retries.", False, _send_outbox),
        Job("deliver-alerts", "Post new alerts to Slack / Teams / the local feed.", False, _deliver_alerts),
    ]
}


def run_job(
    name: str,
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    schools: list[School] | None = None,
    **opts,
) -> list[tuple[School | None, dict]]:
    """Run one job for the given schools (all when None) or once for a global job."""
    job = JOBS[name]
    if not job.per_school:
        return [(None, job.run(engine, settings, now=now))]
    if schools is None:
        from sqlmodel import Session, select

        with Session(engine) as s:
            schools = list(s.exec(select(School).order_by(School.urn)).all())
    results = []
    for school in schools:
        results.append((school, job.run(engine, settings, school=school, now=now, **opts)))
    return results
