"""Claiming due outbox messages for a sender, and taking back what a stopped sender left.

A claim is one short transaction (``bot.messaging.sender`` describes the loop around it): due rows
(``queued`` or ``unknown``) are locked ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (a second sender
skips them; on SQLite transactions run one after the other), rows past ``valid_until`` are cancelled
as expired, the caller's ``before_send`` check and opt-outs cancel the ones that should not go, and
the rest become ``sending`` with the sender's name and this process's ``PROCESS_TOKEN``.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.messaging.outbox import EXPIRED, OPTED_OUT
from storage.db import session_scope
from storage.models import Contact, OutboxMessage

log = logging.getLogger(__name__)

STUCK_AFTER = timedelta(minutes=5)
# This process's run: rows it claims carry it, so a restart under the same name knows the rows
# left ``sending`` are its previous run's, not its own in flight.
PROCESS_TOKEN = uuid.uuid4().hex[:16]

# The caller's pre-send check: (session, message ids, now) -> {message id: why it should not go}.
BeforeSend = Callable[..., dict[int, str]]


@dataclass(frozen=True)
class Claimed:
    """A claimed message, copied out of the session so worker threads never touch the ORM."""

    id: int
    channel: str
    to_address: str
    subject: str | None
    body: str
    contact_id: int | None
    created_at: datetime
    was_unknown: bool = False  # its last send had no answer: look it up before sending again
    resends: int = 0
    taken_sids: frozenset[str] = frozenset()  # provider ids of other rows (a look-up must skip them)


def requeue_stuck(engine: Engine, *, now: datetime, name: str | None = None) -> int:
    """Take back rows left ``sending``: at once when our own previous run left them, else after
    ``STUCK_AFTER``. They may have reached the provider, so they come back ``unknown``."""
    mine_before = (OutboxMessage.claimed_by == name) & (OutboxMessage.claim_token != PROCESS_TOKEN)
    stale = OutboxMessage.updated_at < now - STUCK_AFTER
    with session_scope(engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending", or_(stale, mine_before) if name else stale)
            .values(
                status="unknown",
                next_attempt_at=now,
                updated_at=now,
                outage_tries=OutboxMessage.outage_tries + 1,
                error="taken back after a sender stopped mid-send",
            )
            .execution_options(synchronize_session=False)
        )
        count = result.rowcount or 0
    if count:
        log.warning("outbox: took back %d message(s) left in sending", count)
    return count


_CLAIM_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.channel,
    OutboxMessage.to_address,
    OutboxMessage.subject,
    OutboxMessage.body,
    OutboxMessage.contact_id,
    OutboxMessage.created_at,
)


def claim(
    engine: Engine,
    *,
    now: datetime,
    limit: int,
    before_send: BeforeSend | None,
    name: str = "",
    skip: set[str] = frozenset(),
) -> tuple[list[Claimed], int, int]:
    """Lock due rows and mark them ``sending``; expire and cancel the ones that should not go.

    Returns (claimed, how many cancelled, how many expired).
    """
    cancelled = expired_count = 0
    with session_scope(engine) as session:
        query = select(
            *_CLAIM_COLUMNS, OutboxMessage.status, OutboxMessage.resends, OutboxMessage.valid_until
        ).where(OutboxMessage.status.in_(("queued", "unknown")), OutboxMessage.next_attempt_at <= now)
        if skip:
            query = query.where(OutboxMessage.channel.not_in(sorted(skip)))
        found = session.execute(
            query.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not found:
            return [], 0, 0
        expired = {
            row.id: row.status for row in found if row.valid_until is not None and row.valid_until <= now
        }
        if expired:
            _expire(session, expired, now=now)
            expired_count = len(expired)
        rows = [
            Claimed(*row[:7], was_unknown=row.status == "unknown", resends=row.resends)
            for row in found
            if row.id not in expired
        ]
        if not rows:
            return [], 0, expired_count
        unwanted = before_send(session, message_ids=[m.id for m in rows], now=now) if before_send else {}
        cancel = {**_opted_out(session, rows), **unwanted}
        if cancel:
            _cancel(session, cancel, unwanted=unwanted, now=now)
            cancelled = len(cancel)
        claimed = _with_taken_sids(session, [m for m in rows if m.id not in cancel])
        if claimed:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([c.id for c in claimed]))
                .values(
                    status="sending",
                    attempts=OutboxMessage.attempts + 1,
                    updated_at=now,
                    claimed_by=name[:64] or None,
                    claim_token=PROCESS_TOKEN,
                )
                .execution_options(synchronize_session=False)
            )
    return claimed, cancelled, expired_count


def _expire(session: Session, expired: dict[int, str], *, now: datetime) -> None:
    """Past ``valid_until`` unsent: cancelled as expired. The provider's failure, not the family's."""
    for message in session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(list(expired)))):
        message.status = "cancelled"
        message.error_code = EXPIRED
        message.error = (
            "expired: no answer from the provider and no record of it there"
            if expired[message.id] == "unknown"
            else "expired unsent: the provider did not take it while it was worth sending"
        )
        message.updated_at = now
        log.warning(
            "outbox: expired message=%s contact=%s channel=%s outage_tries=%s",
            message.id,
            message.contact_id,
            message.channel,
            message.outage_tries,
        )


def _cancel(session: Session, cancel: dict[int, str], *, unwanted: dict[int, str], now: datetime) -> None:
    for message in session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(list(cancel)))):
        message.status = "cancelled"
        message.error = cancel[message.id]
        # Opted out since it was queued: as if the provider refused it (21610); the family
        # is moved on after sending (``bot.firstday.reroute``).
        message.error_code = OPTED_OUT if message.id not in unwanted else None
        message.updated_at = now
        log.info(
            "outbox: cancelled message=%s contact=%s channel=%s (%s)",
            message.id,
            message.contact_id,
            message.channel,
            cancel[message.id],
        )


def _with_taken_sids(session: Session, rows: list[Claimed]) -> list[Claimed]:
    """Give each unknown message the provider ids other rows to its number hold (a look-up that
    finds one of those has found another message, not this one)."""
    unknown = [m for m in rows if m.was_unknown]
    if not unknown:
        return rows
    taken: dict[str, set[str]] = {}
    for to, sid in session.execute(
        select(OutboxMessage.to_address, OutboxMessage.provider_id).where(
            OutboxMessage.to_address.in_({m.to_address for m in unknown}),
            OutboxMessage.provider_id.is_not(None),
            OutboxMessage.id.not_in([m.id for m in unknown]),
        )
    ).all():
        taken.setdefault(to, set()).add(sid)
    return [
        replace(m, taken_sids=frozenset(taken.get(m.to_address, ()))) if m.was_unknown else m for m in rows
    ]


def _opted_out(session: Session, rows: list[Claimed]) -> dict[int, str]:
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
