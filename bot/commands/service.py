"""What the staff commands do, whichever chat tool they came from.

Every function takes the acting ``Staff`` row and works only inside that person's school. Writes go
through the domain's own doors: ``register.service.recode`` for marks, ``cases.service`` for the
case log and explanations, ``alerts.actions.act`` for alerts.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import case, func, or_
from sqlmodel import Session, select

from bot import clock, codes
from bot.actors import Actor
from bot.alerts.notify import STAFF_KINDS
from bot.attendance import tally
from bot.calendar import load_calendar
from bot.commands.identity import DSL_ROLES
from bot.commands.pupils import label
from bot.errors import NotFound, PermissionDenied, UserError
from bot.policy import policy_for
from bot.pupils import flags
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

SENT = ("accepted", "sent", "delivered")
FAILED = ("failed", "undelivered")
TIMELINE_DAYS = 14
TIMELINE_MAX = 40

def actor_of(staff: Staff) -> Actor:
    return Actor.of(staff)


def school_today(session: Session, school_id: int, *, now: datetime) -> date:
    """The school's date at ``now`` (in its own zone)."""
    school = session.get(School, school_id)
    return clock.to_local(now, school.timezone if school else None).date()


def check_school_day(session: Session, *, school_id: int, day: date, calendar=None) -> None:
    why = (calendar or load_calendar(session, school_id)).why_not(day)
    if why:
        raise UserError(f"{why}, not a school day. Pick a school day.")


# --------------------------------------------------------------------------------------------------
# /absences
# --------------------------------------------------------------------------------------------------


@dataclass
class AbsenceRow:
    pupil_id: int
    name: str
    year_group: int | None
    class_name: str | None
    vulnerable: bool
    flags: list[str]
    sessions: list[str]
    case_id: int | None
    case_status: str | None
    day_number: int | None
    suggested_code: str | None
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    replies: int = 0
    calls: int = 0
    automated_calls: int = 0  # of the messages, automated calls to the family (bot.calls)
    notice: str | None = None  # "reported by parent: illness (I), back Wed 25 Nov" (bot.notices)
    notice_alert_id: int | None = None  # the alert to accept or pick the code on

    @property
    def label(self) -> str:
        year = (
            "Reception"
            if self.year_group == 0
            else (f"Year {self.year_group}" if self.year_group is not None else None)
        )
        extra = ", ".join(x for x in (year, self.class_name) if x)
        return f"{self.name} ({extra})" if extra else self.name


