"""Queueing messages in the outbox.

A service calls ``enqueue`` inside the transaction that changes the case, so the message exists if
and only if the change does. The idempotency key is unique: queueing the same message twice (a job
run twice, two clocks) returns the first row and sends nothing more.
"""

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from storage.models import MessageCase, OutboxMessage

CHANNELS = ("sms", "email", "voice")  # voice: an automated call (bot.calls)
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
# ``error_code`` of a message cancelled because its contact opted out of the channel after it was
# queued: for the family it is a failed delivery, and the first-day service moves them on.
OPTED_OUT = "opted-out"


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
    now: datetime,
) -> tuple[OutboxMessage, bool]:
    """Insert the message unless its key exists. Returns (message, created)."""
    [result] = enqueue_many(session, [dict(
        school_id=school_id, key=key, kind=kind, channel=channel, to_address=to_address, body=body,
        contact_id=contact_id, subject=subject, language=language, case_ids=case_ids,
    )], now=now)
    return result


def enqueue_many(session: Session, items: list[dict], *, now: datetime) -> list[tuple[OutboxMessage, bool]]:
    """Queue many messages in a few statements (a trust's register close queues thousands).

    Each item has the keyword arguments of ``enqueue``. Keys that already exist return the
    existing row, unchanged. Returns (message, created) in the order of ``items``.
    """
    for item in items:
        assert item["channel"] in CHANNELS
    keys = [item["key"] for item in items]
    existing = {
        m.idempotency_key: m
        for m in session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key.in_(keys))).all()
    }
    fresh = {item["key"]: item for item in items if item["key"] not in existing}
    created: dict[str, OutboxMessage] = {}
    if fresh:
        rows = [
            {
                "school_id": item["school_id"], "idempotency_key": key, "kind": item["kind"],
                "channel": item["channel"], "contact_id": item.get("contact_id"),
                "to_address": item["to_address"], "subject": item.get("subject"), "body": item["body"],
                "language": item.get("language") or "en", "status": "queued", "attempts": 0,
                "created_at": now, "updated_at": now, "next_attempt_at": now, "rerouted": False,
            }
            for key, item in fresh.items()
        ]
        try:
            with session.begin_nested():
                messages = session.scalars(insert(OutboxMessage).returning(OutboxMessage), rows).all()
                created = {m.idempotency_key: m for m in messages}
                links = [
                    {"message_id": created[key].id, "case_id": case_id}
                    for key, item in fresh.items()
                    for case_id in dict.fromkeys(item.get("case_ids") or ())
                ]
                if links:
                    session.execute(insert(MessageCase), links)
        except IntegrityError:
            # Another worker queued some of these between our read and write: take them one by one.
            if len(items) == 1:
                row = session.exec(
                    select(OutboxMessage).where(OutboxMessage.idempotency_key == keys[0])
                ).first()
                if row is None:
                    raise
                return [(row, False)]
            return [enqueue_many(session, [item], now=now)[0] for item in items]
    return [
        (created[item["key"]], True) if item["key"] in created else (existing[item["key"]], False)
        for item in items
    ]


def advance_status(message: OutboxMessage, new_status: str, *, now: datetime) -> bool:
    """Move a message's status forward only (callbacks repeat and arrive out of order)."""
    if new_status not in STATUS_ORDER:
        return False
    if message.status in FINAL or STATUS_ORDER[new_status] <= STATUS_ORDER[message.status]:
        return False
    message.status = new_status
    message.updated_at = now
    return True
