"""The clock's first-day jobs: register close, the chase, and sending the outbox.

Each has the one job shape (see ``bot.jobs``): register close and the chase run in the school's
transaction the runner opens; sending manages its own short transactions, because it talks to the
providers between them.
"""

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import clock
from bot.calls.quiet import hold_calls
from bot.firstday.reconcile import check_before_send
from bot.firstday.reroute import reroute_failed
from bot.firstday.service import chase, register_close
from bot.messaging.sender import SendSummary, send_due
from bot.messaging.transports import Transports, transports_for
from bot.settings import Settings
from bot.summary import JobSummary
from storage.db import session_scope
from storage.models import School

# The send job works in rounds of this many messages until a round finds less to do.
SEND_ROUND = 500


def register_close_job(
    session: Session, *, school: School, now: datetime, settings: Settings, session_name: str = "AM"
) -> JobSummary:
    return register_close(session, school=school, session_name=session_name, settings=settings, now=now)


def chase_job(
    session: Session, *, school: School, now: datetime, settings: Settings, slot: str | None = None
) -> JobSummary:
    slot = slot or clock.to_local(now, school.timezone).strftime("%H:%M")
    return chase(session, school=school, now=now, slot=slot, settings=settings)


def send_outbox(
    engine: Engine,
    *,
    school: School | None = None,
    now: datetime,
    settings: Settings,
    transports: Transports | None = None,
) -> JobSummary:
    """Send everything due, then move on the families whose messages failed, until nothing is left.

    Rerouting queues messages due at once (the contact's email, the next contact), so a pass that
    rerouted anyone is followed by another sending pass.
    """
    transports = transports or transports_for(settings)
    total, rerouted, quiet = SendSummary(), 0, {"calls_deferred": 0, "calls_cancelled_quiet_hours": 0}
    while True:
        for name, count in hold_calls(engine, now=now).items():  # no call rings in quiet hours
            quiet[name] += count
        sent = send_due(
            engine,
            transports=transports,
            settings=settings,
            now=now,
            limit=SEND_ROUND,
            before_send=check_before_send,
        )
        total.add(sent)
        with session_scope(engine) as session:
            moved = reroute_failed(session, settings=settings, now=now)
        rerouted += moved
        handled = sent.sent + sent.failed + sent.retried + sent.cancelled + sent.unknown + sent.expired
        if not moved and handled < SEND_ROUND:
            return JobSummary(counts={**total.as_dict(), "rerouted": rerouted, **quiet})
