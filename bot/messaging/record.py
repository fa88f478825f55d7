"""Recording what happened to each claimed message, as its send completes.

The meaning of a failure decides the row's next state (``bot.messaging.sender`` gives the
overview): the family's own failure counts towards ``OUTBOX_MAX_ATTEMPTS``; the provider's never
does (``outage_tries``) and is retried with a short capped backoff; "written, no answer" waits as
``unknown``. A row a status callback moved on meanwhile keeps what the callback said. After the
results are stored, each provider's health is noted for the operators (``bot.messaging.health``).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.messaging import health
from bot.messaging.claim import PROCESS_TOKEN, Claimed
from bot.messaging.outbox import advance_status
from bot.messaging.transports import DeliveryError, PermanentFailure, SendResult
from bot.settings import Settings
from storage.db import session_scope
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 30
BACKOFF_FACTOR = 4
BACKOFF_CAP_SECONDS = 3600
OUTAGE_BACKOFF_CAP_SECONDS = 300  # a provider back up is used within five minutes
LOOK_AFTER = timedelta(minutes=2)  # an unanswered send is looked up this long after the silence


@dataclass
class SendSummary:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    recovered: int = 0  # rows found stuck in ``sending`` and taken back
    unknown: int = 0  # written, no answer: waiting for the callback or a look-up
    expired: int = 0  # cancelled unsent after ``valid_until`` (not the family's failure)
    down: set[str] = field(default_factory=set)  # channels whose provider failed wholesale
    woke: int = 0  # messages held by an outage made due again when the provider answered

    NAMES = ("sent", "failed", "retried", "cancelled", "recovered", "unknown", "expired")

    def add(self, other: "SendSummary") -> None:
        for name in self.NAMES:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.down |= other.down
        self.woke += other.woke

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.NAMES}


@dataclass
class Outcome:
    message: Claimed
    result: SendResult | None = None
    error: DeliveryError | None = None
    resent: bool = False  # an unknown message sent again

    @property
    def message_id(self) -> int:
        return self.message.id


def backoff(attempts: int) -> timedelta:
    """Delay before a family's try ``attempts + 1``: 30 s, 2 min, 8 min, 32 min, then hourly."""
    seconds = BACKOFF_BASE_SECONDS * BACKOFF_FACTOR ** max(0, attempts - 1)
    return timedelta(seconds=min(seconds, BACKOFF_CAP_SECONDS))


def outage_backoff(tries: int) -> timedelta:
    """Delay after the provider's failure ``tries``: 30 s, 1, 2, 4 min, then every 5 min."""
    seconds = BACKOFF_BASE_SECONDS * 2 ** max(0, tries - 1)
    return timedelta(seconds=min(seconds, OUTAGE_BACKOFF_CAP_SECONDS))


_SENT = (
    update(OutboxMessage.__table__)
    .where(OutboxMessage.__table__.c.id == bindparam("_id"))
    .values(
        provider_id=bindparam("_provider_id"),
        status=bindparam("_status"),
        sent_at=bindparam("_at"),
        updated_at=bindparam("_at"),
        error=None,
    )
)


def record(engine: Engine, outcomes: list[Outcome], *, settings: Settings, now: datetime) -> SendSummary:
    """Store what happened to these messages, then note whether each provider answered."""
    summary = SendSummary()
    by_id = {o.message_id: o for o in outcomes}
    with session_scope(engine) as session:
        current = {
            mid: (status == "sending" and token == PROCESS_TOKEN)
            for mid, status, token in session.execute(
                select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.claim_token)
                .where(OutboxMessage.id.in_(list(by_id)))
                .with_for_update()
            ).all()
        }
        # The usual case, a first send that went, in one executemany.
        plain = [
            o
            for o in outcomes
            if current.get(o.message_id) and went(o) and not o.resent and not o.message.was_unknown
        ]
        if plain:
            session.execute(
                _SENT,
                [
                    {
                        "_id": o.message_id,
                        "_provider_id": o.result.provider_id,
                        "_status": o.result.status,
                        "_at": now,
                    }
                    for o in plain
                ],
            )
            summary.sent += len(plain)
            for o in plain:
                _log_sent(o.message, o.result)
        rest = [mid for mid in by_id if mid in current and by_id[mid] not in plain]
        for message in session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(rest))).all():
            _record_one(
                message,
                by_id[message.id],
                mine=current[message.id],
                settings=settings,
                now=now,
                summary=summary,
            )
    summary.down, summary.woke = _note_providers(engine, outcomes, now=now)
    return summary


def _record_one(
    message: OutboxMessage,
    outcome: Outcome,
    *,
    mine: bool,
    settings: Settings,
    now: datetime,
    summary: SendSummary,
) -> None:
    if not mine:
        # A status callback (or another sender after STUCK_AFTER) moved the row on meanwhile: a
        # success is still worth its provider id; a failure must not undo what the callback said.
        if went(outcome):
            _record_sent(message, outcome.result, overwrite=False, now=now)
            summary.sent += 1
        else:
            log.info("outbox: message=%s moved on while sending; result ignored", message.id)
        return
    if outcome.resent and (went(outcome) or (outcome.error and outcome.error.unknown)):
        message.resends += 1
    if went(outcome):
        _record_sent(message, outcome.result, overwrite=True, now=now)
        summary.sent += 1
        _log_sent(outcome.message, outcome.result)
        return
    _record_failure(message, outcome, settings=settings, now=now, summary=summary)


