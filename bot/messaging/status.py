"""Provider status reports (Twilio status callbacks) applied to outbox messages.

Callbacks repeat and arrive out of order, so a report only ever moves a message forward
(``advance_status``); the row is locked while it is read and changed so two callbacks for one
message cannot interleave. A callback only records: a family whose message failed is moved on by
the first-day service after the next sending pass (``bot.firstday.reroute``).

Each text's callback url names its outbox row (``?outbox=<id>``, inside what Twilio signs), so a
callback finds its message even when the sender never stored the provider id: the provider was
faster than our commit, or the send timed out with the message already created ("sent, no
answer"). The callback then attaches the provider id, and a resend waiting for that message is
called off: the row is no longer ``unknown``.

Twilio's provider-side failures (30001 queue overflow, 30002 account suspended, 30008 unknown
error, 30022 rate exceeded...) say nothing about the family: the text goes back in the queue (not
counted against the family) and nobody is rerouted.
"""

import logging
from datetime import datetime

from sqlmodel import Session, select

from bot.messaging.outbox import FINAL, advance_status
from bot.messaging.record import outage_backoff
from bot.messaging.transports import PROVIDER_TWILIO_CODES
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

# Twilio MessageStatus -> outbox status. Twilio's queued/accepted/scheduled all mean "in its queue".
TWILIO_STATUS = {
    "queued": "accepted",
    "accepted": "accepted",
    "scheduled": "accepted",
    "sending": "accepted",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "cancelled",
}
FAILED = {"undelivered", "failed"}
PROVIDER_SIDE_CODES = frozenset(str(code) for code in PROVIDER_TWILIO_CODES)


def record_status(
    session: Session,
    *,
    provider_id: str,
    provider_status: str,
    error_code: str | None = None,
    outbox_id: int | None = None,
    now: datetime,
) -> OutboxMessage | None:
    """Apply one status report. Returns the message, or None when it matches no message.

    ``outbox_id`` is the row the callback url names; it is used when no row has the provider id.
    """
    message = session.exec(
        select(OutboxMessage).where(OutboxMessage.provider_id == provider_id).with_for_update()
    ).first()
    if message is None and outbox_id is not None:
        message = _attach(session, outbox_id=outbox_id, provider_id=provider_id, now=now)
    if message is None:
        log.info("status: unknown provider id %s", provider_id)
        return None
    status = TWILIO_STATUS.get((provider_status or "").lower())
    if status is None:
        log.info("status: message=%s ignored provider status %r", message.id, provider_status)
        return message
    if status in FAILED and str(error_code or "") in PROVIDER_SIDE_CODES:
        return _provider_side_failure(message, code=str(error_code), now=now)
    moved = advance_status(message, status, now=now)
    if not moved:
        return message
    if status in FAILED:
        if error_code:
            message.error_code = str(error_code)[:32]
            message.error = f"provider reported {status} ({error_code})"
        else:
            message.error = f"provider reported {status}"
    log.info(
        "status: message=%s contact=%s now %s code=%s",
        message.id,
        message.contact_id,
        message.status,
        error_code or "-",
    )
    return message


def _attach(session: Session, *, outbox_id: int, provider_id: str, now: datetime) -> OutboxMessage | None:
    """The row the callback url names, given the provider id it never stored (the late answer of a
    send that timed out). A row already holding another id is left alone: that was another copy."""
    message = session.exec(
        select(OutboxMessage).where(OutboxMessage.id == outbox_id).with_for_update()
    ).first()
    if message is None or message.channel != "sms":
        return None
    if message.provider_id is not None:
        log.warning(
            "status: message=%s has provider id %s; a callback names %s (a second copy)",
            message.id,
            message.provider_id,
            provider_id,
        )
        return None
    message.provider_id = provider_id
    message.sent_at = message.sent_at or now  # the provider had it: the chase counts from here
    if message.status in ("unknown", "queued"):
        message.error = None
    log.info("status: message=%s attached provider id %s from its callback", message.id, provider_id)
    return message


def _provider_side_failure(message: OutboxMessage, *, code: str, now: datetime) -> OutboxMessage:
    """Twilio failed the text for its own reasons: queue it again, never count it against the family.

    Only a text in the provider's hands moves back (a repeated callback finds it queued and leaves
    it); a later send replaces the provider id. It still expires at ``valid_until``.
    """
    if message.status in FINAL or message.status not in ("accepted", "sent", "unknown"):
        return message
    message.status = "queued"
    message.outage_tries += 1
    message.next_attempt_at = now + outage_backoff(message.outage_tries)
    message.error_code = code
    message.error = f"provider failed it ({code}): the provider's side, sent again"
    message.updated_at = now
    log.warning(
        "status: message=%s failed at the provider (%s); queued again, not rerouted", message.id, code
    )
    return message


def record_bounce(
    session: Session, *, message: OutboxMessage, status: str | None, diagnostic: str = "", now: datetime
) -> bool:
    """An email's bounce (a delivery status notification) read from the mailbox, as a status report.

    SMTP accepted the email (``sent``); the receiving side failed it later. Recorded like Twilio's
    ``undelivered``: only forward, once; the family is moved on by ``bot.firstday.reroute`` after
    the next sending pass, exactly as for a text that could not be delivered.
    """
    locked = session.exec(select(OutboxMessage).where(OutboxMessage.id == message.id).with_for_update()).one()
    if not advance_status(locked, "undelivered", now=now):
        return False
    locked.error_code = (status or "bounce")[:32]
    locked.error = f"bounced ({status or 'no status'}): {' '.join(diagnostic.split())[:300]}".strip()
    session.add(locked)
    log.info("status: message=%s contact=%s bounced code=%s", locked.id, locked.contact_id, status or "-")
    return True
