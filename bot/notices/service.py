"""Recording what a family told the school about an absence, and asking which sessions it covers.

A notice is a stored fact (``AbsenceNotice``): one child, the first and last session covered, the
family's words verbatim, what the reply reader understood, the suggested code, where it came from
and who gave it. Every door writes it through ``record``: a text or email before the register, a
reply to the bot's message (``bot.replies``), the "report an absence" page, a call logged with
``/call`` and a notice staff take at the office (``bot.commands``).

A newer notice for the same child supersedes the parts of older ones it overlaps (the family's
latest word counts: "better now, back tomorrow" shortens "back next week"). A notice is evidence,
like a reply: staff still choose the code. When they accept it (``remember_acceptance``), the code
is kept on the notice so the later sessions it covers are recoded with the same decision at their
register close (``bot.notices.close``).
"""

from datetime import date, datetime

from sqlmodel import Session, select

from bot.actors import Actor
from bot.alerts.service import raise_alert
from bot.cases import service as cases
from bot.notices import wording
from bot.notices.spans import Span, order, previous_session
from storage.models import AbsenceCase, AbsenceNotice, Pupil

SOURCES = ("sms", "email", "reply_page", "report_form", "call", "staff")
ACTIVE = "active"


def covers(notice: AbsenceNotice, day: date, session_name: str) -> bool:
    """True when the notice is active and ``(day, session)`` lies inside it."""
    return notice.status == ACTIVE and span_of(notice).covers(day, session_name)


def span_of(notice: AbsenceNotice) -> Span:
    return Span(
        notice.first_date, notice.first_session, notice.last_date, notice.last_session, notice.return_date
    )


def record(
    session: Session,
    *,
    pupil: Pupil,
    span: Span,
    words: str,
    understood: str,
    suggested_code: str | None,
    source: str,
    reported_by: str,
    now: datetime,
    contact_id: int | None = None,
    staff_id: int | None = None,
    inbound_id: int | None = None,
    case: AbsenceCase | None = None,
    child_named: bool = True,
) -> AbsenceNotice:
    """Store one notice for one child, supersede the overlapping parts of older ones, log it on the case.

    A notice naming a child who is not on roll is stored all the same (what the family said is kept)
    and listed for the attendance officer at once.
    """
    assert source in SOURCES, source
    notice = AbsenceNotice(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        first_date=span.first_date,
        first_session=span.first_session,
        last_date=span.last_date,
        last_session=span.last_session,
        return_date=span.return_date,
        words=words,
        child_named=child_named,
        understood=understood,
        suggested_code=suggested_code,
        source=source,
        reported_by=reported_by,
        contact_id=contact_id,
        staff_id=staff_id,
        inbound_id=inbound_id,
        case_id=case.id if case else None,
        received_at=now,
        status=ACTIVE,
    )
    session.add(notice)
    session.flush()
    _keep_acceptance(notice, superseded=_supersede(session, notice=notice))
    _log_on_case(session, notice=notice, pupil=pupil, now=now)
    if not pupil.on_roll:
        raise_not_on_roll(session, notice=notice, pupil=pupil, now=now)
    return notice


def _keep_acceptance(notice: AbsenceNotice, *, superseded: list[AbsenceNotice]) -> None:
    """Carry over a code staff accepted for the same absence, told again by the family.

    "Still poorly, back Friday now" supersedes the first notice but not staff's decision on it,
    unless the new notice suggests a different code.
    """
    for old in superseded:
        if (
            old.case_id == notice.case_id is not None
            and old.accepted_code
            and not notice.accepted_code
            and notice.suggested_code in (None, old.accepted_code)
        ):
            notice.accepted_code, notice.accepted_staff_id = old.accepted_code, old.accepted_staff_id
            notice.accepted_at = old.accepted_at


def _log_on_case(session: Session, *, notice: AbsenceNotice, pupil: Pupil, now: datetime) -> None:
    """The notice in the case log, so whoever opens the child's history sees what the family said."""
    cases.log(
        session,
        school_id=pupil.school_id,
        case_id=notice.case_id,
        pupil_id=pupil.id,
        kind="notice",
        summary=wording.logged_summary(notice),
        actor=notice.reported_by or notice.source,
        data={
            "notice_id": notice.id,
            "source": notice.source,
            "code": notice.suggested_code,
            "first": notice.first_date.isoformat(),
            "last": notice.last_date.isoformat() if notice.last_date else None,
        },
        now=now,
    )