def _record_failure(
    message: OutboxMessage, outcome: Outcome, *, settings: Settings, now: datetime, summary: SendSummary
) -> None:
    error = outcome.error or PermanentFailure(f"provider said {outcome.result.status}")
    if outcome.result is not None:
        message.provider_id = outcome.result.provider_id
    message.error_code = error.code
    message.error = str(error)[:500]
    message.updated_at = now
    if error.unknown:  # wait for its callback, then look it up (``_deliver``)
        message.status = "unknown"
        message.outage_tries += 1
        message.next_attempt_at = now + max(LOOK_AFTER, outage_backoff(message.outage_tries))
        summary.unknown += 1
        log.info(
            "outbox: no answer for message=%s channel=%s; waiting to look it up", message.id, message.channel
        )
        return
    if error.provider_wide:  # never the family's: retried until the message expires
        message.status = "unknown" if outcome.message.was_unknown else "queued"
        message.outage_tries += 1
        message.next_attempt_at = now + outage_backoff(message.outage_tries)
        summary.retried += 1
        log.info(
            "outbox: provider failed message=%s channel=%s code=%s; retry",
            message.id,
            message.channel,
            error.code,
        )
        return
    family_tries = message.attempts - message.outage_tries
    if not error.permanent and family_tries < settings.outbox_max_attempts:
        message.status = "queued"
        message.next_attempt_at = now + backoff(family_tries)
        summary.retried += 1
        log.info(
            "outbox: retry message=%s channel=%s attempt=%s code=%s",
            message.id,
            message.channel,
            family_tries,
            error.code,
        )
        return
    message.status = "failed"
    summary.failed += 1
    log.warning(
        "outbox: failed message=%s contact=%s channel=%s attempts=%s code=%s",
        message.id,
        message.contact_id,
        message.channel,
        message.attempts,
        error.code,
    )


def _note_providers(engine: Engine, outcomes: list[Outcome], *, now: datetime) -> tuple[set[str], int]:
    """Record which providers answered. Returns the channels whose provider failed wholesale here,
    and how many held messages were made due again because their provider answers again.

    Its own transaction, after the results are safe: a race on the health row must never cost a
    result.
    """
    failing: dict[str, str] = {}
    ok: set[str] = set()
    for o in outcomes:
        provider = health.PROVIDER_OF.get(o.message.channel)
        if provider is None:
            continue
        if o.error is not None and o.error.provider_wide:
            failing.setdefault(provider, f"{type(o.error).__name__} {o.error.code or ''}".strip())
        else:
            ok.add(provider)
    woke = 0
    try:
        with session_scope(engine) as session:
            recovered = health.record(session, failing=failing, ok=ok, now=now)
            if recovered:
                woke = _due_again(session, providers=recovered, now=now)
    except Exception:  # the health note is for the operators; the results are already stored
        log.warning("outbox: could not record provider health", exc_info=True)
    down = set(failing) - ok
    return {channel for channel, provider in health.PROVIDER_OF.items() if provider in down}, woke


def _due_again(session: Session, *, providers: set[str], now: datetime) -> int:
    """The provider answers again: what its outage held back is due now, not at its next backoff
    (first-day texts go out within the minute)."""
    channels = [c for c, p in health.PROVIDER_OF.items() if p in providers]
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == "queued",
            OutboxMessage.channel.in_(channels),
            OutboxMessage.outage_tries > 0,
            OutboxMessage.next_attempt_at > now,
        )
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        log.info("outbox: %d message(s) held by the outage are due again", result.rowcount)
    return result.rowcount or 0


def _log_sent(message: Claimed, result: SendResult) -> None:
    log.info(
        "outbox: sent message=%s contact=%s channel=%s status=%s provider=%s",
        message.id,
        message.contact_id,
        message.channel,
        result.status,
        result.provider_id,
    )


def went(outcome: Outcome) -> bool:
    return outcome.result is not None and outcome.result.status not in ("failed", "undelivered")


def _record_sent(message: OutboxMessage, result: SendResult, *, overwrite: bool, now: datetime) -> None:
    if overwrite or message.provider_id is None:
        message.provider_id = result.provider_id
    elif message.provider_id != result.provider_id:
        log.warning(
            "outbox: message=%s went twice (provider ids %s, %s)",
            message.id,
            message.provider_id,
            result.provider_id,
        )
    message.sent_at = now if overwrite or message.sent_at is None else message.sent_at
    message.error = None
    if message.status in ("sending", "unknown", "queued"):
        message.status = result.status  # ours -> the provider's first status
    else:
        advance_status(message, result.status, now=now)  # a callback got there first: never move back
    message.updated_at = now