def absences(
    session: Session, *, staff: Staff, day: date, year: int | None = None, class_name: str | None = None
) -> list[AbsenceRow]:
    """Pupils with an N mark on ``day``, most urgent first, with their case's state counted in SQL."""
    school_id = staff.school_id
    calendar = load_calendar(session, school_id)
    check_school_day(session, school_id=school_id, day=day, calendar=calendar)
    n_marks = (
        select(
            Mark.pupil_id.label("pupil_id"),
            func.sum(case((Mark.session == "AM", 1), else_=0)).label("am"),
            func.sum(case((Mark.session == "PM", 1), else_=0)).label("pm"),
        )
        .where(Mark.school_id == school_id, Mark.date == day, Mark.code == "N")
        .group_by(Mark.pupil_id)
        .subquery()
    )
    case_ids = (
        select(AbsenceCase.pupil_id.label("pupil_id"), func.max(AbsenceCase.id).label("case_id"))
        .where(
            AbsenceCase.school_id == school_id,
            AbsenceCase.first_date <= day,
            or_(AbsenceCase.status == "open", AbsenceCase.last_absent_date >= day),
        )
        .group_by(AbsenceCase.pupil_id)
        .subquery()
    )
    msgs = (
        select(
            MessageCase.case_id.label("case_id"),
            func.sum(case((OutboxMessage.status.in_(SENT), 1), else_=0)).label("sent"),
            func.sum(case((OutboxMessage.status == "delivered", 1), else_=0)).label("delivered"),
            func.sum(case((OutboxMessage.status.in_(FAILED), 1), else_=0)).label("failed"),
            func.sum(case((OutboxMessage.channel == "voice", 1), else_=0)).label("voice"),
        )
        .join(OutboxMessage, OutboxMessage.id == MessageCase.message_id)
        .where(OutboxMessage.school_id == school_id, OutboxMessage.kind.not_in(STAFF_KINDS))
        .group_by(MessageCase.case_id)
        .subquery()
    )
    replies = (
        select(ReplyCase.case_id.label("case_id"), func.count().label("n"))
        .group_by(ReplyCase.case_id)
        .subquery()
    )
    calls = (
        select(CallLog.case_id.label("case_id"), func.count().label("n"))
        .where(CallLog.school_id == school_id)
        .group_by(CallLog.case_id)
        .subquery()
    )
    query = (
        select(
            Pupil,
            n_marks.c.am,
            n_marks.c.pm,
            AbsenceCase.id,
            AbsenceCase.status,
            AbsenceCase.first_date,
            AbsenceCase.suggested_code,
            msgs.c.sent,
            msgs.c.delivered,
            msgs.c.failed,
            replies.c.n,
            calls.c.n,
            msgs.c.voice,
        )
        .select_from(n_marks)
        .join(Pupil, Pupil.id == n_marks.c.pupil_id)
        .outerjoin(case_ids, case_ids.c.pupil_id == Pupil.id)
        .outerjoin(AbsenceCase, AbsenceCase.id == case_ids.c.case_id)
        .outerjoin(msgs, msgs.c.case_id == AbsenceCase.id)
        .outerjoin(replies, replies.c.case_id == AbsenceCase.id)
        .outerjoin(calls, calls.c.case_id == AbsenceCase.id)
        .where(Pupil.school_id == school_id, Pupil.on_roll)
    )
    if year is not None:
        query = query.where(Pupil.year_group == year)
    if class_name:
        query = query.where(func.lower(Pupil.class_name) == class_name.lower())
    rows = []
    for (
        p,
        am,
        pm,
        case_id,
        status,
        first,
        suggested,
        sent,
        delivered,
        failed,
        n_replies,
        n_calls,
        n_voice,
    ) in session.exec(query).all():
        rows.append(
            AbsenceRow(
                pupil_id=p.id,
                name=f"{p.display_first_name} {p.last_name}",
                year_group=p.year_group,
                class_name=p.class_name,
                vulnerable=p.vulnerable,
                flags=flags(p),
                sessions=[s for s, n in (("AM", am), ("PM", pm)) if n],
                case_id=case_id,
                case_status=status,
                day_number=calendar.school_day_number(first, day) if first else None,
                suggested_code=suggested,
                sent=int(sent or 0),
                delivered=int(delivered or 0),
                failed=int(failed or 0),
                replies=int(n_replies or 0),
                calls=int(n_calls or 0),
                automated_calls=int(n_voice or 0),
            )
        )
    from bot.commands.notices import annotate

    annotate(session, rows, day=day)
    policy = policy_for(session, school_id)
    priority = {y: i for i, y in enumerate(policy.priority_year_groups or [])}

    def urgency(r: AbsenceRow):
        vulnerable_rank = 0 if (r.vulnerable and policy.vulnerable_first) else 1
        year_rank = priority.get(r.year_group, len(priority))
        return (vulnerable_rank, year_rank, r.name.split(" ", 1)[-1].lower(), r.name.lower())

    return sorted(rows, key=urgency)


# --------------------------------------------------------------------------------------------------
# /call
# --------------------------------------------------------------------------------------------------


@dataclass
class CallOutcome:
    call: CallLog
    pupil: Pupil
    case: AbsenceCase | None
    explained: bool
    code: str | None
    return_date: date | None
    concern: bool = False
    notices: list = field(default_factory=list)  # what the family said, as sessions covered


def _reason_code(text: str, today: date, is_school_day) -> tuple[str | None, date | None, bool]:
    """A reason heard on the phone, mapped to a national code when the reply reader is sure enough."""
    try:
        from bot.replies.understand import understand
    except ImportError:  # the reply reader is optional; keep the words
        return None, None, False
    u = understand(text, today, is_school_day=is_school_day)
    code = u.code if u.code in codes.CODES and u.code != "N" and u.confidence >= 0.5 else None
    return code, u.return_date, u.concern


def log_call(
    session: Session, *, staff: Staff, pupil: Pupil, outcome: str, note: str, today: date, now: datetime
) -> CallOutcome:
    """A call to the family: a ``CallLog`` row and a case event; ``spoke`` with a reason explains."""
    if outcome == "spoke" and not note.strip():
        raise UserError(
            "You spoke to the family: add what they said, e.g. "
            f"/call {pupil.first_name} {pupil.last_name} spoke ill, back tomorrow"
        )
    from bot.cases.service import explain, log, open_case_for

    actor = actor_of(staff)
    case_row = open_case_for(session, pupil.id)
    code = return_date = None
    concern = False
    if outcome == "spoke":
        calendar = load_calendar(session, pupil.school_id)
        code, return_date, concern = _reason_code(note, today, calendar.is_school_day)
    call = CallLog(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        case_id=case_row.id if case_row else None,
        staff_id=staff.id,
        outcome=outcome,
        reason_code=code,
        note=note.strip(),
        at=now,
    )
    session.add(call)
    session.flush()
    log(
        session,
        school_id=pupil.school_id,
        case_id=call.case_id,
        pupil_id=pupil.id,
        kind="call",
        summary=f"Call: {outcome}" + (f" — {note.strip()}" if note.strip() else ""),
        actor=actor.label,
        data={"call_id": call.id, "outcome": outcome, "code": code},
        now=now,
    )
    explained = False
    if outcome == "spoke" and case_row is not None:
        explained = explain(
            session,
            case=case_row,
            by="call",
            actor=actor,
            code=code,
            return_date=return_date,
            summary=f"Reason given on a call with {staff.name}: {note.strip()}",
            now=now,
        )
    taken = []
    if outcome == "spoke" and not concern:
        from bot.commands.notices import from_call  # "/call ... back Wednesday" covers to Wednesday

        taken = from_call(session, staff=staff, pupil=pupil, note=note.strip(), code=code, back=return_date,
                          today=today, now=now)
    session.flush()
    return CallOutcome(
        call=call,
        pupil=pupil,
        case=case_row,
        explained=explained,
        code=code,
        return_date=return_date,
        concern=concern,
        notices=taken,
    )


