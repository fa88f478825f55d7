"""The reply page's service: a reason a family gives on the page a reply link opens (``/r/<token>``).

Routed like a text (``bot.replies.apply.route``), for the one case the link names. The reason list,
the note's limit and ``page_reason`` are shared with the report page (``bot.replies.report_form``).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from bot import clock, codes
from bot.calendar import load_calendar
from bot.errors import NotFound, UserError
from bot.replies import decide, wording
from bot.replies.apply import ReplyOutcome, route
from bot.settings import Settings
from storage.models import AbsenceCase, Contact, InboundMessage, Pupil, PupilContact, School

IN_SCHOOL = decide.IN_SCHOOL
# Reasons offered on the reply page and the code each suggests ("other" is read from the note).
WEB_REASONS: dict[str, str | None] = {
    "ill": "I",
    "medical": "M",
    "religious": "R",
    "emergency": "C",
    "other": None,
}
MAX_NOTE = 1000
MAX_RETURN_DAYS = 60


@dataclass(frozen=True)
class LinkTarget:
    """What a reply link points at, checked against the database."""

    case: AbsenceCase
    pupil: Pupil
    school: School
    contact: Contact | None


def link_target(session: Session, *, case_id: int, contact_id: int | None) -> LinkTarget:
    """The case, pupil, school and contact behind a link; ``NotFound`` if they no longer belong together."""
    case = session.get(AbsenceCase, case_id)
    if case is None:
        raise NotFound("This link is not valid.")
    pupil = session.get(Pupil, case.pupil_id)
    school = session.get(School, case.school_id)
    contact = session.get(Contact, contact_id) if contact_id is not None else None
    if contact_id is not None:
        linked = session.exec(
            select(PupilContact.id).where(
                PupilContact.pupil_id == case.pupil_id, PupilContact.contact_id == contact_id
            )
        ).first()
        if contact is None or contact.school_id != case.school_id or linked is None:
            raise NotFound("This link is not valid.")
    return LinkTarget(case=case, pupil=pupil, school=school, contact=contact)


def page_reason(reason: str, note: str, *, today: date, calendar):
    """The code a reason chosen on a page suggests, and the reader's reading of the note (or None).

    "Other" takes the code the note gives; a note saying the child left for school makes it
    IN_SCHOOL whatever was chosen (a missing child, never a reason).
    """
    from bot.replies.understand import understand

    read = understand(note, today, is_school_day=calendar.is_school_day) if note else None
    code = WEB_REASONS[reason]
    if code is None and read is not None and read.code in codes.CODES:
        code = read.code
    if read is not None and read.code == IN_SCHOOL:
        code = IN_SCHOOL
    return code, read


def receive_web_reply(
    session: Session,
    *,
    settings: Settings,
    case_id: int,
    contact_id: int | None,
    reason: str,
    note: str = "",
    return_date: date | None = None,
    now: datetime,
) -> ReplyOutcome:
    """A reason given on the reply page: recorded and routed like a text, for this one case only.

    The chosen reason sets the suggested code; the note is read too, so a note that says the child
    left for school, or raises a welfare concern, alerts staff as a text would. No thank-you text is
    sent: the page itself thanks the parent.
    """
    note = (note or "").strip()
    _check_reason(reason, note)
    target = link_target(session, case_id=case_id, contact_id=contact_id)
    school = target.school
    today = clock.to_local(now, school.timezone).date()
    if return_date is not None and not (today <= return_date <= today + timedelta(days=MAX_RETURN_DAYS)):
        raise UserError("Please choose a return date from today onwards.")
    case = session.exec(select(AbsenceCase).where(AbsenceCase.id == case_id).with_for_update()).one()
    if case.status != "open":
        return ReplyOutcome(status="already_explained", case_ids=[case.id])

    code, read = page_reason(reason, note, today=today, calendar=load_calendar(session, school.id))
    inbound = _inbound(
        session, target, reason=reason, note=note, code=code, read=read, return_date=return_date, now=now
    )
    outcome = ReplyOutcome(status="recorded")
    contact = target.contact
    placeholder = contact or Contact(school_id=school.id, mis_id="", first_name="A parent", last_name="")
    route(
        session,
        school=school,
        contact=placeholder,
        contacts=[contact] if contact else [],
        inbound=inbound,
        case_list=[case],
        pupils={target.pupil.id: target.pupil},
        code=code,
        return_date=inbound.return_date,
        concern=inbound.concern,
        confidence=inbound.confidence,
        send_thanks=False,
        outcome=outcome,
        reason_given=code != IN_SCHOOL,
        now=now,
    )
    return outcome


def _check_reason(reason: str, note: str) -> None:
    """``UserError`` for a reason the page does not offer, or a note missing or too long."""
    if reason not in WEB_REASONS:
        raise UserError("Please choose a reason.")
    if reason == "other" and not note:
        raise UserError("Please tell us the reason in the box.")
    if len(note) > MAX_NOTE:
        raise UserError(f"Please keep the note under {MAX_NOTE} characters.")


def _inbound(
    session: Session,
    target: LinkTarget,
    *,
    reason: str,
    note: str,
    code: str | None,
    read,
    return_date: date | None,
    now: datetime,
) -> InboundMessage:
    """The answer stored like a text. The note's reading fills in what the form left out: a day
    back, a welfare concern; a reason the page names is certain, "other" only as sure as the reading."""
    contact = target.contact
    inbound = InboundMessage(
        school_id=target.school.id,
        channel="web",
        provider_id=None,
        from_address=f"web:contact:{contact.id}" if contact else "web",
        contact_id=contact.id if contact else None,
        body=wording.web_body(reason, note),
        received_at=now,
        code=code,
        return_date=return_date or (read.return_date if read else None),
        concern=bool(read and read.concern),
        confidence=1.0 if WEB_REASONS[reason] else float(read.confidence if read else 0.0),
    )
    session.add(inbound)
    session.flush()
    return inbound
