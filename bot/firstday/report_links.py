"""Start of term: every family gets their standing "report an absence" link.

Run by the clock each school morning (``report-links``); it acts on the first school day of each
term only (or when an operator forces it), and sends one message per contact who has a child on
roll: a text, or an email when they have no mobile we may text. Never a call: a link cannot be
spoken, and the absence call's script would tell the family their child is not in school (the
office reads a landline-only family their link: ``attendance-bot family-link show``). Each
contact's link is their live ``FamilyLink`` (made or renewed here), so the link a family saved
keeps working all year.
Idempotency keys name the term, so a second run (or a second clock) sends nothing more.
"""

from datetime import date, datetime

from sqlmodel import Session, select

from bot import clock
from bot.calendar import SchoolCalendar, load_calendar
from bot.firstday.messages import compose
from bot.firstday.routing import all_channels
from bot.messaging.outbox import enqueue_many
from bot.notices.links import live_links, url
from bot.policy import policy_for
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import CalendarEntry, Contact, Pupil, PupilContact, School


def term_start(session: Session, school_id: int, calendar: SchoolCalendar, day: date) -> date | None:
    """The first school day of the term ``day`` falls in (None outside term)."""
    spans = session.exec(
        select(CalendarEntry).where(
            CalendarEntry.school_id == school_id,
            CalendarEntry.kind == "term",
            CalendarEntry.start_date <= day,
            CalendarEntry.end_date >= day,
        )
    ).all()
    starts = [calendar.next_school_day(s.start_date, inclusive=True) for s in spans]
    return min((s for s in starts if s is not None), default=None)


def send_report_links(
    session: Session, *, school: School, now: datetime, settings: Settings, force: bool = False
) -> JobSummary:
    """Queue each family's link on the first school day of term (any school day with ``force``)."""
    day = clock.to_local(now, school.timezone).date()
    calendar = load_calendar(session, school.id)
    if not calendar.is_school_day(day):
        return JobSummary.skip(calendar.why_not(day))
    start = term_start(session, school.id, calendar, day)
    if not force and start != day:
        return JobSummary.skip("not the first school day of a term")
    policy = policy_for(session, school.id)
    rows = session.exec(
        select(Contact, Pupil)
        .join(PupilContact, PupilContact.contact_id == Contact.id)
        .join(Pupil, Pupil.id == PupilContact.pupil_id)
        .where(Contact.school_id == school.id, Pupil.on_roll == True)  # noqa: E712
        .order_by(Contact.id, Pupil.first_name)
    ).all()
    children: dict[int, tuple[Contact, list[str]]] = {}
    for contact, pupil in rows:
        children.setdefault(contact.id, (contact, []))[1].append(pupil.display_first_name)
    links = live_links(session, contact_ids=list(children), settings=settings, now=now)
    items, unreachable = [], 0
    for contact_id, (contact, names) in children.items():
        routes = [r for r in all_channels(contact, policy) if r.channel != "voice"]
        if not routes:
            unreachable += 1
            continue
        route = routes[0]
        composed = compose(
            channel=route.channel,
            kind="report_link",
            language=contact.language,
            first_names=list(dict.fromkeys(names)),
            school=school.name,
            link=url(settings, links[contact_id]),
        )
        key = f"links:{school.id}:{(start or day).isoformat()}:{contact_id}"
        items.append(
            {
                "school_id": school.id,
                "key": key,
                "kind": "report_link",
                "channel": route.channel,
                "to_address": route.address,
                "body": composed.body,
                "subject": composed.subject,
                "contact_id": contact_id,
                "language": composed.language,
            }
        )
    created = sum(1 for _, new in enqueue_many(session, items, now=now) if new)
    return JobSummary(
        counts={"families": len(children), "messages_queued": created, "no_channel": unreachable}
    )
