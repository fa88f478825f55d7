"""``/notice`` and the notices ``/call`` takes: staff writing down what a family told them.

A parent phones the office at 8:20 ("Amelia's got a temperature, back Wednesday"): the notice is read
like a text (``bot.replies.understand``: a suggested code and the day back) and stored with the
sessions it covers (``bot.notices.taking``), so register close sends no "no reason" message and
nobody chases. A notice on a child with an open case explains it. "left for school" is never a
notice: the command refuses and says to follow the missing-child procedure.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, select

from bot import codes
from bot.actors import Actor
from bot.calendar import load_calendar
from bot.cases.service import explain, open_case_for
from bot.commands import grammar
from bot.errors import UserError
from bot.notices import service as notices
from bot.notices.spans import previous_session
from bot.notices.taking import Said, for_cases, without_case
from bot.notices.wording import line
from storage.models import AbsenceCase, AbsenceNotice, Alert, Pupil, School, Staff

IN_SCHOOL = "IN_SCHOOL"


@dataclass
class NoticeOutcome:
    pupil: Pupil
    notices: list[AbsenceNotice] = field(default_factory=list)
    explained_case: AbsenceCase | None = None
    withdrawn: int = 0
    concern: bool = False


def _read(text: str, today: date, calendar) -> tuple[str, str | None, date | None, bool]:
    """(what the reader understood, the national code it suggests, the day back, concern)."""
    from bot.replies.understand import understand

    u = understand(text, today, is_school_day=calendar.is_school_day)
    code = u.code if u.code in codes.CODES and u.code != codes.NO_REASON else None
    return u.code, code, u.return_date, bool(u.concern)


def take(
    session: Session, *, staff: Staff, pupil: Pupil, request: grammar.Notice, today: date, now: datetime
) -> NoticeOutcome:
    """Record (or withdraw) the family's notice for ``pupil`` as ``staff`` heard it."""
    if request.withdraw:
        return NoticeOutcome(pupil=pupil, withdrawn=withdraw(session, pupil=pupil, today=today, staff=staff))
    calendar = load_calendar(session, pupil.school_id)
    understood, code, back, concern = _read(request.text, today, calendar)
    if understood == IN_SCHOOL:
        raise UserError(
            "That sounds like the child left for school and is not here: follow the "
            "missing-child procedure now. No notice was recorded."
        )
    said = Said(
        words=request.text,
        source="staff",
        reported_by=f"{staff.name} (for the family)",
        understood=understood,
        code=code,
        return_date=back,
        staff_id=staff.id,
    )
    return _record(
        session,
        staff=staff,
        pupil=pupil,
        said=said,
        start=request.start,
        open_ended=request.open_ended,
        today=today,
        calendar=calendar,
        concern=concern,
        now=now,
    )


def from_call(
    session: Session,
    *,
    staff: Staff,
    pupil: Pupil,
    note: str,
    code: str | None,
    back: date | None,
    today: date,
    now: datetime,
) -> list[AbsenceNotice]:
    """The notice a ``/call ... spoke`` with a reason (or a day back) leaves: "back Wednesday" counts."""
    if not (code or back):
        return []
    said = Said(
        words=note,
        source="call",
        reported_by=f"{staff.name} (call with the family)",
        understood=code or "NONE",
        code=code,
        return_date=back,
        staff_id=staff.id,
    )
    calendar = load_calendar(session, pupil.school_id)
    outcome = _record(
        session,
        staff=staff,
        pupil=pupil,
        said=said,
        start=None,
        open_ended=False,
        today=today,
        calendar=calendar,
        concern=False,
        now=now,
        explain_case=False,
    )
    return outcome.notices


def _record(
    session: Session,
    *,
    staff: Staff,
    pupil: Pupil,
    said: Said,
    start: date | None,
    open_ended: bool,
    today: date,
    calendar,
    concern: bool,
    now: datetime,
    explain_case: bool = True,
) -> NoticeOutcome:
    """Store the notice: from a given (or said) first day, else against the open case, else with no case.

    A notice with a first day of its own ("off Thursday for the funeral") leaves any open case
    alone: that absence still needs its own reason.
    """
    school = session.get(School, pupil.school_id)
    outcome = NoticeOutcome(pupil=pupil, concern=concern)
    case = open_case_for(session, pupil.id)
    if start is None:
        start = _later_start(said.words, today=today, calendar=calendar)
    if start is not None:
        outcome.notices = _from_later_day(
            session,
            school=school,
            pupil=pupil,
            said=said,
            start=start,
            calendar=calendar,
            open_ended=open_ended,
            now=now,
        )
    elif case is not None:
        if explain_case:
            outcome.explained_case = _explain(session, case=case, staff=staff, said=said, now=now)
        outcome.notices = for_cases(
            session,
            school=school,
            case_list=[case],
            pupils={pupil.id: pupil},
            said=said,
            now=now,
            open_ended=open_ended,
        )
    else:
        outcome.notices = without_case(
            session, school=school, pupils=[pupil], said=said, now=now, open_ended=open_ended
        )
    return outcome


