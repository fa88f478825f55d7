"""Delivering the outbox: claim due messages, send them outside any transaction, record the result.

The loop, one batch at a time:

1. **Claim** (one short transaction). Due rows (``queued``, ``next_attempt_at <= now``) are selected
   ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so a second sender skips them; on SQLite every
   transaction starts ``BEGIN IMMEDIATE`` (storage/db.py), so claimers run one after the other.
   In the same transaction the caller's ``before_send`` check says which messages should no longer
   go (the first-day service re-reads the register and cancels messages whose cases are explained
   or closed); messages to a contact who opted out of that channel are cancelled too (marked
   ``opted-out``). The rest are marked ``sending`` with ``attempts + 1``. Commit: from here no other
   sender will pick them.
2. **Send** with a small thread pool, holding no database connection or lock.
3. **Record** (one transaction): provider id, status and ``sent_at``; a transient failure goes back
   to ``queued`` with exponential backoff until ``outbox_max_attempts``; otherwise ``failed``.

The sender only records what happened. What to do next for a family whose message failed (email
instead, the next contact, an alert to staff) is decided after sending by the first-day service
(``bot.firstday.reroute``), which the send-outbox job runs.

At-least-once, not exactly-once: a sender that dies after the provider took a message but before
step 3 leaves the row in ``sending``. After ``STUCK_AFTER`` the next run puts it back in the queue
and it is sent again. Twilio's Messages API has no idempotency key to make that retry safe (its
``I-Twilio-Idempotency-Token`` belongs to webhooks Twilio sends, not to ``messages.create``), and
the status callback cannot help because the provider id was never stored. A rare duplicate text is
the price of never dropping one; the window is one HTTP request long.
"""

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.messaging import replyto
from bot.messaging.outbox import OPTED_OUT, advance_status
from bot.messaging.transports import (
    DeliveryError,
    PermanentFailure,
    SendResult,
    TransientFailure,
    Transports,
)
from bot.settings import Settings
from storage.db import session_scope
from storage.models import Contact, OutboxMessage

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 30
BACKOFF_FACTOR = 4
BACKOFF_CAP_SECONDS = 3600
STUCK_AFTER = timedelta(minutes=5)
DEFAULT_WORKERS = 8
DEFAULT_BATCH = 200
JOB_ROUND = 500  # the job loops in rounds of this many until a round finds less to do
STATUS_CALLBACK_PATH = "/twilio/status"

# The caller's pre-send check: (session, message ids, now) -> {message id: why it should not go}.
BeforeSend = Callable[..., dict[int, str]]


@dataclass
class SendSummary:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    recovered: int = 0  # rows found stuck in ``sending`` and put back in the queue

    def add(self, other: "SendSummary") -> None:
        for name in ("sent", "failed", "retried", "cancelled", "recovered"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict:
        return {"sent": self.sent, "failed": self.failed, "retried": self.retried,
                "cancelled": self.cancelled, "recovered": self.recovered}


@dataclass(frozen=True)
class _Claimed:
    """A claimed message, copied out of the session so worker threads never touch the ORM."""

    id: int
    channel: str
    to_address: str
    subject: str | None
    body: str
    contact_id: int | None


@dataclass
class _Outcome:
    message: _Claimed
    result: SendResult | None = None
    error: DeliveryError | None = None

    @property
    def message_id(self) -> int:
        return self.message.id


def backoff(attempts: int) -> timedelta:
    """Delay before try ``attempts + 1``: 30 s, 2 min, 8 min, 32 min, then hourly."""
    seconds = BACKOFF_BASE_SECONDS * BACKOFF_FACTOR ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, BACKOFF_CAP_SECONDS))


def status_callback_url(settings: Settings) -> str:
    return settings.public_base_url.rstrip("/") + STATUS_CALLBACK_PATH


