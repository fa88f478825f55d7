"""``/call``: staff record a call to the family; a reason heard on the phone explains the absence.

The call is a ``CallLog`` row and a case event; "spoke" with a reason the reply reader is sure of
explains the case (``cases.service.explain``), and "back Wednesday" records the sessions the family
said the child would miss (``commands.notices.from_call``).
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session

from bot import codes
from bot.calendar import load_calendar
from bot.commands.common import actor_of
from bot.errors import UserError
from storage.models import AbsenceCase, CallLog, Pupil, Staff


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
    from bot.cases.service import explain, open_case_for

    actor = actor_of(staff)
    case_row = open_case_for(session, pupil.id)
    code = return_date = None
    concern = False
    if outcome == "spoke":
        calendar = load_calendar(session, pupil.school_id)
        code, return_date, concern = _reason_code(note, today, calendar.is_school_day)
    call = _record(
        session, staff=staff, pupil=pupil, case_row=case_row, outcome=outcome, note=note, code=code, now=now
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

        taken = from_call(
            session,
            staff=staff,
            pupil=pupil,
            note=note.strip(),
            code=code,
            back=return_date,
            today=today,
            now=now,
        )
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


def _record(
    session: Session,
    *,
    staff: Staff,
    pupil: Pupil,
    case_row: AbsenceCase | None,
    outcome: str,
    note: str,
    code: str | None,
    now: datetime,
) -> CallLog:
    """The ``CallLog`` row and its case event."""
    from bot.cases.service import log

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
        actor=actor_of(staff).label,
        data={"call_id": call.id, "outcome": outcome, "code": code},
        now=now,
    )
    return call
