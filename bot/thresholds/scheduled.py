"""The clock's daily statutory sweep (after PM close): one school, one ``now``; safe to repeat."""

from datetime import datetime

from sqlmodel import Session

from bot.calendar import load_calendar
from bot.policy import policy_for
from bot.settings import Settings
from bot.summary import JobSummary
from bot.thresholds.sweep import sweep
from storage.models import School


def statutory_sweep(session: Session, *, school: School, now: datetime, settings: Settings) -> JobSummary:
    """N→O recodes, threshold alerts and tier changes for one school, in the runner's transaction."""
    counts = sweep(
        session,
        school=school,
        policy=policy_for(session, school.id),
        cal=load_calendar(session, school.id),
        now=now,
    )
    return JobSummary(counts=counts)