def _supersede(session: Session, *, notice: AbsenceNotice) -> list[AbsenceNotice]:
    """End older active notices of the child where the new one begins (or withdraw them outright)."""
    older = session.exec(
        select(AbsenceNotice).where(
            AbsenceNotice.pupil_id == notice.pupil_id,
            AbsenceNotice.status == ACTIVE,
            AbsenceNotice.id != notice.id,
        )
    ).all()
    start = order(notice.first_date, notice.first_session)
    overlapped = []
    for old in older:
        old_last = order(old.last_date, old.last_session or "PM") if old.last_date else None
        if old_last is not None and old_last < start:
            continue  # finished before the new one starts: nothing overlaps
        if order(old.first_date, old.first_session) >= start:
            old.status, old.ended_reason = "withdrawn", f"superseded by notice {notice.id}"
        else:
            # Keep the part before the new notice: the session just before its first one.
            if notice.first_session == "PM":
                old.last_date, old.last_session = notice.first_date, "AM"
            else:
                old.last_date, old.last_session = _day_before(session, notice), "PM"
        session.add(old)
        overlapped.append(old)
    return overlapped


def _day_before(session: Session, notice: AbsenceNotice) -> date:
    from bot.calendar import load_calendar

    before = previous_session(notice.first_date, "AM", load_calendar(session, notice.school_id))
    return before[0] if before else notice.first_date


def active_for(session: Session, *, pupil_ids: list[int], day: date) -> list[AbsenceNotice]:
    """Active notices of these pupils that may cover some session of ``day``, newest first."""
    if not pupil_ids:
        return []
    return list(
        session.exec(
            select(AbsenceNotice)
            .where(
                AbsenceNotice.pupil_id.in_(pupil_ids),
                AbsenceNotice.status == ACTIVE,
                AbsenceNotice.first_date <= day,
                (AbsenceNotice.last_date.is_(None)) | (AbsenceNotice.last_date >= day),
            )
            .order_by(AbsenceNotice.received_at.desc(), AbsenceNotice.id.desc())
        ).all()
    )


def covering(
    session: Session, *, pupil_ids: list[int], day: date, session_name: str
) -> dict[int, AbsenceNotice]:
    """Pupil id -> the newest active notice covering that session, for the pupils that have one."""
    found: dict[int, AbsenceNotice] = {}
    for notice in active_for(session, pupil_ids=pupil_ids, day=day):
        if notice.pupil_id not in found and covers(notice, day, session_name):
            found[notice.pupil_id] = notice
    return found


def end(session: Session, *, notice: AbsenceNotice, before: tuple[date, str] | None, why: str) -> None:
    """Stop a notice covering anything from ``before`` on (the child was seen, staff withdrew it)."""
    if before is None or order(*before) < order(notice.first_date, notice.first_session):
        notice.status = "withdrawn"
    else:
        notice.last_date, notice.last_session = before
        notice.status = "ended"
    notice.ended_reason = why
    session.add(notice)


def remember_acceptance(
    session: Session, *, case_id: int | None, code: str, actor: Actor, now: datetime
) -> int:
    """Staff accepted (or picked) a code for a case: keep it on the case's active notices.

    Later sessions those notices cover are then recoded at register close with this decision,
    naming this member of staff, instead of asking them again for every half day.
    """
    if case_id is None or actor.staff_id is None:
        return 0
    rows = session.exec(
        select(AbsenceNotice).where(AbsenceNotice.case_id == case_id, AbsenceNotice.status == ACTIVE)
    ).all()
    for notice in rows:
        notice.accepted_code, notice.accepted_staff_id, notice.accepted_at = code, actor.staff_id, now
        session.add(notice)
    return len(rows)


def raise_not_on_roll(session: Session, *, notice: AbsenceNotice, pupil: Pupil, now: datetime) -> None:
    title, body = wording.discrepancy_text("not_on_roll", notice=notice, pupil=pupil)
    raise_alert(
        session,
        school_id=notice.school_id,
        key=f"notice-offroll:{notice.id}",
        kind="notice_discrepancy",
        title=title,
        body=body,
        audience="attendance",
        severity="normal",
        pupil_id=pupil.id,
        data={
            "notice_id": notice.id,
            "why": "not_on_roll",
            "reply": notice.words,
            "actions": ["acknowledge"],
        },
        now=now,
    )
