"""The clock's alert delivery job: post every alert not yet delivered (global, every few seconds)."""

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.alerts.deliver import deliver_pending
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import School


def deliver_alerts(
    engine: Engine, *, school: School | None = None, now: datetime, settings: Settings
) -> JobSummary:
    return JobSummary(counts=deliver_pending(engine, settings=settings, now=now))
