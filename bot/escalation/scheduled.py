"""The clock's escalation job: one school, one ``now``; safe to run twice or on two clocks at once."""

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.calendar import load_calendar
from bot.escalation.service import sweep
from bot.policy import policy_for
from storage.db import session_scope
from storage.models import School


def escalation_sweep(engine: Engine, *, school_id: int, now: datetime) -> dict:
    """Raise due ladder steps, day-1 worker emails, re-alerts and DSL emails. Returns counts.

    Everything happens in one transaction: a crash part-way leaves nothing half-done, and the next
    run (or the safety net) does the whole pass again from the stored facts.
    """
    with session_scope(engine) as session:
        school = session.get(School, school_id)
        if school is None:
            return {"error": "no such school"}
        policy = policy_for(session, school_id)
        cal = load_calendar(session, school_id)
        return sweep(session, school=school, policy=policy, cal=cal, now=now)
