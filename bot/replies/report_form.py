"""The "report an absence" page's service: a family tells the school before the register closes.

The family opens their standing link (``bot.notices.links``), picks which of their children, the
first day away, the day back if they know it, and a reason (the reply page's list), with an
optional note. It is routed like a text:

- the note is read (``understand``), so "he left for school" or a welfare worry alerts staff at once;
- a child with an open case from today or before has that case explained (the family is answering
  it), and the notice covers the case from its first session;
- otherwise the notice covers the days chosen, and register close will neither message nor chase.

Only the children of that contact who are on roll can be chosen; the page shows first names only.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from bot import clock, codes
from bot.calendar import load_calendar
from bot.errors import UserError
from bot.notices import links as family_links
from bot.notices import taking
from bot.replies import noticing, wording
from bot.replies.apply import ReplyOutcome, route  # the one routing of what a family says
from bot.replies.reply_form import IN_SCHOOL, MAX_NOTE, WEB_REASONS, page_reason
from bot.settings import Settings
from storage.models import AbsenceCase, Contact, FamilyLink, InboundMessage, Pupil, PupilContact, School

MAX_DAYS_AHEAD = 60


@dataclass(frozen=True)
class Family:
    """What a standing link opens: the contact, their school and their children on roll."""

    link: FamilyLink
    contact: Contact
    school: School
    pupils: list[Pupil]


def family(session: Session, *, settings: Settings, token: str, now: datetime) -> Family:
    """The family behind a link, or ``FamilyLinkInvalid`` (forged, withdrawn, expired)."""
    link = family_links.read(session, settings=settings, raw=token, now=now)
    contact = session.get(Contact, link.contact_id)
    school = session.get(School, link.school_id)
    pupils = list(
        {
            p.id: p
            for p in session.exec(
                select(Pupil)
                .join(PupilContact, PupilContact.pupil_id == Pupil.id)
                .where(PupilContact.contact_id == contact.id, Pupil.on_roll == True)  # noqa: E712
                .order_by(Pupil.first_name, Pupil.id)
            ).all()
        }.values()
    )
    return Family(link=link, contact=contact, school=school, pupils=pupils)


def first_day_default(session: Session, *, school: School, now: datetime) -> date:
    """Today on a school day before the afternoon register closes, else the next school day."""
    from bot.notices.spans import first_open_session
    from bot.policy import policy_for

    calendar = load_calendar(session, school.id)
    start = first_open_session(
        now, tz=school.timezone, pm_close=policy_for(session, school.id).pm_close, calendar=calendar
    )
    return start[0] if start else clock.to_local(now, school.timezone).date()


class FormError(UserError):
    """A field to correct; ``key`` names the message (``bot.replies.wording.PAGE_ERRORS``)."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def receive_report(
    session: Session,
    *,
    settings: Settings,
    token: str,
    pupil_ids: list[int],
    first_date: date | None,
    return_date: date | None,
    reason: str,
    note: str = "",
    now: datetime,
) -> ReplyOutcome:
    """Record one report from the page. Raises ``FormError`` (nothing written) for a field to fix."""
    fam = family(session, settings=settings, token=token, now=now)
    note = (note or "").strip()
    chosen = _chosen(fam, pupil_ids=pupil_ids, reason=reason, note=note)
    school = fam.school
    today = clock.to_local(now, school.timezone).date()
    calendar = load_calendar(session, school.id)
    first_day = _first_day(calendar, today=today, first_date=first_date, return_date=return_date)
    code, read = page_reason(reason, note, today=today, calendar=calendar)
    inbound = _inbound(
        session,
        fam,
        reason=reason,
        note=note,
        code=code,
        concern=bool(read and read.concern),
        first_day=first_day,
        return_date=return_date,
        now=now,
    )
    outcome = ReplyOutcome(status="recorded")
    open_cases = [] if first_day > today else _open_cases(session, chosen)
    # Routed like a reply: on the open cases it answers, or (with none) only for the alerts a note
    # can raise; the children without a case get notices for exactly the days chosen.
    route(
        session,
        school=school,
        contact=fam.contact,
        contacts=[fam.contact],
        inbound=inbound,
        case_list=open_cases,
        pupils={p.id: p for p in chosen},
        code=code,
        return_date=return_date,
        concern=inbound.concern,
        confidence=inbound.confidence,
        send_thanks=False,
        outcome=outcome,
        reason_given=code != IN_SCHOOL,
        now=now,
        notice_for=noticing.NoticeFor(pupils=[], named=True),
    )
    rest = [p for p in chosen if p.id not in {c.pupil_id for c in open_cases}]
    if rest and code != IN_SCHOOL:
        made = _notices(session, inbound, fam=fam, pupils=rest, first_day=first_day, now=now)
        outcome.notice_ids += [n.id for n in made]
    return outcome


