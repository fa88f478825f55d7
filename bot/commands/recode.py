"""``/recode``: staff change a pupil's marks through the register's one audited door
(``register.service.recode``)."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from bot import codes
from bot.commands.common import actor_of, check_school_day
from bot.errors import NotFound, UserError
from storage.models import AbsenceCase, Mark, MarkAmendment, Pupil, Staff


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
