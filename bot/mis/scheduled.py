"""The clock's MIS jobs (one job shape, see ``bot.jobs``) and the refresh run before register jobs.

- ``mis-sync``: nightly per linked school (and ``attendance-bot mis sync``);
- ``mis-poll``: global, every ``MIS_POLL_INTERVAL_SECONDS``; reads the schools whose register
  window is open;
- ``mis-writeback``: global, every half minute; sends the write-back queue;
- ``refresh_*``: the ``prepare`` step of register close, the chase and the register check, so each
  acts on the register as the MIS shows it at that moment.

They talk to Wonde between their transactions, so each gets the engine, not a session.
"""

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.mis import marks, sync, writeback
from bot.mis.connection import linked
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import School


def mis_sync_job(
    engine: Engine, *, school: School, now: datetime, settings: Settings, full: bool = False
) -> JobSummary:
    if not linked(school, settings):
        return JobSummary.skip("not linked to an MIS (no Wonde id or token)")
    return sync.sync_school(engine, school=school, settings=settings, now=now, full=full)


def mis_poll_job(
    engine: Engine, *, school: School | None = None, now: datetime, settings: Settings
) -> JobSummary:
    return marks.poll(engine, settings=settings, now=now)


def mis_writeback_job(
    engine: Engine, *, school: School | None = None, now: datetime, settings: Settings
) -> JobSummary:
    return writeback.send_due(engine, settings=settings, now=now)


def refresh_before_close(engine: Engine, *, school: School, now: datetime, settings: Settings) -> str | None:
    """Before register close: read the register, leaving its N marks for register close to act on."""
    return marks.refresh_before(engine, school=school, now=now, settings=settings, late_pass=False)


def refresh(engine: Engine, *, school: School, now: datetime, settings: Settings) -> str | None:
    """Before the chase and the register check: read the register (late registers acted on)."""
    return marks.refresh_before(engine, school=school, now=now, settings=settings, late_pass=True)
