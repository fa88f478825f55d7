"""The clock's alert delivery job (global, every few seconds): raise again the urgent alerts nobody
has acted on (``bot.alerts.owner``), then deliver every alert not yet delivered on all its routes."""

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.alerts.deliver import deliver_pending
from bot.alerts.owner import reraise_owned
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import School


def deliver_alerts(
    engine: Engine, *, school: School | None = None, now: datetime, settings: Settings
) -> JobSummary:
    reraised = reraise_owned(engine, now=now)
    delivered = deliver_pending(engine, settings=settings, now=now)
    return JobSummary(counts={"urgent_reraised": reraised, **delivered})
