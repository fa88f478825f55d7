"""Who gets what: the family's contacts in priority order and the channels that reach them.

``on_delivery_failed`` is called by the outbox sender when a family message fails for good; it
moves the family on to the next channel or contact, or tells staff nobody can be reached.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, select

from bot import clock
from bot.alerts.service import raise_alert
from bot.policy import policy_for
from storage.models import (
    AbsenceCase,
    Contact,
    MessageCase,
    OutboxMessage,
    Pupil,
    PupilContact,
    School,
    SchoolPolicy,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    contact: Contact
    channel: str
    address: str


def usable_channels(contact: Contact, policy: SchoolPolicy) -> list[Route]:
    """The channels this contact can be reached on, preferred first (SMS, then email)."""
    routes: list[Route] = []
    if contact.mobile and not contact.sms_opt_out:
        routes.append(Route(contact, "sms", contact.mobile))
    if contact.email and not contact.email_opt_out and (not routes or policy.email_mode == "also"):
        routes.append(Route(contact, "email", contact.email))
    return routes


def all_channels(contact: Contact) -> list[Route]:
    routes = []
    if contact.mobile and not contact.sms_opt_out:
        routes.append(Route(contact, "sms", contact.mobile))
    if contact.email and not contact.email_opt_out:
        routes.append(Route(contact, "email", contact.email))
    return routes


def family_contacts(session: Session, pupil_ids: list[int]) -> dict[int, list[Contact]]:
    """Each pupil's contacts in the school's priority order (reachable or not)."""
    if not pupil_ids:
        return {}
    rows = session.exec(
        select(PupilContact.pupil_id, Contact)
        .join(Contact, Contact.id == PupilContact.contact_id)
        .where(PupilContact.pupil_id.in_(pupil_ids))
        .order_by(PupilContact.pupil_id, PupilContact.priority, Contact.id)
    ).all()
    out: dict[int, list[Contact]] = defaultdict(list)
    for pupil_id, contact in rows:
        out[pupil_id].append(contact)
    return out


def reachable(contacts: list[Contact]) -> list[Contact]:
    return [c for c in contacts if all_channels(c)]


def raise_unreachable(session: Session, *, case: AbsenceCase, pupil: Pupil, why: str) -> None:
    school = session.get(School, case.school_id)
    raise_alert(
        session,
        school_id=case.school_id,
        key=f"unreachable:{case.id}:{clock.local_today(school.timezone).isoformat()}",
        kind="cannot_reach_family",
        title=f"Cannot reach the family of {pupil.first_name} {pupil.last_name}",
        body=f"{why} Please phone the family or arrange a home visit.",
        audience="attendance",
        severity="high",
        pupil_id=pupil.id,
        case_id=case.id,
        data={
            "pupil": f"{pupil.first_name} {pupil.last_name}",
            "year_group": pupil.year_group,
            "class_name": pupil.class_name,
            "actions": ["acknowledge"],
        },
    )


def on_delivery_failed(session: Session, *, message: OutboxMessage) -> None:
    """A family message failed for good: try the same contact's other channel, then the next contact.

    Each reroute has its own idempotency key derived from the failed message, so a repeated call
    (a late duplicate callback) queues nothing new.
    """
    from bot.firstday.service import queue_family_message

    case_ids = session.exec(select(MessageCase.case_id).where(MessageCase.message_id == message.id)).all()
    cases = [c for c in (session.get(AbsenceCase, i) for i in case_ids) if c and c.status == "open"]
    if not cases or message.contact_id is None:
        return
    policy = policy_for(session, message.school_id)
    contacts_by_pupil = family_contacts(session, [c.pupil_id for c in cases])
    failed_contact = session.get(Contact, message.contact_id)
    for case in cases:
        pupil = session.get(Pupil, case.pupil_id)
        contacts = contacts_by_pupil.get(case.pupil_id, [])
        # 1. An SMS that failed falls back to the same contact's email (never the other way round,
        #    so a chain of failures always moves forward).
        others = (
            [r for r in all_channels(failed_contact) if r.channel == "email"]
            if failed_contact and message.channel == "sms"
            else []
        )
        if others:
            queue_family_message(
                session, case_ids=[case.id], route=others[0], kind=message.kind,
                key=f"{message.idempotency_key}>{others[0].channel}",
                session_name=case.first_session, policy=policy,
            )
            continue
        # 2. The next contact in priority order with a channel.
        ids = [c.id for c in contacts]
        start = ids.index(message.contact_id) + 1 if message.contact_id in ids else 0
        nxt = next((c for c in contacts[start:] if usable_channels(c, policy)), None)
        if nxt is not None:
            case.contact_round = contacts.index(nxt)
            case.round_started_at = clock.now()
            session.add(case)
            route = usable_channels(nxt, policy)[0]
            queue_family_message(
                session, case_ids=[case.id], route=route, kind=message.kind,
                key=f"{message.idempotency_key}>c{nxt.id}", session_name=case.first_session,
                policy=policy,
            )
            continue
        # 3. Nobody left.
        raise_unreachable(
            session, case=case, pupil=pupil,
            why="Messages to every contact we hold have failed or cannot be sent.",
        )
        log.info("case %s: no channel reaches the family", case.id)
