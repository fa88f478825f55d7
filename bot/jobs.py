"""The catalogue of jobs the clock runs and operators can run by hand (``attendance-bot jobs run``).

Every job has one shape: ``run(target, *, school, now, settings, **options) -> JobSummary``.

- A *per-school* job gets a ``Session``: the runner opens one transaction for the school, so the job's
  changes land together or not at all, and retries it once on a write conflict (two clocks, a
  concurrent import). Register close, the chase, the sweeps and the weekly report are like this.
- A *global* job (``school`` is None) gets the ``Engine`` and manages its own short transactions,
  because it talks to providers between them: sending the outbox, delivering alerts, reading the
  MIS. A per-school job that talks to a provider (the MIS sync) is marked ``engine=True`` and gets
  the engine the same way.
- A job may have a ``prepare`` step, run just before it outside its transaction: register close,
  the chase and the register check first read the live register from the MIS (``bot.mis``), so
  they act on the register as it is at that moment. What the step could not do goes in the
  summary's details (``mis``); the job still runs, on the register as last read.

The jobs are listed here by plain imports: a renamed module fails at start-up, never silently.
Every job is idempotent (unique keys on messages, alerts and job runs), so running it twice at the
same ``now`` changes nothing more.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from bot import shutdown
from bot.alerts.scheduled import deliver_alerts
from bot.escalation.scheduled import escalation_sweep
from bot.firstday.report_links import send_report_links
from bot.firstday.scheduled import chase_job, register_close_job, send_outbox
from bot.mail.scheduled import read_mailbox_job
from bot.mis.scheduled import mis_poll_job, mis_sync_job, mis_writeback_job, refresh, refresh_before_close
from bot.notices.digest import morning_digest
from bot.privacy.scheduled import privacy_purge_job
from bot.register.scheduled import registers_missing_job
from bot.reports.scheduled import weekly_report_job
from bot.settings import Settings
from bot.summary import JobSummary
from bot.thresholds.scheduled import statutory_sweep
from storage.db import lock_school, session_scope
from storage.models import School

log = logging.getLogger(__name__)

Runner = Callable[..., JobSummary]


@dataclass(frozen=True)
class Job:
    name: str
    help: str
    run: Runner
    per_school: bool  # True: run(session, school=...); False: run(engine, school=None)
    options: tuple[str, ...] = ()
    engine: bool = False  # a per-school job that gets the engine (it talks to a provider)
    prepare: Callable[..., str | None] | None = None  # prepare(engine, school=, now=, settings=)


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "register-close",
            "Open cases for N marks and message families (--session am|pm).",
            register_close_job,
            per_school=True,
            options=("session_name",),
            prepare=refresh_before_close,
        ),
        Job(
            "chase",
            "Chase families of still-unexplained absences; move to the next contact.",
            chase_job,
            per_school=True,
            options=("slot",),
            prepare=refresh,
        ),
        Job(
            "registers-missing",
            "Alert classes with no marks some minutes after close (--session am|pm).",
            registers_missing_job,
            per_school=True,
            options=("session_name",),
            prepare=refresh,
        ),
        Job(
            "mis-sync",
            "Sync pupils, contacts, classes and staff from the MIS (Wonde).",
            mis_sync_job,
            per_school=True,
            engine=True,
        ),
        Job(
            "mis-poll",
            "Read the live register from the MIS around each register close.",
            mis_poll_job,
            per_school=False,
        ),
        Job("mis-writeback", "Write changes of marks back to the MIS.", mis_writeback_job, per_school=False),
        Job(
            "escalation-sweep",
            "Raise due escalation alerts (day 3 home visit, day 5 MASH...).",
            escalation_sweep,
            per_school=True,
        ),
        Job(
            "statutory-sweep",
            "N to O after 5 school days; statutory thresholds; tiers.",
            statutory_sweep,
            per_school=True,
        ),
        Job(
            "weekly-report",
            "Build and post the weekly attendance report.",
            weekly_report_job,
            per_school=True,
        ),
        Job(
            "morning-digest",
            "Post the morning's counts: N marks, explained by notices, messaged, registers not taken.",
            morning_digest,
            per_school=True,
        ),
        Job(
            "report-links",
            "First school day of term: send each family their 'report an absence' link "
            "(--force: any school day).",
            send_report_links,
            per_school=True,
            options=("force",),
        ),
        Job(
            "privacy-purge",
            "Remove or redact data older than the school's retention policy.",
            privacy_purge_job,
            per_school=True,
        ),
        Job(
            "send-outbox",
            "Deliver queued messages (SMS, email) with retries; reroute failures.",
            send_outbox,
            per_school=False,
        ),
        Job(
            "deliver-alerts",
            "Post new alerts to Slack / Teams / the local feed.",
            deliver_alerts,
            per_school=False,
        ),
        Job(
            "read-mailbox",
            "Read families' email replies and bounces from the school's mailbox (IMAP).",
            read_mailbox_job,
            per_school=False,
        ),
    )
}


def run_for_school(
    job: Job, engine: Engine, *, school: School, now: datetime, settings: Settings, **options
) -> JobSummary:
    """Run a per-school job in one transaction, alone for its school, retrying once on a write
    conflict (a concurrent import or reply)."""
    if job.engine:
        return job.run(engine, school=school, now=now, settings=settings, **options)
    note = job.prepare(engine, school=school, now=now, settings=settings) if job.prepare else None
    for attempt in (1, 2):
        try:
            with session_scope(engine) as session:
                lock_school(session, school.id)
                row = session.get(School, school.id)
                if row is None:
                    return JobSummary.skip("the school no longer exists")
                summary = job.run(session, school=row, now=now, settings=settings, **options)
                if note:
                    summary = JobSummary(
                        counts=summary.counts,
                        details={**summary.details, "mis": note},
                        skipped=summary.skipped,
                    )
                return summary
        except (IntegrityError, OperationalError):
            if attempt == 2:
                raise
            log.warning("job %s: write conflict for school %s; retrying once", job.name, school.id)
    raise AssertionError("unreachable")


def run_job(
    name: str,
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    schools: list[School] | None = None,
    **options,
) -> list[tuple[School | None, JobSummary]]:
    """Run one job at ``now`` for the given schools (all when None), or once for a global job.

    Once the process is asked to stop (SIGTERM: ``bot.shutdown``), the school in hand is finished
    and no further school is started; the results say which schools ran.
    """
    job = JOBS[name]
    if not job.per_school:
        return [(None, job.run(engine, school=None, now=now, settings=settings, **options))]
    if schools is None:
        with Session(engine) as s:
            schools = list(s.exec(select(School).order_by(School.urn)).all())
    results = []
    for school in schools:
        if shutdown.requested():
            log.warning("job %s: stop requested; %d school(s) not run", name, len(schools) - len(results))
            break
        results.append(
            (school, run_for_school(job, engine, school=school, now=now, settings=settings, **options))
        )
    return results
