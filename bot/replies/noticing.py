"""From what a family writes to notices (``bot.notices.taking``): whom and which day it is about.

A text or email that comes when nothing is open is a notice on its own: about the children it names
(all of the family's when it names none), from the day it names ("dentist tomorrow"), today by
default; one that only explains yesterday is no notice. A message naming a child who has left is
kept as a notice about that child and listed for the attendance officer.
"""

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from bot.calendar import SchoolCalendar
from bot.notices.taking import Said
from bot.replies.dates import absence_start
from bot.replies.text import normalise
from storage.models import Contact, InboundMessage, Pupil, PupilContact

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


def notice_for(
    text: str, *, today: date, calendar: SchoolCalendar, pupils: list[Pupil], named: bool
) -> NoticeFor:
    """Read the first day away from a message given ahead (``dates.absence_start``)."""
    kind, day = absence_start(normalise(text), today, calendar.is_school_day)
    return NoticeFor(
        pupils=pupils,
        named=named,
        first=(day, "AM") if kind == "later" and day else None,
        past=kind == "past",
    )


def said_by_family(
    inbound: InboundMessage,
    contact: Contact | None,
    *,
    understood: str,
    code: str | None,
    return_date: date | None,
) -> Said:
    """A family's message as a notice's source: their words verbatim, who they are, how it came."""
    known = contact is not None and bool(contact.id)
    return Said(
        words=inbound.body,
        source=SOURCE_OF_CHANNEL.get(inbound.channel, "sms"),
        reported_by=f"{contact.first_name} {contact.last_name}".strip() if known else "A parent",
        understood=understood,
        code=code,
        return_date=return_date,
        contact_id=contact.id if known else None,
        inbound_id=inbound.id,
    )


def off_roll_named(session: Session, *, contact_ids: list[int], body: str) -> list[Pupil]:
    """Children of these contacts who are no longer on roll and whom the message names."""
    from bot.replies.understand import children_named

    if not contact_ids:
        return []
    gone = list(
        {
            p.id: p
            for p in session.exec(
                select(Pupil)
                .join(PupilContact, PupilContact.pupil_id == Pupil.id)
                .where(PupilContact.contact_id.in_(contact_ids), Pupil.on_roll == False)  # noqa: E712
            ).all()
        }.values()
    )
    if not gone:
        return []
    names = {n for p in gone for n in (p.first_name, p.display_first_name) if n}
    named = {n.casefold() for n in children_named(body, sorted(names))}
    return [p for p in gone if named & {p.first_name.casefold(), p.display_first_name.casefold()}]