def send_due(
    engine: Engine,
    *,
    transports: Transports,
    settings: Settings,
    now: datetime,
    before_send: BeforeSend | None = None,
    limit: int = 500,
    workers: int = DEFAULT_WORKERS,
    batch_size: int = DEFAULT_BATCH,
) -> SendSummary:
    """Send up to ``limit`` messages due at ``now``; safe to run from several threads or processes.

    ``before_send(session, message_ids=..., now=...)`` runs inside each claim and returns the
    messages that should no longer go, with the reason; they are cancelled instead of sent.
    """
    summary = SendSummary()
    summary.recovered = requeue_stuck(engine, now=now)
    callback = status_callback_url(settings)
    # Family emails carry a reply address naming the message when the bot reads the mailbox.
    reply_to = (lambda message_id: replyto.address(settings, message_id)) if settings.imap_enabled else None
    remaining = limit
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="outbox") as pool:
        while remaining > 0:
            claimed, cancelled = _claim(engine, now=now, limit=min(batch_size, remaining),
                                        before_send=before_send)
            summary.cancelled += cancelled
            remaining -= len(claimed) + cancelled
            if not claimed:
                if cancelled:
                    continue
                break
            outcomes = list(pool.map(lambda m: _deliver(m, transports, callback, reply_to=reply_to), claimed))
            summary.add(_record(engine, outcomes, settings=settings, now=now))
    return summary


# --------------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------------


def requeue_stuck(engine: Engine, *, now: datetime) -> int:
    """Put back rows left in ``sending`` by a sender that died (see the module docstring)."""
    with session_scope(engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending", OutboxMessage.updated_at < now - STUCK_AFTER)
            .values(status="queued", next_attempt_at=now, updated_at=now,
                    error="requeued after a sender stopped mid-send")
        )
        count = result.rowcount or 0
    if count:
        log.warning("outbox: requeued %d message(s) stuck in sending", count)
    return count


def _claim(
    engine: Engine, *, now: datetime, limit: int, before_send: BeforeSend | None
) -> tuple[list[_Claimed], int]:
    """Lock and mark a batch ``sending``; cancel the ones that should no longer go (set-based)."""
    with session_scope(engine) as session:
        rows = [
            _Claimed(*row)
            for row in session.execute(
                select(OutboxMessage.id, OutboxMessage.channel, OutboxMessage.to_address,
                       OutboxMessage.subject, OutboxMessage.body, OutboxMessage.contact_id)
                .where(OutboxMessage.status == "queued", OutboxMessage.next_attempt_at <= now)
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
        ]
        if not rows:
            return [], 0
        unwanted = before_send(session, message_ids=[m.id for m in rows], now=now) if before_send else {}
        opted_out = _opted_out(session, rows)
        cancel = {**opted_out, **unwanted}
        if cancel:
            for message in session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(list(cancel)))):
                message.status = "cancelled"
                message.error = cancel[message.id]
                # Opted out since it was queued: as if the provider refused it (21610); the family
                # is moved on after sending (``bot.firstday.reroute``).
                message.error_code = OPTED_OUT if message.id not in unwanted else None
                message.updated_at = now
                log.info("outbox: cancelled message=%s contact=%s channel=%s (%s)",
                         message.id, message.contact_id, message.channel, cancel[message.id])
        claimed = [m for m in rows if m.id not in cancel]
        if claimed:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([c.id for c in claimed]))
                .values(status="sending", attempts=OutboxMessage.attempts + 1, updated_at=now)
                .execution_options(synchronize_session=False)
            )
    return claimed, len(cancel)


def _opted_out(session: Session, rows: list[_Claimed]) -> dict[int, str]:
    """Messages whose contact has opted out of that channel since they were queued."""
    contact_ids = {m.contact_id for m in rows if m.contact_id is not None}
    if not contact_ids:
        return {}
    flags = {
        cid: (sms, email)
        for cid, sms, email in session.exec(
            select(Contact.id, Contact.sms_opt_out, Contact.email_opt_out).where(Contact.id.in_(contact_ids))
        ).all()
    }
    out: dict[int, str] = {}
    for m in rows:
        sms, email = flags.get(m.contact_id, (False, False))
        if (m.channel == "sms" and sms) or (m.channel == "email" and email):
            out[m.id] = f"contact opted out of {m.channel}"
    return out