def _inbound(
    session: Session,
    fam: Family,
    *,
    reason: str,
    note: str,
    code: str | None,
    concern: bool,
    first_day: date,
    return_date: date | None,
    now: datetime,
) -> InboundMessage:
    """The report stored like a text: a reason chosen from the list is certain, "other" half so."""
    inbound = InboundMessage(
        school_id=fam.school.id,
        channel="form",
        provider_id=None,
        from_address=f"form:contact:{fam.contact.id}",
        contact_id=fam.contact.id,
        body=_body(reason, note, first_day, return_date),
        received_at=now,
        code=code,
        return_date=return_date,
        concern=concern,
        confidence=1.0 if WEB_REASONS[reason] else 0.5,
    )
    session.add(inbound)
    session.flush()
    return inbound


def _chosen(fam: Family, *, pupil_ids: list[int], reason: str, note: str) -> list[Pupil]:
    """The children the report is about; ``FormError`` for a child not the family's, or a reason to fix."""
    chosen = [p for p in fam.pupils if p.id in set(pupil_ids)]
    if not chosen or len(chosen) != len(set(pupil_ids)):
        raise FormError("child")
    if reason not in WEB_REASONS:
        raise FormError("reason")
    if reason == "other" and not note:
        raise FormError("note")
    if len(note) > MAX_NOTE:
        raise FormError("long")
    return chosen


def _open_cases(session: Session, chosen: list[Pupil]) -> list[AbsenceCase]:
    """The children's open cases: a report from today or before answers them."""
    return list(
        session.exec(
            select(AbsenceCase)
            .where(AbsenceCase.pupil_id.in_([p.id for p in chosen]), AbsenceCase.status == "open")
            .order_by(AbsenceCase.id)
        ).all()
    )


def _notices(
    session: Session,
    inbound: InboundMessage,
    *,
    fam: Family,
    pupils: list[Pupil],
    first_day: date,
    now: datetime,
) -> list:
    """Notices for children with no open case, from the first day chosen: register close will
    neither message nor chase them for those days."""
    said = noticing.said_by_family(
        inbound,
        fam.contact,
        understood=inbound.code or "NONE",
        code=inbound.code if inbound.code in codes.CODES else None,
        return_date=inbound.return_date,
    )
    return taking.without_case(
        session, school=fam.school, pupils=pupils, said=said, now=now, first=(first_day, "AM")
    )


def _first_day(calendar, *, today: date, first_date: date | None, return_date: date | None) -> date:
    """The first school day the report covers; ``FormError`` for dates to fix."""
    if first_date is None or not today <= first_date <= today + timedelta(days=MAX_DAYS_AHEAD):
        raise FormError("first")
    latest = first_date + timedelta(days=MAX_DAYS_AHEAD)
    if return_date is not None and not first_date <= return_date <= latest:
        raise FormError("return")
    first_day = calendar.next_school_day(first_date, inclusive=True)
    if first_day is None or (return_date is not None and return_date < first_day):
        raise FormError("no_school")  # only holidays or weekend days in the dates chosen
    return first_day


def _body(reason: str, note: str, first: date, back: date | None) -> str:
    """The report as one line of text, kept verbatim like a text message."""
    when = f"from {first:%a %d %b}" + (f", back {back:%a %d %b}" if back else "")
    return f"{wording.web_body(reason, '').strip()} ({when}) {note}".strip()
