"""Queueing messages in the outbox.

A service calls ``enqueue`` inside the transaction that changes the case, so the message exists if
and only if the change does. The idempotency key is unique: queueing the same message twice (a job
run twice, two clocks) returns the first row and sends nothing more.
"""

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import clock
from storage.models import MessageCase, OutboxMessage

CHANNELS = ("sms", "email")
# Delivery states in the order they can move; a status never moves backwards.
STATUS_ORDER = {
    "queued": 0,
    "sending": 1,
    "accepted": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "cancelled": 4,
}
FINAL = {"delivered", "undelivered", "failed", "cancelled"}


def enqueue(
    session: Session,
    *,
    school_id: int,
    key: str,
    kind: str,
    channel: str,
    to_address: str,
    body: str,
    contact_id: int | None = None,
    subject: str | None = None,
    language: str = "en",
    case_ids: list[int] | tuple[int, ...] = (),
) -> tuple[OutboxMessage, bool]:
    """Insert the message unless its key exists. Returns (message, created)."""
    assert channel in CHANNELS
    existing = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).first()
    if existing is not None:
        return existing, False
    now = clock.now()
    message = OutboxMessage(
        school_id=school_id,
        idempotency_key=key,
        kind=kind,
        channel=channel,
        contact_id=contact_id,
        to_address=to_address,
        subject=subject,
        body=body,
        language=language,
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
            for case_id in dict.fromkeys(case_ids):
                session.add(MessageCase(message_id=message.id, case_id=case_id))
            session.flush()
    except IntegrityError:
        existing = session.exec(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        ).first()
        if existing is None:
            raise
        return existing, False
    return message, True


def advance_status(message: OutboxMessage, new_status: str) -> bool:
    """Move a message's status forward only (callbacks repeat and arrive out of order)."""
    if new_status not in STATUS_ORDER:
        return False
    if message.status in FINAL or STATUS_ORDER[new_status] <= STATUS_ORDER[message.status]:
        return False
    message.status = new_status
    message.updated_at = clock.now()
    return True
