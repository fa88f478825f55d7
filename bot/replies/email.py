"""A family's email reply, routed exactly like a text (``bot.replies.service``).

Who it is from: the reply address it was sent to names one of our emails (``bot.messaging.replyto``),
so the contact and the cases that email was about are known even when the family writes from
another address; failing that, the sender's address matched to contacts' emails (in each school
of a trust that holds it, like a shared mobile number). What it says is only the family's new words
(``bot.mail.quotes``). Then the same understanding and routing as a text: a reason explains the
cases (or becomes a notice), "left for school" raises its alarms at once, and the family is thanked
by email in their language.

An automatic reply is recorded and never read as a reason. Mail nobody can attribute is recorded
once and left unread in the mailbox for a person; with one school in the deployment, staff are told.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from bot.alerts.service import raise_alert
from bot.messaging import replyto
from bot.replies.apply import ReplyOutcome
from bot.replies.service import _Duplicate, _insert_inbound, _reply_for_school, _seen
from bot.settings import Settings
from storage.models import Contact, InboundMessage, MessageCase, OutboxMessage, School

log = logging.getLogger(__name__)

AUTO, UNMATCHED = "AUTO", "UNMATCHED"


@dataclass(frozen=True)
class EmailReply:
    """An email as ``bot.mail`` read it: the facts routing needs, nothing of the mail library."""

    key: str  # the InboundMessage provider id (from the Message-ID): the dedupe key
    sender: str
    recipients: list[str]
    subject: str
    text: str  # the family's new words only
    auto_reply: bool = False


def receive_email(session: Session, *, settings: Settings, mail: EmailReply, now: datetime) -> ReplyOutcome:
    """Record and act on one email reply. Safe to call twice with the same email (``mail.key``)."""
    if _seen(session, mail.key):
        return ReplyOutcome(status="duplicate")
    message = _answered(session, settings, mail)
    if message is not None and message.contact_id is not None:
        contact = session.get(Contact, message.contact_id)
        groups = {contact.school_id: [contact]}
        case_ids = list(session.exec(select(MessageCase.case_id).where(MessageCase.message_id == message.id)))
    else:
        case_ids = []
        groups = {}
        for contact in _contacts_with_email(session, mail.sender):
            groups.setdefault(contact.school_id, []).append(contact)
    if mail.auto_reply:
        return _record_only(
            session,
            mail=mail,
            code=AUTO,
            status="auto_reply",
            now=now,
            school_id=next(iter(groups), None),
            contact_id=groups[next(iter(groups))][0].id if groups else None,
        )
    if not groups:
        return _unknown(session, mail=mail, now=now)
    outcome = ReplyOutcome(status="recorded")
    for n, (school_id, contacts) in enumerate(sorted(groups.items())):
        school = session.get(School, school_id)
        provider_id = mail.key if n == 0 else f"{mail.key}:{school_id}"
        try:
            _reply_for_school(
                session,
                school=school,
                contacts=contacts,
                provider_id=provider_id,
                from_address=mail.sender,
                body=mail.text,
                now=now,
                outcome=outcome,
                channel="email",
                case_ids=case_ids,
            )
        except _Duplicate:
            if n == 0:
                return ReplyOutcome(status="duplicate")
    log.info("email reply %s recorded for %d school(s), cases %s", mail.key, len(groups), outcome.case_ids)
    return outcome


def _answered(session: Session, settings: Settings, mail: EmailReply) -> OutboxMessage | None:
    """The email of ours this one answers, from the reply address it was sent to."""
    for message_id in replyto.tokens_in(settings, mail.recipients):
        message = session.get(OutboxMessage, message_id)
        if message is not None:
            return message
    return None


def _contacts_with_email(session: Session, address: str) -> list[Contact]:
    if not address or "@" not in address:
        return []
    return list(
        session.exec(
            select(Contact).where(func.lower(Contact.email) == address.lower()).order_by(Contact.id)
        ).all()
    )


def _record_only(
    session: Session,
    *,
    mail: EmailReply,
    code: str,
    status: str,
    now: datetime,
    school_id: int | None = None,
    contact_id: int | None = None,
) -> ReplyOutcome:
    try:
        inbound = _insert_inbound(
            session,
            InboundMessage(
                school_id=school_id,
                channel="email",
                provider_id=mail.key,
                from_address=mail.sender,
                contact_id=contact_id,
                body=mail.text or mail.subject,
                received_at=now,
                code=code,
            ),
        )
    except _Duplicate:
        return ReplyOutcome(status="duplicate")
    return ReplyOutcome(status=status, inbound_ids=[inbound.id])


def _unknown(session: Session, *, mail: EmailReply, now: datetime) -> ReplyOutcome:
    schools = session.exec(select(School.id).order_by(School.id)).all()
    school_id = schools[0] if len(schools) == 1 else None
    outcome = _record_only(
        session, mail=mail, code=UNMATCHED, status="unknown_sender", now=now, school_id=school_id
    )
    if outcome.status == "unknown_sender" and school_id is not None:
        masked = mask_address(mail.sender)
        alert, _ = raise_alert(
            session,
            school_id=school_id,
            key=f"unknown_email:{outcome.inbound_ids[0]}",
            kind="unknown_sender",
            title=f"Email from an unknown address ({masked})",
            body=f"Subject: {mail.subject}\n“{mail.text[:1000]}”\nNo contact has this address and it does "
            "not answer one of our emails. It is left unread in the school's mailbox for you.",
            audience="attendance",
            severity="normal",
            data={
                "inbound_id": outcome.inbound_ids[0],
                "from_masked": masked,
                "reply": mail.text,
                "actions": ["acknowledge"],
            },
            now=now,
        )
        outcome.alert_ids.append(alert.id)
    return outcome


def mask_address(address: str) -> str:
    """``sara.khan@example.org`` -> ``s***@example.org``: enough to recognise, not to copy."""
    local, _, domain = (address or "").partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"