# --------------------------------------------------------------------------------------------------
# /recode
# --------------------------------------------------------------------------------------------------


@dataclass
class RecodeOutcome:
    pupil: Pupil
    day: date
    sessions: list[str]
    code: str
    amendments: list[MarkAmendment]
    case: AbsenceCase | None


def recode(
    session: Session,
    *,
    staff: Staff,
    pupil: Pupil,
    code: str,
    day: date,
    sessions: list[str] | None,
    reason: str,
    now: datetime,
) -> RecodeOutcome:
    from bot.register.service import recode as register_recode

    try:
        code = codes.lookup(code).code
    except codes.UnknownCode as exc:
        raise UserError(str(exc)) from None
    check_school_day(session, school_id=pupil.school_id, day=day)
    if not sessions:
        sessions = sorted(
            session.exec(select(Mark.session).where(Mark.pupil_id == pupil.id, Mark.date == day)).all()
        )
        if not sessions:
            raise NotFound(f"{pupil.first_name} has no marks on {day:%a %d %b %Y} yet.")
    amendments = register_recode(
        session,
        school_id=staff.school_id,
        pupil_id=pupil.id,
        day=day,
        sessions=list(sessions),
        new_code=code,
        reason=reason,
        actor=actor_of(staff),
        now=now,
    )
    latest = session.exec(
        select(AbsenceCase).where(AbsenceCase.pupil_id == pupil.id).order_by(AbsenceCase.id.desc())
    ).first()
    return RecodeOutcome(
        pupil=pupil, day=day, sessions=list(sessions), code=code, amendments=amendments, case=latest
    )


# --------------------------------------------------------------------------------------------------
# /pupil
# --------------------------------------------------------------------------------------------------


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


def _call_outcome(session: Session, message: OutboxMessage) -> str:
    """What happened on an automated call, for the timeline (a message left: its recording)."""
    if message.channel != "voice":
        return ""
    call = session.get(VoiceCall, message.id)
    if call is None or call.outcome in ("placed", "answered"):
        return ""
    listen = f" — listen: {call.recording_url}" if call.recording_url else ""
    return f", {call.outcome.replace('_', ' ')}{listen}"


