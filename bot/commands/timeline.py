"""``/pupil``: everything that happened about a pupil in the last two weeks, oldest first.

Marks, messages (and what happened on automated calls), replies, staff calls, alerts, mark
amendments and case events, each gathered by its own small query. DSL-only alerts, and actions on
them, are left out for staff who are not the DSL or the headteacher.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_
from sqlmodel import Session, select

from bot import clock
from bot.alerts.notify import STAFF_KINDS
from bot.attendance import tally
from bot.calendar import load_calendar
from bot.commands.identity import DSL_ROLES
from bot.pupils import flags, label
from storage.models import (
    AbsenceCase,
    Alert,
    CallLog,
    CaseEvent,
    InboundMessage,
    Mark,
    MarkAmendment,
    MessageCase,
    OutboxMessage,
    Pupil,
    PupilContact,
    ReplyCase,
    School,
    Staff,
    VoiceCall,
)

TIMELINE_DAYS = 14
TIMELINE_MAX = 40


@dataclass(order=True)
class TimelineItem:
    at: datetime
    kind: str = field(compare=False)
    text: str = field(compare=False)


@dataclass
class Timeline:
    pupil: Pupil
    label: str
    flags: list[str]
    percent: float | None
    open_case: AbsenceCase | None
    case_day: int | None
    items: list[TimelineItem]
    truncated: int = 0


def timeline(session: Session, *, staff: Staff, pupil: Pupil, today: date, shared: bool = False) -> Timeline:
    """Everything that happened about a pupil in the last two weeks, oldest first.

    ``shared``: shown to a channel, so DSL-only alerts and actions are left out even for the DSL,
    and a reply read as a concern is shown without its words."""
    school = session.get(School, pupil.school_id)
    tz = school.timezone if school else None
    since_day = today - timedelta(days=TIMELINE_DAYS)
    since = clock.at_local(since_day, time(0, 0), tz)
    dsl = staff.role in DSL_ROLES and not shared
    items = sorted(
        _marks(session, pupil, since_day, tz)
        + _messages(session, pupil, since)
        + _replies(session, pupil, since, shared=shared)
        + _calls(session, pupil, since)
        + _alerts(session, pupil, since, dsl=dsl)
        + _amendments(session, pupil, since)
        + _events(session, pupil, since, dsl=dsl)
    )
    truncated = max(0, len(items) - TIMELINE_MAX)
    items = items[truncated:]
    from bot.cases.service import open_case_for

    open_case = open_case_for(session, pupil.id)
    case_day = None
    if open_case is not None:
        case_day = load_calendar(session, pupil.school_id).school_day_number(open_case.first_date, today)
    return Timeline(
        pupil=pupil,
        label=label(pupil),
        flags=flags(pupil),
        percent=_year_percent(session, pupil, today),
        open_case=open_case,
        case_day=case_day,
        items=items,
        truncated=truncated,
    )


def _year_percent(session: Session, pupil: Pupil, today: date) -> float | None:
    """Attendance over the last 365 days, or None with no marks."""
    year_codes = session.exec(
        select(Mark.code).where(
            Mark.pupil_id == pupil.id, Mark.date <= today, Mark.date >= today - timedelta(days=365)
        )
    ).all()
    return tally(list(year_codes)).percent if year_codes else None


def _marks(session: Session, pupil: Pupil, since_day: date, tz) -> list[TimelineItem]:
    marks = session.exec(
        select(Mark.date, Mark.session, Mark.code)
        .where(Mark.pupil_id == pupil.id, Mark.date >= since_day)
        .order_by(Mark.date, Mark.session)
    ).all()
    by_day: dict[date, list[str]] = {}
    for d, s, c in marks:
        by_day.setdefault(d, []).append(f"{s} {c}")
    return [
        TimelineItem(clock.at_local(d, time(8, 0), tz), "marks", f"Register {d:%a %d %b}: {', '.join(parts)}")
        for d, parts in by_day.items()
    ]


def _case_ids(pupil: Pupil):
    return select(AbsenceCase.id).where(AbsenceCase.pupil_id == pupil.id)


def _messages(session: Session, pupil: Pupil, since: datetime) -> list[TimelineItem]:
    contact_ids = select(PupilContact.contact_id).where(PupilContact.pupil_id == pupil.id)
    message_ids = select(MessageCase.message_id).where(MessageCase.case_id.in_(_case_ids(pupil)))
    items = []
    for m in session.exec(
        select(OutboxMessage).where(
            OutboxMessage.school_id == pupil.school_id,
            OutboxMessage.created_at >= since,
            or_(OutboxMessage.id.in_(message_ids), OutboxMessage.contact_id.in_(contact_ids)),
        )
    ).all():
        who = "to staff (worker / DSL)" if m.kind in STAFF_KINDS else "to family"
        what = (
            f"Automated call ({m.kind.replace('_', ' ')}) {who}"
            if m.channel == "voice"
            else f"{m.channel.upper()} {m.kind.replace('_', ' ')} {who}"
        )
        items.append(TimelineItem(m.created_at, "message", f"{what}: {m.status}{_call_outcome(session, m)}"))
    return items


def _call_outcome(session: Session, message: OutboxMessage) -> str:
    """What happened on an automated call, for the timeline (a message left: its recording)."""
    if message.channel != "voice":
        return ""
    call = session.get(VoiceCall, message.id)
    if call is None or call.outcome in ("placed", "answered"):
        return ""
    listen = f" — listen: {call.recording_url}" if call.recording_url else ""
    return f", {call.outcome.replace('_', ' ')}{listen}"


def _replies(session: Session, pupil: Pupil, since: datetime, *, shared: bool) -> list[TimelineItem]:
    items = []
    for r in session.exec(
        select(InboundMessage)
        .join(ReplyCase, ReplyCase.inbound_id == InboundMessage.id)
        .where(ReplyCase.case_id.in_(_case_ids(pupil)), InboundMessage.received_at >= since)
        .distinct()
    ).all():
        read = f" → {r.code}" if r.code else ""
        back = f", back {r.return_date:%a %d %b}" if r.return_date else ""
        concern = " ⚠ concern" if r.concern else ""
        said = (
            "(a possible welfare concern: the words are not shown in a channel)"
            if r.concern and shared
            else f"“{_short(r.body)}”"
        )
        items.append(TimelineItem(r.received_at, "reply", f"Reply: {said}{read}{back}{concern}"))
    return items


def _calls(session: Session, pupil: Pupil, since: datetime) -> list[TimelineItem]:
    items = []
    for c, who in session.exec(
        select(CallLog, Staff.name)
        .outerjoin(Staff, Staff.id == CallLog.staff_id)
        .where(CallLog.pupil_id == pupil.id, CallLog.at >= since)
    ).all():
        note = f": {_short(c.note)}" if c.note else ""
        items.append(TimelineItem(c.at, "call", f"Call ({c.outcome}) by {who or 'staff'}{note}"))
    return items


def _alerts(session: Session, pupil: Pupil, since: datetime, *, dsl: bool) -> list[TimelineItem]:
    alerts = select(Alert).where(Alert.pupil_id == pupil.id, Alert.created_at >= since)
    if not dsl:
        alerts = alerts.where(Alert.audience != "dsl")
    return [
        TimelineItem(a.created_at, "alert", f"Alert ({a.severity}): {a.title} [{a.status}]")
        for a in session.exec(alerts).all()
    ]


def _amendments(session: Session, pupil: Pupil, since: datetime) -> list[TimelineItem]:
    return [
        TimelineItem(
            am.amended_at,
            "amendment",
            f"Mark {am.date:%a %d %b} {am.session}: {am.original_code} → {am.amended_code} "
            f"by {am.amended_by_name} ({am.amended_by_role.replace('_', ' ')}): {_short(am.reason)}",
        )
        for am in session.exec(
            select(MarkAmendment).where(MarkAmendment.pupil_id == pupil.id, MarkAmendment.amended_at >= since)
        ).all()
    ]


def _events(session: Session, pupil: Pupil, since: datetime, *, dsl: bool) -> list[TimelineItem]:
    shown_elsewhere = {"alert", "mark_amended", "call", "refused"}
    items = []
    for e in session.exec(
        select(CaseEvent).where(
            CaseEvent.pupil_id == pupil.id, CaseEvent.at >= since, CaseEvent.kind.not_in(shown_elsewhere)
        )
    ).all():
        if e.kind == "alert_action" and not dsl and _dsl_alert(session, e):
            continue
        items.append(TimelineItem(e.at, e.kind, e.summary))
    return items


def _dsl_alert(session: Session, event: CaseEvent) -> bool:
    alert_id = (event.data or {}).get("alert_id")
    alert = session.get(Alert, alert_id) if alert_id else None
    return bool(alert and alert.audience == "dsl")


def _short(text: str, n: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"
