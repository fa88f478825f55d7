"""Queueing a message to a family about one or more children's cases.

The message goes into the outbox in the caller's transaction, and the cases note it: their last
contact time, the start of the current contact round, and a case-log entry. Register close, the
chase and rerouting after a failed delivery all queue through here.
"""

from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from bot.cases import service as cases
from bot.firstday.messages import compose
from bot.firstday.routing import Route
from bot.messaging.outbox import enqueue_many
from bot.notices.links import live_links
from bot.notices.links import url as family_url
from bot.replies.links import reply_link
from bot.settings import Settings
from storage.models import AbsenceCase, Pupil, School, SchoolPolicy


def queue_family_message(
    session: Session,
    *,
    case_ids: list[int],
    route: Route,
    kind: str,
    key: str,
    session_name: str,
    policy: SchoolPolicy,
    settings: Settings,
    now: datetime,
) -> bool:
    """Queue one message to one contact about one or more children's cases. True if new."""
    [created] = queue_family_messages(
        session,
        [(case_ids, route, key)],
        kind=kind,
        session_name=session_name,
        policy=policy,
        settings=settings,
        now=now,
    )
    return created


def queue_family_messages(
    session: Session,
    batch: list[tuple[list[int], Route, str]],
    *,
    kind: str,
    session_name: str,
    policy: SchoolPolicy,
    settings: Settings,
    now: datetime,
) -> list[bool]:
    """Queue ``(case_ids, route, key)`` messages of one kind for one school; True for each new one.

    The messages, the cases' contact times and the case-log entries are written set-based: a
    trust's register close queues thousands of messages inside one short job.
    """
    school = session.get(School, policy.school_id)
    # A first-day message also carries the family's standing "report an absence" link (an email
    # always; a text when it fits), so next time they can tell us before the register closes.
    report_links = {}
    if kind == "first_day":
        contact_ids = [route.contact.id for _, route, _ in batch]
        report_links = live_links(session, contact_ids=contact_ids, settings=settings, now=now)
    items = [
        _outbox_item(
            session,
            school=school,
            case_ids=case_ids,
            route=route,
            key=key,
            kind=kind,
            session_name=session_name,
            settings=settings,
            report_link=family_url(settings, report_links[route.contact.id])
            if route.contact.id in report_links
            else None,
        )
        for case_ids, route, key in batch
    ]
    results = enqueue_many(session, items, now=now)
    _record_contacts(session, batch, results, school_id=school.id, kind=kind, now=now)
    return [created for _, created in results]


def _outbox_item(
    session: Session,
    *,
    school: School,
    case_ids: list[int],
    route: Route,
    key: str,
    kind: str,
    session_name: str,
    settings: Settings,
    report_link: str | None,
) -> dict:
    """One outbox row: the message composed in the contact's language, naming every child it is about.

    Only an email carries a reply link; a text is answered by replying to it.
    """
    pupils = [session.get(Pupil, session.get(AbsenceCase, i).pupil_id) for i in case_ids]
    link = (
        reply_link(settings, case_id=case_ids[0], contact_id=route.contact.id)
        if route.channel == "email"
        else None
    )
    composed = compose(
        channel=route.channel,
        kind=kind,
        language=route.contact.language,
        first_names=[p.display_first_name for p in pupils],
        school=school.name,
        session_name=session_name,
        link=link,
        office_line=bool(school.phone),
        report_link=report_link,
    )
    return {
        "school_id": school.id,
        "key": key,
        "kind": kind,
        "channel": route.channel,
        "to_address": route.address,
        "body": composed.body,
        "subject": composed.subject,
        "contact_id": route.contact.id,
        "language": composed.language,
        "case_ids": case_ids,
    }


def _record_contacts(session: Session, batch, results, *, school_id: int, kind: str, now: datetime) -> None:
    """For each new message: its cases' contact times and a case-log entry, written set-based."""
    events = []
    contacted: list[int] = []
    for (case_ids, route, _key), (message, created) in zip(batch, results, strict=True):
        if not created:
            continue
        for case_id in case_ids:
            case = session.get(AbsenceCase, case_id)
            contacted.append(case_id)
            events.append(
                {
                    "school_id": school_id,
                    "case_id": case.id,
                    "pupil_id": case.pupil_id,
                    "kind": "message_queued",
                    "summary": f"{kind.replace('_', ' ')} {route.channel} to contact {route.contact.id}",
                    "data": {
                        "message_id": message.id,
                        "channel": route.channel,
                        "contact_id": route.contact.id,
                    },
                }
            )
    if contacted:
        # One set-based update instead of one ORM flush per case (a round starts at its first
        # contact); the loaded cases are brought in line by hand, as "evaluate" would.
        session.execute(
            update(AbsenceCase)
            .where(AbsenceCase.id.in_(contacted))
            .values(last_contact_at=now, round_started_at=func.coalesce(AbsenceCase.round_started_at, now)),
            execution_options={"synchronize_session": False},
        )
        for case_id in dict.fromkeys(contacted):
            case = session.get(AbsenceCase, case_id)
            set_committed_value(case, "last_contact_at", now)
            set_committed_value(case, "round_started_at", case.round_started_at or now)
    cases.log_many(session, events, now=now)
