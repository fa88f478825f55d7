"""Quiet hours: no automated call rings before the school's ``calls_from`` or after ``calls_until``.

The send-outbox job runs ``hold_calls`` before each sending pass. A call due before the school's
calls may start waits until then (the same day); one due after they must stop is cancelled: it
would be about a day that is over, and the next school day's chase calls again if the case is
still open. Nothing here sends; the sender only ever sees calls that may ring now.
"""

import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot import clock
from bot.policy import policy_for
from storage.db import session_scope
from storage.models import OutboxMessage, School

log = logging.getLogger(__name__)

TOO_LATE = "quiet hours: too late to call today"


def hold_calls(engine: Engine, *, now: datetime) -> dict[str, int]:
    """Defer or cancel the due calls of schools outside their calling hours. Returns the counts."""
    counts = {"calls_deferred": 0, "calls_cancelled_quiet_hours": 0}
    with session_scope(engine) as session:
        school_ids = session.exec(
            select(OutboxMessage.school_id)
            .where(
                OutboxMessage.channel == "voice",
                OutboxMessage.status == "queued",
                OutboxMessage.next_attempt_at <= now,
            )
            .distinct()
        ).all()
        for school_id in school_ids:
            school = session.get(School, school_id)
            policy = policy_for(session, school_id)
            local = clock.to_local(now, school.timezone)
            due = (
                OutboxMessage.school_id == school_id,
                OutboxMessage.channel == "voice",
                OutboxMessage.status == "queued",
                OutboxMessage.next_attempt_at <= now,
            )
            if local.time() < policy.calls_from:
                start = clock.at_local(local.date(), policy.calls_from, school.timezone)
                result = session.execute(
                    update(OutboxMessage).where(*due).values(next_attempt_at=start, updated_at=now)
                )
                counts["calls_deferred"] += result.rowcount or 0
            elif local.time() >= policy.calls_until:
                result = session.execute(
                    update(OutboxMessage)
                    .where(*due)
                    .values(status="cancelled", error=TOO_LATE, updated_at=now)
                )
                counts["calls_cancelled_quiet_hours"] += result.rowcount or 0
    if any(counts.values()):
        log.info("quiet hours: %s", counts)
    return counts