def timeline(session: Session, *, staff: Staff, pupil: Pupil, today: date, shared: bool = False) -> Timeline:
    """Everything that happened about a pupil in the last two weeks, oldest first.

    ``shared``: shown to a channel, so DSL-only alerts and actions are left out even for the DSL."""
    sees_dsl = staff.role in DSL_ROLES and not shared
    school = session.get(School, pupil.school_id)
    tz = school.timezone if school else None
    since_day = today - timedelta(days=TIMELINE_DAYS)
    since = clock.at_local(since_day, time(0, 0), tz)
    items: list[TimelineItem] = []

    marks = session.exec(
        select(Mark.date, Mark.session, Mark.code)
        .where(Mark.pupil_id == pupil.id, Mark.date >= since_day)
        .order_by(Mark.date, Mark.session)
    ).all()
    by_day: dict[date, list[str]] = {}
    for d, s, c in marks:
        by_day.setdefault(d, []).append(f"{s} {c}")
    for d, parts in by_day.items():
        items.append(
            TimelineItem(
                clock.at_local(d, time(8, 0), tz), "marks", f"Register {d:%a %d %b}: " + ", ".join(parts)
            )
        )

    case_ids = select(AbsenceCase.id).where(AbsenceCase.pupil_id == pupil.id)
    contact_ids = select(PupilContact.contact_id).where(PupilContact.pupil_id == pupil.id)
    message_ids = select(MessageCase.message_id).where(MessageCase.case_id.in_(case_ids))
    for m in session.exec(
        select(OutboxMessage).where(
            OutboxMessage.school_id == pupil.school_id,
            OutboxMessage.created_at >= since,
            or_(OutboxMessage.id.in_(message_ids), OutboxMessage.contact_id.in_(contact_ids)),
        )
    ).all():
        who = "to staff (worker / DSL)" if m.kind in STAFF_KINDS else "to family"
        what = (f"Automated call ({m.kind.replace('_', ' ')}) {who}" if m.channel == "voice"
                else f"{m.channel.upper()} {m.kind.replace('_', ' ')} {who}")
        items.append(TimelineItem(m.created_at, "message", f"{what}: {m.status}{_call_outcome(session, m)}"))

    for r in session.exec(
        select(InboundMessage)
        .join(ReplyCase, ReplyCase.inbound_id == InboundMessage.id)
        .where(ReplyCase.case_id.in_(case_ids), InboundMessage.received_at >= since)
        .distinct()
    ).all():
        read = f" → {r.code}" if r.code else ""
        back = f", back {r.return_date:%a %d %b}" if r.return_date else ""
        concern = " ⚠ concern" if r.concern else ""
        said = "(a possible welfare concern: the words are not shown in a channel)" if r.concern and shared \
            else f"“{_short(r.body)}”"
        items.append(TimelineItem(r.received_at, "reply", f"Reply: {said}{read}{back}{concern}"))

    for c, who in session.exec(
        select(CallLog, Staff.name)
        .outerjoin(Staff, Staff.id == CallLog.staff_id)
        .where(CallLog.pupil_id == pupil.id, CallLog.at >= since)
    ).all():
        note = f": {_short(c.note)}" if c.note else ""
        items.append(TimelineItem(c.at, "call", f"Call ({c.outcome}) by {who or 'staff'}{note}"))

    alerts = select(Alert).where(Alert.pupil_id == pupil.id, Alert.created_at >= since)
    if not sees_dsl:
        alerts = alerts.where(Alert.audience != "dsl")
    for a in session.exec(alerts).all():
        items.append(TimelineItem(a.created_at, "alert", f"Alert ({a.severity}): {a.title} [{a.status}]"))

    for am in session.exec(
        select(MarkAmendment).where(MarkAmendment.pupil_id == pupil.id, MarkAmendment.amended_at >= since)
    ).all():
        items.append(
            TimelineItem(
                am.amended_at,
                "amendment",
                f"Mark {am.date:%a %d %b} {am.session}: {am.original_code} → {am.amended_code} "
                f"by {am.amended_by_name} ({am.amended_by_role.replace('_', ' ')}): {_short(am.reason)}",
            )
        )

    shown_elsewhere = {"alert", "mark_amended", "call", "refused"}
    for e in session.exec(
        select(CaseEvent).where(
            CaseEvent.pupil_id == pupil.id, CaseEvent.at >= since, CaseEvent.kind.not_in(shown_elsewhere)
        )
    ).all():
        if e.kind == "alert_action" and not sees_dsl and _dsl_alert(session, e):
            continue
        items.append(TimelineItem(e.at, e.kind, e.summary))

    items.sort()
    truncated = max(0, len(items) - TIMELINE_MAX)
    items = items[truncated:]

    year_codes = session.exec(
        select(Mark.code).where(
            Mark.pupil_id == pupil.id, Mark.date <= today, Mark.date >= today - timedelta(days=365)
        )
    ).all()
    percent = tally(list(year_codes)).percent if year_codes else None
    from bot.cases.service import open_case_for

    open_case = open_case_for(session, pupil.id)
    case_day = None
    if open_case is not None:
        case_day = load_calendar(session, pupil.school_id).school_day_number(open_case.first_date, today)
    return Timeline(
        pupil=pupil,
        label=label(pupil),
        flags=flags(pupil),
        percent=percent,
        open_case=open_case,
        case_day=case_day,
        items=items,
        truncated=truncated,
    )


def _dsl_alert(session: Session, event: CaseEvent) -> bool:
    alert_id = (event.data or {}).get("alert_id")
    alert = session.get(Alert, alert_id) if alert_id else None
    return bool(alert and alert.audience == "dsl")


def _short(text: str, n: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


# --------------------------------------------------------------------------------------------------
# act on an alert
# --------------------------------------------------------------------------------------------------


def act(
    session: Session, *, staff: Staff, alert_id: int, action: str, now: datetime, note: str = ""
) -> Alert:
    from bot.commands.acting import act as alert_act

    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"There is no alert {alert_id}.")
    if alert.school_id != staff.school_id:
        raise PermissionDenied(f"Sorry, alert {alert_id} belongs to another school.")
    if alert.audience == "dsl" and staff.role not in DSL_ROLES:
        raise PermissionDenied("Sorry, only the DSL or the headteacher can act on this alert.")
    return alert_act(session, alert_id=alert_id, action=action, actor=actor_of(staff), note=note, now=now)
