"""The clock's escalation job: one school, one ``now``; safe to run twice or on two clocks at once."""

from datetime import datetime

from sqlmodel import Session

from bot.calendar import load_calendar
from bot.escalation.service import sweep
from bot.policy import policy_for
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import School


def escalation_sweep(session: Session, *, school: School, now: datetime, settings: Settings) -> JobSummary:
    """Raise due ladder steps, day-1 worker emails, re-alerts and DSL emails.

    Everything happens in the one transaction the job runner opens: a crash part-way leaves nothing
    half-done, and the next run does the whole pass again from the stored facts.
    """
    counts = sweep(
        session,
        school=school,
        policy=policy_for(session, school.id),
        cal=load_calendar(session, school.id),
        now=now,
    )
    return JobSummary(counts=counts)
