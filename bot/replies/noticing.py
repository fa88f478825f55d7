"""From what a family writes to notices (``bot.notices``): the sessions a reason covers.

A reason explains the whole absence, not one session. When a reply explains a case, the notice runs
from the case's first session to the day before the child is back (or to the end of today when the
family gave no return day), so the afternoon's N and tomorrow's are not asked about again. A text or
email that comes when nothing is open is a notice on its own, from the first session whose register
has not closed yet ("today by default"). Register close reads them (``bot.notices.close``).
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from bot import clock
from bot.calendar import SchoolCalendar, load_calendar
from bot.notices import service as notices
from bot.notices.spans import first_open_session, span_for
from bot.policy import policy_for
from bot.replies.dates import absence_start
from bot.replies.text import normalise
from storage.models import AbsenceCase, AbsenceNotice, Contact, InboundMessage, Pupil, PupilContact, School

SOURCE_OF_CHANNEL = {"sms": "sms", "email": "email", "web": "reply_page", "form": "report_form"}


@dataclass(frozen=True)
class NoticeFor:
    """Whom and from when a message with no case to explain is a notice about."""

    pupils: list[Pupil]
    named: bool  # the message named them (or the family has one child)
    first: tuple[date, str] | None = None  # None: the first session whose register is still to close
    past: bool = False  # it only explains a day gone by: no notice, staff read it

    def return_date(self, understood: date | None) -> date | None:
        """A day back on or before a later first day was that day's own date ("dentist tomorrow")."""
        if self.first is not None and understood is not None and understood <= self.first[0]:
            return None
        return understood


def notice_for(text: str, *, today: date, calendar: SchoolCalendar, pupils: list[Pupil], named: bool
               ) -> NoticeFor:
    """Read the first day away from a message given ahead (``dates.absence_start``)."""
    kind, day = absence_start(normalise(text), today, calendar.is_school_day)
    return NoticeFor(pupils=pupils, named=named, first=(day, "AM") if kind == "later" and day else None,
                     past=kind == "past")


def _reporter(contact: Contact | None) -> str:
    if contact is None or not contact.id:
        return "A parent"
    return f"{contact.first_name} {contact.last_name}".strip()


def for_cases(
    session: Session,
    *,
    school: School,
    case_list: list[AbsenceCase],
    pupils: dict[int, Pupil],
    inbound: InboundMessage,
    contact: Contact | None,
    understood: str,
    code: str | None,
    return_date: date | None,
    now: datetime,
) -> list[AbsenceNotice]:
    """Notices for a reply that gives a reason on these cases.

    An open (or just explained) case is covered from its first session; a case explained earlier
    that the family writes about again ("still poorly today", "back Friday now") gets a new notice
    from the first session still to come, which supersedes the old one from there on.
    """
    calendar = load_calendar(session, school.id)
    today = clock.to_local(now, school.timezone).date()
    start_now = first_open_session(now, tz=school.timezone, pm_close=policy_for(session, school.id).pm_close,
                                   calendar=calendar)
    made = []
    for case in case_list:
        pupil = pupils.get(case.pupil_id) or session.get(Pupil, case.pupil_id)
        if case.explained_at == now or case.status == "open":
            first = (case.first_date, case.first_session)
        elif start_now is not None:
            first = start_now
        else:
            continue
        made.append(_record(session, pupil=pupil, first=first, return_date=return_date, today=today,
                            calendar=calendar, inbound=inbound, contact=contact, understood=understood,
                            code=code, case=case, now=now))
    return made


def without_case(
    session: Session,
    *,
    school: School,
    pupils: list[Pupil],
    named: bool,
    inbound: InboundMessage,
    contact: Contact | None,
    understood: str,
    code: str | None,
    return_date: date | None,
    now: datetime,
    first: tuple[date, str] | None = None,
) -> list[AbsenceNotice]:
    """Notices for a message that comes before any case: from ``first``, else the first open session."""
    calendar = load_calendar(session, school.id)
    today = clock.to_local(now, school.timezone).date()
    if first is None:
        first = first_open_session(now, tz=school.timezone, pm_close=policy_for(session, school.id).pm_close,
                                   calendar=calendar)
    if first is None:
        return []
    return [
        _record(session, pupil=p, first=first, return_date=return_date, today=today, calendar=calendar,
                inbound=inbound, contact=contact, understood=understood, code=code, case=None, now=now,
                child_named=named)
        for p in pupils
    ]


def _record(
    session: Session, *, pupil: Pupil, first: tuple[date, str], return_date: date | None, today: date,
    calendar: SchoolCalendar, inbound: InboundMessage, contact: Contact | None, understood: str,
    code: str | None, case: AbsenceCase | None, now: datetime, child_named: bool = True,
) -> AbsenceNotice:
    span = span_for(first_date=first[0], first_session=first[1], return_date=return_date, today=today,
                    calendar=calendar)
    notice = notices.record(
        session, pupil=pupil, span=span, words=inbound.body, understood=understood, suggested_code=code,
        source=SOURCE_OF_CHANNEL.get(inbound.channel, "sms"), reported_by=_reporter(contact),
        contact_id=contact.id if contact is not None and contact.id else None, inbound_id=inbound.id,
        case=case, child_named=child_named, now=now,
    )
    if return_date is not None and today < first[0] and return_date <= first[0]:
        # "Much better, back tomorrow" written after school: it shortens what we had (recorded above,
        # superseding it from tomorrow) and covers nothing itself.
        notices.end(session, notice=notice, before=None, why=f"back on {return_date:%a %d %b}")
    return notice


def off_roll_named(session: Session, *, contact_ids: list[int], body: str) -> list[Pupil]:
    """Children of these contacts who are no longer on roll and whom the message names."""
    from bot.replies.understand import children_named

    if not contact_ids:
        return []
    gone = list({p.id: p for p in session.exec(
        select(Pupil)
        .join(PupilContact, PupilContact.pupil_id == Pupil.id)
        .where(PupilContact.contact_id.in_(contact_ids), Pupil.on_roll == False)  # noqa: E712
    ).all()}.values())
    if not gone:
        return []
    names = {n for p in gone for n in (p.first_name, p.display_first_name) if n}
    named = {n.casefold() for n in children_named(body, sorted(names))}
    return [p for p in gone if named & {p.first_name.casefold(), p.display_first_name.casefold()}]
