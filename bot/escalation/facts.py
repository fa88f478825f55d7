"""What the escalation sweep knows about one case, derived from stored facts every time it runs.

The day count comes from the marks, last contact from replies and calls, the history from the outbox:
nothing is remembered between sweeps, so a sweep that runs late or twice reaches the same answer.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from bot import clock
from bot.alerts.notify import STAFF_KINDS
from bot.calendar import SchoolCalendar
from bot.cases.service import seen_in_school
from storage.models import (
    AbsenceCase,
    CallLog,
    Contact,
    InboundMessage,
    Mark,
    MessageCase,
    OutboxMessage,
    ReplyCase,
    SchoolPolicy,
)

UNEXPLAINED_CODES = ("N", "O")


@dataclass
class Facts:
    """What the sweep knows about one case today."""

    through: date  # last school day the pupil is recorded absent without a reason
    day_number: int  # school day of the episode (or of no contact) the ladder is counted in
    base: date  # day 1 of that count
    seen: bool  # in school (present, late, U) after the episode's latest unexplained session
    last_contact: datetime | None
    history: dict = field(default_factory=dict)


def local_date(instant: datetime, tz: str) -> date:
    """The school's calendar date at ``instant``: school days are counted in the school's own zone."""
    return clock.to_local(instant, tz).date()


def contact_history(session: Session, *, case: AbsenceCase, tz: str) -> dict:
    """Every attempt to reach the family on this case: messages with status, calls, replies (emails to
    the social worker or the DSL about the case are not contact with the family)."""
    messages = session.exec(
        select(OutboxMessage, Contact)
        .join(MessageCase, MessageCase.message_id == OutboxMessage.id)
        .join(Contact, Contact.id == OutboxMessage.contact_id, isouter=True)
        .where(MessageCase.case_id == case.id, OutboxMessage.kind.not_in(STAFF_KINDS))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    ).all()
    calls = session.exec(
        select(CallLog)
        .where(
            CallLog.pupil_id == case.pupil_id,
            or_(CallLog.case_id == case.id, and_(CallLog.case_id.is_(None), CallLog.at >= case.opened_at)),
        )
        .order_by(CallLog.at, CallLog.id)
    ).all()
    replies = session.exec(
        select(InboundMessage)
        .join(ReplyCase, ReplyCase.inbound_id == InboundMessage.id)
        .where(ReplyCase.case_id == case.id)
        .order_by(InboundMessage.received_at, InboundMessage.id)
    ).all()

    def when(t: datetime) -> str:
        return clock.to_local(t, tz).strftime("%a %d %b %H:%M")

    return {
        "messages": [
            {
                "at": when(m.created_at),
                "channel": m.channel,
                "kind": m.kind,
                "status": m.status,
                "to": f"{c.first_name} {c.last_name}" if c else m.to_address,
            }
            for m, c in messages
        ],
        "calls": [{"at": when(c.at), "outcome": c.outcome, "note": c.note} for c in calls],
        "replies": [
            {"at": when(r.received_at), "text": r.body[:200], "code": r.code, "concern": r.concern}
            for r in replies
        ],
    }


def last_contact(session: Session, *, case: AbsenceCase) -> datetime | None:
    """When the family last got through: a reply linked to the case, or a call where staff spoke."""
    reply = session.exec(
        select(func.max(InboundMessage.received_at))
        .join(ReplyCase, ReplyCase.inbound_id == InboundMessage.id)
        .where(ReplyCase.case_id == case.id)
    ).one()
    call = session.exec(
        select(func.max(CallLog.at)).where(
            CallLog.pupil_id == case.pupil_id,
            CallLog.outcome == "spoke",
            or_(CallLog.case_id == case.id, and_(CallLog.case_id.is_(None), CallLog.at >= case.opened_at)),
        )
    ).one()
    found = [t for t in (reply, call) if t is not None]
    if not found:
        return None
    # SQLite hands aggregate results back as naive/strings outside the column type: normalise.
    return max(_aware(t) for t in found)


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


def case_facts(
    session: Session, *, case: AbsenceCase, policy: SchoolPolicy, cal: SchoolCalendar, today: date, tz: str
) -> Facts:
    """Derive the day count from the marks: continuous unexplained absence up to ``today``."""
    latest_n = session.exec(
        select(func.max(Mark.date)).where(
            Mark.pupil_id == case.pupil_id,
            Mark.date >= case.first_date,
            Mark.date <= today,
            Mark.code.in_(UNEXPLAINED_CODES),
        )
    ).one()
    through = max(d for d in (case.last_absent_date, latest_n) if d is not None)
    through = min(through, today)
    # Per session, as everywhere: seen after the episode's latest unexplained session.
    seen = seen_in_school(session, case=case, day=today)
    contact_at = last_contact(session, case=case)
    base = case.first_date
    if policy.escalation_basis == "no_contact" and contact_at is not None:
        contact_day = local_date(contact_at, tz)
        if contact_day >= case.first_date:
            base = cal.next_school_day(contact_day) or through + timedelta(days=1)
    day_number = cal.school_day_number(base, through) if through >= base else 0
    return Facts(through=through, day_number=day_number, base=base, seen=seen, last_contact=contact_at)
