"""The clock's daily statutory sweep (after PM close): one school, one ``now``; safe to repeat."""

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.calendar import load_calendar
from bot.policy import policy_for
from bot.thresholds.service import sweep
from storage.db import session_scope
from storage.models import School


def statutory_sweep(engine: Engine, *, school_id: int, now: datetime) -> dict:
    """N→O recodes, threshold alerts and tier changes for one school, in one transaction."""
    with session_scope(engine) as session:
        school = session.get(School, school_id)
        if school is None:
            return {"error": "no such school"}
        policy = policy_for(session, school_id)
        cal = load_calendar(session, school_id)
        return sweep(session, school=school, policy=policy, cal=cal, now=now)
