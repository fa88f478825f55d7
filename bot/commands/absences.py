"""``/absences``: pupils with an N mark on a day, most urgent first, with their case's state.

Everything is counted in SQL (messages sent, delivered and failed, replies, calls) so the list stays
one query however many pupils are off. The order is ``bot.pupils.urgency``, the order register
close contacted the families in.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, or_
from sqlmodel import Session, select

from bot.alerts.notify import STAFF_KINDS
from bot.calendar import load_calendar
from bot.commands.common import check_school_day
from bot.policy import policy_for
from bot.pupils import flags, named, urgency
from storage.models import AbsenceCase, CallLog, Mark, MessageCase, OutboxMessage, Pupil, ReplyCase, Staff

SENT = ("accepted", "sent", "delivered")
FAILED = ("failed", "undelivered")


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
        return named(self.name, self.year_group, self.class_name)


def absences(
    session: Session, *, staff: Staff, day: date, year: int | None = None, class_name: str | None = None
) -> list[AbsenceRow]:
    """Pupils with an N mark on ``day``, most urgent first, with their case's state counted in SQL."""
    school_id = staff.school_id
    calendar = load_calendar(session, school_id)
    check_school_day(session, school_id=school_id, day=day, calendar=calendar)
    query = _query(school_id=school_id, day=day, year=year, class_name=class_name)
    policy = policy_for(session, school_id)
    rows, order = [], {}
    for p, *counts in session.exec(query).all():
        order[p.id] = urgency(p, policy)
        rows.append(_row(p, *counts, day_number=calendar.school_day_number, day=day))
    from bot.commands.notices import annotate

    annotate(session, rows, day=day)
    return sorted(rows, key=lambda r: order[r.pupil_id])


def _row(
    p: Pupil,
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
    *,
    day_number,
    day: date,
) -> AbsenceRow:
    return AbsenceRow(
        pupil_id=p.id,
        name=f"{p.display_first_name} {p.last_name}",
        year_group=p.year_group,
        class_name=p.class_name,
        vulnerable=p.vulnerable,
        flags=flags(p),
        sessions=[s for s, n in (("AM", am), ("PM", pm)) if n],
        case_id=case_id,
        case_status=status,
        day_number=day_number(first, day) if first else None,
        suggested_code=suggested,
        sent=int(sent or 0),
        delivered=int(delivered or 0),
        failed=int(failed or 0),
        replies=int(n_replies or 0),
        calls=int(n_calls or 0),
        automated_calls=int(n_voice or 0),
    )


def _query(*, school_id: int, day: date, year: int | None, class_name: str | None):
    """One row per pupil with an N mark: the pupil, N sessions, their case and its counts."""
    n_marks, case_ids, msgs, replies, calls = _subqueries(school_id=school_id, day=day)
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
    return query


def _subqueries(*, school_id: int, day: date):
    """N sessions per pupil, each pupil's case that day, and per case: messages, replies, calls."""
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
    return n_marks, case_ids, msgs, replies, calls
