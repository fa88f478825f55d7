"""Provider status reports (Twilio status callbacks) applied to outbox messages.

Callbacks repeat and arrive out of order, so a report only ever moves a message forward
(``advance_status``); the row is locked while it is read and changed so two callbacks for one
message cannot interleave. A callback only records: a family whose message failed is moved on by
the first-day service after the next sending pass (``bot.firstday.reroute``).

A callback can arrive before the sender has stored the provider id (the provider is faster than
our commit); it then finds nothing and is ignored. Only intermediate states are lost that way: the
final state comes seconds later.
"""

import logging
from datetime import datetime

from sqlmodel import Session, select

from bot.messaging.outbox import advance_status
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


def record_status(
    session: Session,
    *,
    provider_id: str,
    provider_status: str,
    error_code: str | None = None,
    now: datetime,
) -> OutboxMessage | None:
    """Apply one status report. Returns the message, or None when the provider id is unknown."""
    message = session.exec(
        select(OutboxMessage).where(OutboxMessage.provider_id == provider_id).with_for_update()
    ).first()
    if message is None:
        log.info("status: unknown provider id %s", provider_id)
        return None
    status = TWILIO_STATUS.get((provider_status or "").lower())
    if status is None:
        log.info("status: message=%s ignored provider status %r", message.id, provider_status)
        return message
    moved = advance_status(message, status, now=now)
    if not moved:
        return message
    if status in FAILED:
        if error_code:
            message.error_code = str(error_code)[:32]
            message.error = f"provider reported {status} ({error_code})"
        else:
            message.error = f"provider reported {status}"
    log.info("status: message=%s contact=%s now %s code=%s", message.id, message.contact_id,
             message.status, error_code or "-")
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