def _later_start(words: str, *, today: date, calendar) -> date | None:
    """The later day the family's words say the absence starts on ("off Thursday"), or None."""
    from bot.replies.dates import absence_start
    from bot.replies.text import normalise

    kind, day = absence_start(normalise(words), today, calendar.is_school_day)
    return day if kind == "later" else None


def _from_later_day(
    session: Session,
    *,
    school: School,
    pupil: Pupil,
    said: Said,
    start: date,
    calendar,
    open_ended: bool,
    now: datetime,
) -> list[AbsenceNotice]:
    """A notice that starts on the first school day from ``start``, with no case behind it.

    A day back on or before that first day makes no sense for this absence, so it is dropped
    rather than stored as an empty span.
    """
    first_day = calendar.next_school_day(start, inclusive=True)
    if first_day is None:
        raise UserError(f"{start:%a %d %b %Y} is after the last school day in the calendar.")
    if said.return_date is not None and said.return_date <= first_day:
        said = Said(**{**said.__dict__, "return_date": None})
    return without_case(
        session,
        school=school,
        pupils=[pupil],
        said=said,
        now=now,
        first=(first_day, "AM"),
        open_ended=open_ended,
    )


def _explain(
    session: Session, *, case: AbsenceCase, staff: Staff, said: Said, now: datetime
) -> AbsenceCase | None:
    """The open case, explained by what the family told ``staff``; None if it was already explained."""
    explained = explain(
        session,
        case=case,
        by="staff",
        actor=Actor.of(staff),
        code=said.code,
        return_date=said.return_date,
        now=now,
        summary=f"Reason the family gave {staff.name}: {said.words}",
    )
    return case if explained else None


def withdraw(session: Session, *, pupil: Pupil, today: date, staff: Staff) -> int:
    """The family's notices stop covering anything from today on (they were wrong, plans changed)."""
    calendar = load_calendar(session, pupil.school_id)
    before = previous_session(today, "AM", calendar)
    rows = session.exec(
        select(AbsenceNotice).where(
            AbsenceNotice.pupil_id == pupil.id,
            AbsenceNotice.status == notices.ACTIVE,
            (AbsenceNotice.last_date.is_(None)) | (AbsenceNotice.last_date >= today),
        )
    ).all()
    for notice in rows:
        notices.end(session, notice=notice, before=before, why=f"withdrawn by {staff.name}")
    return len(rows)


def annotate(session: Session, rows: list, *, day: date) -> None:
    """Mark the /absences rows a family already reported: the notice's line and its open alert."""
    by_pupil = {r.pupil_id: r for r in rows}
    covered: dict[int, AbsenceNotice] = {}
    for notice in notices.active_for(session, pupil_ids=list(by_pupil), day=day):  # newest first
        row = by_pupil[notice.pupil_id]
        if notice.pupil_id not in covered and any(notices.covers(notice, day, s) for s in row.sessions):
            covered[notice.pupil_id] = notice
    if not covered:
        return
    # The alert to act on: the notice's own, or the reply's when the notice came from a reply.
    by_notice, by_case = {}, {}
    for a in session.exec(
        select(Alert)
        .where(Alert.kind.in_(("notice", "reply")), Alert.status == "open", Alert.pupil_id.in_(list(covered)))
        .order_by(Alert.id)
    ).all():
        if "pick_code" not in (a.data or {}).get("actions", []):
            continue
        if a.kind == "notice":
            by_notice[a.data.get("notice_id")] = a.id
        elif a.case_id is not None:
            by_case[a.case_id] = a.id
    for pupil_id, notice in covered.items():
        by_pupil[pupil_id].notice = line(notice)
        by_pupil[pupil_id].notice_alert_id = by_notice.get(notice.id) or by_case.get(notice.case_id)