def _deliver(message: _Claimed, transports: Transports, callback: str, *, reply_to=None) -> _Outcome:
    """Runs in a worker thread: no session, no ORM object, only the copied fields."""
    try:
        if message.channel == "sms":
            result = transports.sms.send(message.to_address, message.body, status_callback=callback)
        elif message.channel == "email":
            address = reply_to(message.id) if reply_to and message.contact_id is not None else None
            result = transports.email.send(message.to_address, message.subject or "", message.body,
                                           reply_to=address)
        elif message.channel == "voice":  # an automated call: the script is fetched from our webhooks
            result = transports.voice.call(message.to_address, message_id=message.id)
        else:
            raise PermanentFailure(f"unknown channel {message.channel!r}")
    except DeliveryError as exc:
        return _Outcome(message, error=exc)
    except Exception as exc:  # a bug in a transport must not lose the message: retry it
        log.exception("outbox: transport raised for message=%s", message.id)
        return _Outcome(message, error=TransientFailure(f"unexpected {type(exc).__name__}"))
    return _Outcome(message, result=result)


_SENT = (
    update(OutboxMessage.__table__)
    .where(OutboxMessage.__table__.c.id == bindparam("_id"))
    .values(provider_id=bindparam("_provider_id"), status=bindparam("_status"), sent_at=bindparam("_at"),
            updated_at=bindparam("_at"), error=None)
)


def _record(engine: Engine, outcomes: list[_Outcome], *, settings: Settings, now: datetime) -> SendSummary:
    """Store what happened: one executemany for the usual case, the ORM for failures and oddities."""
    summary = SendSummary()
    by_id = {o.message_id: o for o in outcomes}
    with session_scope(engine) as session:
        statuses = dict(session.execute(
            select(OutboxMessage.id, OutboxMessage.status)
            .where(OutboxMessage.id.in_(list(by_id)))
            .with_for_update()
        ).all())
        plain = [o for o in outcomes if statuses.get(o.message_id) == "sending" and _went(o)]
        if plain:
            session.execute(_SENT, [
                {"_id": o.message_id, "_provider_id": o.result.provider_id, "_status": o.result.status,
                 "_at": now}
                for o in plain
            ])
            summary.sent += len(plain)
            for o in plain:
                log.info("outbox: sent message=%s contact=%s channel=%s status=%s provider=%s",
                         o.message_id, o.message.contact_id, o.message.channel, o.result.status,
                         o.result.provider_id)
        done = {o.message_id for o in plain}
        rest = [mid for mid in by_id if mid in statuses and mid not in done]
        if not rest:
            return summary
        for message in session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(rest))).all():
            outcome = by_id[message.id]
            if _went(outcome):
                _record_sent(message, outcome.result, now=now)
                summary.sent += 1
                log.info("outbox: sent message=%s contact=%s channel=%s status=%s provider=%s",
                         message.id, message.contact_id, message.channel, message.status,
                         message.provider_id)
                continue
            error = outcome.error or PermanentFailure(f"provider said {outcome.result.status}")
            if outcome.result is not None:
                message.provider_id = outcome.result.provider_id
            message.error_code = error.code
            message.error = str(error)[:500]
            message.updated_at = now
            if not error.permanent and message.attempts < settings.outbox_max_attempts:
                message.status = "queued"
                message.next_attempt_at = now + backoff(message.attempts)
                summary.retried += 1
                log.info("outbox: retry message=%s channel=%s attempt=%s code=%s",
                         message.id, message.channel, message.attempts, error.code)
                continue
            message.status = "failed"
            summary.failed += 1
            log.warning("outbox: failed message=%s contact=%s channel=%s attempts=%s code=%s",
                        message.id, message.contact_id, message.channel, message.attempts, error.code)
    return summary


def _went(outcome: _Outcome) -> bool:
    return outcome.result is not None and outcome.result.status not in ("failed", "undelivered")


def _record_sent(message: OutboxMessage, result: SendResult, *, now: datetime) -> None:
    message.provider_id = result.provider_id
    message.sent_at = now
    message.error = None
    if message.status == "sending":
        message.status = result.status  # ours -> the provider's first status
    else:
        advance_status(message, result.status, now=now)  # a callback got there first: never move back
    message.updated_at = now
