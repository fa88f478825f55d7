"""Queueing messages in the outbox.

A service calls ``enqueue`` inside the transaction that changes the case, so the message exists if
and only if the change does. The idempotency key is unique: queueing the same message twice (a job
run twice, two clocks) returns the first row and sends nothing more.

Every message is queued with ``valid_until``, after which sending it is worthless
(``valid_until``): a message about today's absence is good until the end of the school's day, any
other for three days. A message still unsent then (a provider outage all afternoon) is cancelled
as expired: the provider's failure, never the family's, so nobody is rerouted or alerted.
"""

from datetime import datetime, time, timedelta

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import clock
from storage.models import MessageCase, OutboxMessage, School

CHANNELS = ("sms", "email", "voice")  # voice: an automated call (bot.calls)
# Delivery states in the order they can move; a status never moves backwards.
STATUS_ORDER = {
    "queued": 0,
    "sending": 1,
    "unknown": 1,  # sent, no answer: a callback or a look-up at the provider will tell
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
# ``error_code`` of a message cancelled unsent after ``valid_until`` (the provider was down, or said
# nothing): not a failure to reach the family; nothing is rerouted.
EXPIRED = "expired"
# Messages about the day's absence: worthless after the school's day (local time).
SAME_DAY_KINDS = frozenset({"first_day", "chase", "expected_back", "still_absent"})
SCHOOL_DAY_ENDS = time(18, 0)
SAME_DAY_AT_LEAST = timedelta(hours=1)
OTHER_VALIDITY = timedelta(days=3)


def valid_until(kind: str, *, timezone: str, now: datetime) -> datetime:
    """When a message queued at ``now`` stops being worth sending.

    A message about today's absence: 18:00 in the school's zone on the day it was queued (at least
    an hour after queueing). Anything else (thanks, staff email, report links): three days.
    """
    if kind not in SAME_DAY_KINDS:
        return now + OTHER_VALIDITY
    day = clock.to_local(now, timezone).date()
    return max(clock.at_local(day, SCHOOL_DAY_ENDS, timezone), now + SAME_DAY_AT_LEAST)


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
    [result] = enqueue_many(
        session,
        [
            dict(
                school_id=school_id,
                key=key,
                kind=kind,
                channel=channel,
                to_address=to_address,
                body=body,
                contact_id=contact_id,
                subject=subject,
                language=language,
                case_ids=case_ids,
            )
        ],
        now=now,
    )
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
        rows = _new_rows(session, fresh, now=now)
        try:
            with session.begin_nested():
                created = _insert(session, fresh, rows)
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


def _new_rows(session: Session, fresh: dict[str, dict], *, now: datetime) -> list[dict]:
    """Insert rows for the new messages (by key), each ``valid_until`` worked out in its school's zone.

    The schools' time zones are read once for the batch rather than once per message.
    """
    zones = dict(
        session.exec(
            select(School.id, School.timezone).where(School.id.in_({i["school_id"] for i in fresh.values()}))
        ).all()
    )
    return [
        {
            "school_id": item["school_id"],
            "idempotency_key": key,
            "kind": item["kind"],
            "channel": item["channel"],
            "contact_id": item.get("contact_id"),
            "to_address": item["to_address"],
            "subject": item.get("subject"),
            "body": item["body"],
            "language": item.get("language") or "en",
            "status": "queued",
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            "next_attempt_at": now,
            "rerouted": False,
            "valid_until": item.get("valid_until")
            or valid_until(item["kind"], timezone=zones.get(item["school_id"]) or "Europe/London", now=now),
            "outage_tries": 0,
            "resends": 0,
        }
        for key, item in fresh.items()
    ]


def _insert(session: Session, fresh: dict[str, dict], rows: list[dict]) -> dict[str, OutboxMessage]:
    """Insert the messages and link each to its cases (once per case); the new rows by key.

    Raises ``IntegrityError`` when another worker queued one of the keys first.
    """
    messages = session.scalars(insert(OutboxMessage).returning(OutboxMessage), rows).all()
    created = {m.idempotency_key: m for m in messages}
    links = [
        {"message_id": created[key].id, "case_id": case_id}
        for key, item in fresh.items()
        for case_id in dict.fromkeys(item.get("case_ids") or ())
    ]
    if links:
        session.execute(insert(MessageCase), links)
    return created


def advance_status(message: OutboxMessage, new_status: str, *, now: datetime) -> bool:
    """Move a message's status forward only (callbacks repeat and arrive out of order)."""
    if new_status not in STATUS_ORDER:
        return False
    if message.status in FINAL or STATUS_ORDER[new_status] <= STATUS_ORDER[message.status]:
        return False
    message.status = new_status
    message.updated_at = now
    return True
