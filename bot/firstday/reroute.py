"""After sending: move families whose message failed on to another channel or contact.

The sender and the status callback only record what happened to a message (``failed``,
``undelivered``, or ``cancelled`` because the contact opted out). This step, run by the
send-outbox job after each sending pass, decides what to do next for the family: the same
contact's next channel (a call to their landline, their email), then the next contact in priority
order, then an alert to staff that nobody can be reached. An automated call nobody answered
(Twilio's ``no-answer`` or ``busy``) has failed like an undelivered text and moves on the same way.
A message the provider failed for its own reasons, or one cancelled as expired during an outage, is
never the family's failure and moves nobody on.
``rerouted`` marks a message whose failure has been handled, so a failure moves the family on
exactly once, however often the step runs.
"""

import logging
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, select

from bot.firstday.outreach import queue_family_message
from bot.firstday.routing import Route, all_channels, family_contacts, raise_unreachable, usable_channels
from bot.messaging.transports import PROVIDER_TWILIO_CODES
from bot.policy import policy_for
from bot.settings import Settings
from storage.models import AbsenceCase, Contact, MessageCase, OutboxMessage, Pupil, SchoolPolicy

log = logging.getLogger(__name__)

# The sender's mark on a message cancelled because its contact opted out of that channel.
OPTED_OUT = "opted-out"
FAILED = ("failed", "undelivered")
# Twilio's provider-side failure codes (queue overflow, account suspended, unknown error, rate):
# nothing to do with the family, so never a reason to move them on (the sender queues the text
# again; a row failed with one of these before that rule existed stays put).
PROVIDER_SIDE = sorted(str(code) for code in PROVIDER_TWILIO_CODES)


def reroute_failed(session: Session, *, settings: Settings, now: datetime, limit: int = 500) -> int:
    """Handle every family message that failed (or was refused by an opt-out) and is not yet handled.

    Returns how many messages were handled. Rows are locked (``SKIP LOCKED`` on PostgreSQL) so two
    senders never handle one failure twice.
    """
    failed = session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.rerouted == False,  # noqa: E712
            OutboxMessage.contact_id.is_not(None),
            or_(
                OutboxMessage.status.in_(FAILED)
                & or_(OutboxMessage.error_code.is_(None), OutboxMessage.error_code.not_in(PROVIDER_SIDE)),
                (OutboxMessage.status == "cancelled") & (OutboxMessage.error_code == OPTED_OUT),
            ),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for message in failed:
        message.rerouted = True
        session.add(message)
        on_delivery_failed(session, message=message, settings=settings, now=now)
    return len(failed)


def _channels_used(session: Session, *, case_id: int, contact_id: int, since) -> set[str]:
    """Channels on which this case's family contact already has a message that has not failed."""
    return set(
        session.exec(
            select(OutboxMessage.channel)
            .join(MessageCase, MessageCase.message_id == OutboxMessage.id)
            .where(
                MessageCase.case_id == case_id,
                OutboxMessage.contact_id == contact_id,
                OutboxMessage.created_at >= since,
                OutboxMessage.status.not_in(("failed", "undelivered", "cancelled")),
            )
        ).all()
    )


def on_delivery_failed(
    session: Session, *, message: OutboxMessage, settings: Settings, now: datetime
) -> None:
    """A family message failed for good: try the same contact's other channel, then the next contact.

    Each reroute has its own idempotency key derived from the failed message, so a repeated call
    queues nothing new.
    """
    case_ids = session.exec(select(MessageCase.case_id).where(MessageCase.message_id == message.id)).all()
    cases = [c for c in (session.get(AbsenceCase, i) for i in case_ids) if c and c.status == "open"]
    if not cases or message.contact_id is None:
        return
    policy = policy_for(session, message.school_id)
    contacts_by_pupil = family_contacts(session, [c.pupil_id for c in cases])
    failed_contact = session.get(Contact, message.contact_id)

    def queue(case: AbsenceCase, route, key: str) -> None:
        queue_family_message(
            session,
            case_ids=[case.id],
            route=route,
            kind=message.kind,
            key=key,
            session_name=case.first_session,
            policy=policy,
            settings=settings,
            now=now,
        )

    for case in cases:
        # 1. The same contact's next channel; 2. the next contact in priority order with a channel.
        route = _next_channel(
            session, message=message, failed_contact=failed_contact, case=case, policy=policy
        )
        if route is not None:
            queue(case, route, f"{message.idempotency_key}>{route.channel}")
            continue
        contacts = contacts_by_pupil.get(case.pupil_id, [])
        nxt = _next_contact(contacts, after_id=message.contact_id, policy=policy)
        if nxt is not None:
            case.contact_round = contacts.index(nxt)
            case.round_started_at = now
            session.add(case)
            queue(case, usable_channels(nxt, policy)[0], f"{message.idempotency_key}>c{nxt.id}")
            continue
        # 3. Nobody left.
        raise_unreachable(
            session,
            case=case,
            pupil=session.get(Pupil, case.pupil_id),
            now=now,
            why="Messages to every contact we hold have failed or cannot be sent.",
        )
        log.info("case %s: no channel reaches the family", case.id)


def _next_channel(
    session: Session,
    *,
    message: OutboxMessage,
    failed_contact: Contact | None,
    case: AbsenceCase,
    policy: SchoolPolicy,
) -> Route | None:
    """The failed contact's next channel after the one that failed, or None.

    Forward only (a failed text: their landline, then their email; a call nobody answered: a text,
    then email), skipping channels this case already reached them on since the failed message, so a
    chain of failures always moves on.
    """
    chain = all_channels(failed_contact, policy) if failed_contact else []
    channels = [r.channel for r in chain]
    later = chain[channels.index(message.channel) + 1 :] if message.channel in channels else []
    used = _channels_used(session, case_id=case.id, contact_id=message.contact_id, since=message.created_at)
    others = [r for r in later if r.channel not in used]
    return others[0] if others else None


def _next_contact(contacts: list[Contact], *, after_id: int, policy: SchoolPolicy) -> Contact | None:
    """The first contact after ``after_id`` in priority order with a usable channel (from the top if
    ``after_id`` is not one of them)."""
    ids = [c.id for c in contacts]
    start = ids.index(after_id) + 1 if after_id in ids else 0
    return next((c for c in contacts[start:] if usable_channels(c, policy)), None)
