"""Taking a notice: the sessions a reason covers, for whoever heard it (a reply, a call, the office).

A reason explains the whole absence, not one session. On a case the family is answering, the notice
runs from the case's first session to the day before the child is back (or to the end of today
when they gave no day back), so the afternoon's N and tomorrow's are not asked about again. A case
explained earlier that the family writes about again ("still poorly today", "back Friday now") gets
a new notice from the first session still to come, which supersedes the old one from there on. With
nothing open, the notice starts on the day the family named, else at the first session whose
register is still to close ("today by default"). Register close reads them (``bot.notices.close``).
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from bot import clock
from bot.calendar import SchoolCalendar, load_calendar
from bot.notices import service as notices
from bot.notices.spans import first_open_session, span_for
from bot.policy import policy_for
from storage.models import AbsenceCase, AbsenceNotice, Pupil, School


@dataclass(frozen=True)
class Said:
    """What was said, how and by whom: one per message or call, shared by the notices it makes."""

    words: str
    source: str  # bot.notices.service.SOURCES
    reported_by: str
    understood: str  # the reader's code: a national code, LATE, NONE
    code: str | None  # the national code suggested, if any
    return_date: date | None
    contact_id: int | None = None
    staff_id: int | None = None
    inbound_id: int | None = None


def _start_now(session: Session, school: School, calendar: SchoolCalendar, now: datetime):
    return first_open_session(
        now, tz=school.timezone, pm_close=policy_for(session, school.id).pm_close, calendar=calendar
    )


def for_cases(
    session: Session,
    *,
    school: School,
    case_list: list[AbsenceCase],
    pupils: dict[int, Pupil],
    said: Said,
    now: datetime,
    open_ended: bool = False,
) -> list[AbsenceNotice]:
    """Notices for a reason given on these cases (see the module docstring)."""
    calendar = load_calendar(session, school.id)
    today = clock.to_local(now, school.timezone).date()
    start_now = _start_now(session, school, calendar, now)
    made = []
    for case in case_list:
        pupil = pupils.get(case.pupil_id) or session.get(Pupil, case.pupil_id)
        if case.explained_at == now or case.status == "open":
            first = (case.first_date, case.first_session)
        elif start_now is not None:
            first = start_now
        else:
            continue
        made.append(
            record(
                session,
                pupil=pupil,
                first=first,
                said=said,
                today=today,
                calendar=calendar,
                case=case,
                now=now,
                open_ended=open_ended,
            )
        )
    return made


def without_case(
    session: Session,
    *,
    school: School,
    pupils: list[Pupil],
    said: Said,
    now: datetime,
    first: tuple[date, str] | None = None,
    named: bool = True,
    open_ended: bool = False,
) -> list[AbsenceNotice]:
    """Notices for a reason given before any case: from ``first``, else the first open session."""
    calendar = load_calendar(session, school.id)
    today = clock.to_local(now, school.timezone).date()
    first = first or _start_now(session, school, calendar, now)
    if first is None:
        return []
    return [
        record(
            session,
            pupil=p,
            first=first,
            said=said,
            today=today,
            calendar=calendar,
            case=None,
            now=now,
            child_named=named,
            open_ended=open_ended,
        )
        for p in pupils
    ]


def record(
    session: Session,
    *,
    pupil: Pupil,
    first: tuple[date, str],
    said: Said,
    today: date,
    calendar: SchoolCalendar,
    case: AbsenceCase | None,
    now: datetime,
    child_named: bool = True,
    open_ended: bool = False,
) -> AbsenceNotice:
    """One child's notice from ``first`` to the day before ``said.return_date`` (or as ``span_for`` says)."""
    span = span_for(
        first_date=first[0],
        first_session=first[1],
        return_date=said.return_date,
        today=today,
        calendar=calendar,
        open_ended=open_ended,
    )
    notice = notices.record(
        session,
        pupil=pupil,
        span=span,
        words=said.words,
        understood=said.understood,
        suggested_code=said.code,
        source=said.source,
        reported_by=said.reported_by,
        contact_id=said.contact_id,
        staff_id=said.staff_id,
        inbound_id=said.inbound_id,
        case=case,
        child_named=child_named,
        now=now,
    )
    back = said.return_date
    if back is not None and not open_ended and today < first[0] and back <= first[0]:
        # "Much better, back tomorrow" written after school: it shortens what we had (recorded above,
        # superseding it from tomorrow) and covers nothing itself.
        notices.end(session, notice=notice, before=None, why=f"back on {back:%a %d %b}")
    return notice
