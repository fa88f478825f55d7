"""Delivering the outbox: claim due messages, send them from a bounded pool, record each result.

The loop keeps up to ``SENDER_CONCURRENCY`` messages with the provider at once (a provider that
answers in a second then takes a trust's 3,000 first-day texts in under two minutes):

1. **Claim** (one short transaction) as many due rows (``queued`` or ``unknown``,
   ``next_attempt_at <= now``) as there are free workers: ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL, so a second sender skips them; on SQLite every transaction starts ``BEGIN
   IMMEDIATE`` (storage/db.py), so claimers run one after the other. Rows past ``valid_until``
   are cancelled as expired (never a failure to reach the family). The caller's ``before_send``
   check cancels messages that should no longer go (the first-day service re-reads the register);
   messages to a contact who opted out of the channel are cancelled (``opted-out``). The rest are
   marked ``sending`` with ``attempts + 1`` and the sender's name and run (``claimed_by``,
   ``claim_token``). Commit: from here no other sender will pick them.
2. **Send** in a worker thread, holding no database connection or lock.
3. **Record** each result as it completes, in a small transaction with whatever else finished at
   the same moment: a crash loses at most the requests in flight.

What a failure means decides what happens next (``bot.messaging.transports``):

- the family's (``PermanentFailure``): ``failed`` at once; ``TransientFailure`` (a full mailbox):
  back in the queue with backoff until ``OUTBOX_MAX_ATTEMPTS`` tries have failed that way;
- the provider's (``ProviderFailure``: 503, refused, 401, 20429): back in the queue with a short
  capped backoff, never counted against the family (``outage_tries``), until ``valid_until``, when
  it is cancelled as expired. The operators are told (``bot.messaging.health``). While a provider
  fails wholesale, a pass stops handing it more (it would only add load);
- unknown (``UnknownOutcome``: written, no answer): the provider probably has it. The row waits as
  ``unknown``; its status callback (the url names the row: ``?outbox=<id>``) attaches the
  provider's id and settles it. If none has come after ``LOOK_AFTER`` the provider is asked
  (``find``); only a message it does not have is sent again, and only once. (Calls and emails have
  no look-up: an unanswered one is sent again once.)

Crashes and deploys: a row left ``sending`` by this sender's previous run (same ``SENDER_NAME``,
another ``claim_token``) is taken back at once when it starts again; a row left by another sender
after ``STUCK_AFTER``. Either way it becomes ``unknown``: looked up before it is sent again. On
SIGTERM (``bot.shutdown``) the sender stops claiming and gives what is in flight
``SENDER_GRACE_SECONDS`` to finish and be recorded.

The sender only records what happened. What to do next for a family whose message failed is
decided after sending by the first-day service (``bot.firstday.reroute``).
"""

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import shutdown
from bot.messaging import health, replyto
from bot.messaging.outbox import EXPIRED, OPTED_OUT, advance_status
from bot.messaging.transports import (
    DeliveryError,
    PermanentFailure,
    ProviderFailure,
    SendResult,
    Transports,
    UnknownOutcome,
)
from bot.settings import Settings
from storage.db import session_scope
from storage.models import Contact, OutboxMessage

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 30
BACKOFF_FACTOR = 4
BACKOFF_CAP_SECONDS = 3600
OUTAGE_BACKOFF_CAP_SECONDS = 300  # a provider back up is used within five minutes
LOOK_AFTER = timedelta(minutes=2)  # an unanswered send is looked up this long after the silence
STUCK_AFTER = timedelta(minutes=5)
DEFAULT_BATCH = 200  # (kept for callers that pass it; the claim size is the free workers)
JOB_ROUND = 500  # the job loops in rounds of this many until a round finds less to do
STATUS_CALLBACK_PATH = "/twilio/status"
# This process's run: rows it claims carry it, so a restart under the same name knows the rows
# left ``sending`` are its previous run's, not its own in flight.
PROCESS_TOKEN = uuid.uuid4().hex[:16]

# The caller's pre-send check: (session, message ids, now) -> {message id: why it should not go}.
BeforeSend = Callable[..., dict[int, str]]


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


@dataclass(frozen=True)
class _Claimed:
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


@dataclass
class _Outcome:
    message: _Claimed
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


def sender_name(settings: Settings) -> str:
    """This sender's stable name: ``SENDER_NAME``, else the platform's ``DYNO`` (``clock.1``), else
    host and process id (unique, but not stable: its rows are then taken back after STUCK_AFTER)."""
    return (settings.sender_name or settings.dyno or f"{socket.gethostname()[:40]}:{os.getpid()}")[:64]


def status_callback_url(settings: Settings, message_id: int | None = None) -> str:
    """Where Twilio reports a text's status; the row's id rides along, inside what Twilio signs."""
    url = settings.public_base_url.rstrip("/") + STATUS_CALLBACK_PATH
    return url if message_id is None else f"{url}?outbox={message_id}"


def send_due(
    engine: Engine,
    *,
    transports: Transports,
    settings: Settings,
    now: datetime,
    before_send: BeforeSend | None = None,
    limit: int = 500,
    workers: int | None = None,
    batch_size: int | None = None,
) -> SendSummary:
    """Send up to ``limit`` messages due at ``now``; safe to run from several threads or processes.

    ``before_send(session, message_ids=..., now=...)`` runs inside each claim and returns the
    messages that should no longer go, with the reason; they are cancelled instead of sent.
    ``workers`` (default ``SENDER_CONCURRENCY``) bounds the requests in flight; ``batch_size``
    caps one claim.
    """
    name = sender_name(settings)
    summary = SendSummary(recovered=requeue_stuck(engine, now=now, name=name))
    workers = max(1, workers or settings.sender_concurrency)
    claim_max = min(workers, batch_size or workers)
    refill = max(1, claim_max // 4)  # claim again once a quarter of the workers are free
    reply_to = (lambda message_id: replyto.address(settings, message_id)) if settings.imap_enabled else None
    in_flight: dict[Future, _Claimed] = {}
    remaining, more, stop_seen = limit, True, None
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox")
    try:
        while True:
            free = workers - len(in_flight)
            if (more and remaining > 0 and not shutdown.requested()
                    and free >= (refill if in_flight else 1)):
                claimed, cancelled = _claim(engine, now=now, limit=min(free, claim_max, remaining),
                                            before_send=before_send, name=name, skip=summary.down)
                summary.add(cancelled)
                remaining -= len(claimed) + cancelled.cancelled + cancelled.expired
                more = bool(claimed) or bool(cancelled.cancelled + cancelled.expired)
                for message in claimed:
                    in_flight[pool.submit(_deliver, message, transports, settings, reply_to)] = message
                if claimed or more:
                    continue
            if not in_flight:
                break
            timeout = None
            if shutdown.requested():
                stop_seen = stop_seen or time.monotonic()
                timeout = max(0.0, settings.sender_grace_seconds - (time.monotonic() - stop_seen))
            done, _ = wait(list(in_flight), timeout=timeout, return_when=FIRST_COMPLETED)
            if not done:  # the grace is over: these stay ``sending`` and are ours to take back
                log.warning("outbox: stopping with %d message(s) in flight", len(in_flight))
                break
            outcomes = [future.result() for future in done]
            for future in done:
                del in_flight[future]
            recorded = _record(engine, outcomes, settings=settings, now=now)
            summary.add(recorded)
            more = more or recorded.woke > 0
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return summary


# --------------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------------


def requeue_stuck(engine: Engine, *, now: datetime, name: str | None = None) -> int:
    """Take back rows left ``sending``: at once when our own previous run left them, else after
    ``STUCK_AFTER``. They may have reached the provider, so they come back ``unknown``."""
    mine_before = (OutboxMessage.claimed_by == name) & (OutboxMessage.claim_token != PROCESS_TOKEN)
    stale = OutboxMessage.updated_at < now - STUCK_AFTER
    with session_scope(engine) as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending", or_(stale, mine_before) if name else stale)
            .values(status="unknown", next_attempt_at=now, updated_at=now,
                    outage_tries=OutboxMessage.outage_tries + 1,
                    error="taken back after a sender stopped mid-send")
            .execution_options(synchronize_session=False)
        )
        count = result.rowcount or 0
    if count:
        log.warning("outbox: took back %d message(s) left in sending", count)
    return count


_CLAIM_COLUMNS = (OutboxMessage.id, OutboxMessage.channel, OutboxMessage.to_address, OutboxMessage.subject,
                  OutboxMessage.body, OutboxMessage.contact_id, OutboxMessage.created_at)


def _claim(
    engine: Engine, *, now: datetime, limit: int, before_send: BeforeSend | None, name: str = "",
    skip: set[str] = frozenset(),
) -> tuple[list[_Claimed], SendSummary]:
    """Lock due rows and mark them ``sending``; expire and cancel the ones that should not go."""
    counts = SendSummary()
    with session_scope(engine) as session:
        query = (
            select(*_CLAIM_COLUMNS, OutboxMessage.status, OutboxMessage.resends, OutboxMessage.valid_until)
            .where(OutboxMessage.status.in_(("queued", "unknown")), OutboxMessage.next_attempt_at <= now)
        )
        if skip:
            query = query.where(OutboxMessage.channel.not_in(sorted(skip)))
        found = session.execute(
            query.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not found:
            return [], counts
        expired = {row.id: row.status for row in found
                   if row.valid_until is not None and row.valid_until <= now}
        if expired:
            _expire(session, expired, now=now)
            counts.expired = len(expired)
        rows = [_Claimed(*row[:7], was_unknown=row.status == "unknown", resends=row.resends)
                for row in found if row.id not in expired]
        if not rows:
            return [], counts
        unwanted = before_send(session, message_ids=[m.id for m in rows], now=now) if before_send else {}
        cancel = {**_opted_out(session, rows), **unwanted}
        if cancel:
            _cancel(session, cancel, unwanted=unwanted, now=now)
            counts.cancelled = len(cancel)
        claimed = _with_taken_sids(session, [m for m in rows if m.id not in cancel])
        if claimed:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([c.id for c in claimed]))
                .values(status="sending", attempts=OutboxMessage.attempts + 1, updated_at=now,
                        claimed_by=name[:64] or None, claim_token=PROCESS_TOKEN)
                .execution_options(synchronize_session=False)
            )
    return claimed, counts


def _expire(session: Session, expired: dict[int, str], *, now: datetime) -> None:
    """Past ``valid_until`` unsent: cancelled as expired. The provider's failure, not the family's."""
    for message in session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(list(expired)))):
        message.status = "cancelled"
        message.error_code = EXPIRED
        message.error = ("expired: no answer from the provider and no record of it there"
                         if expired[message.id] == "unknown"
                         else "expired unsent: the provider did not take it while it was worth sending")
        message.updated_at = now
        log.warning("outbox: expired message=%s contact=%s channel=%s outage_tries=%s",
                    message.id, message.contact_id, message.channel, message.outage_tries)


def _cancel(session: Session, cancel: dict[int, str], *, unwanted: dict[int, str], now: datetime) -> None:
    for message in session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(list(cancel)))):
        message.status = "cancelled"
        message.error = cancel[message.id]
        # Opted out since it was queued: as if the provider refused it (21610); the family
        # is moved on after sending (``bot.firstday.reroute``).
        message.error_code = OPTED_OUT if message.id not in unwanted else None
        message.updated_at = now
        log.info("outbox: cancelled message=%s contact=%s channel=%s (%s)",
                 message.id, message.contact_id, message.channel, cancel[message.id])


def _with_taken_sids(session: Session, rows: list[_Claimed]) -> list[_Claimed]:
    """Give each unknown message the provider ids other rows to its number hold (a look-up that
    finds one of those has found another message, not this one)."""
    unknown = [m for m in rows if m.was_unknown]
    if not unknown:
        return rows
    taken: dict[str, set[str]] = {}
    for to, sid in session.execute(
        select(OutboxMessage.to_address, OutboxMessage.provider_id)
        .where(OutboxMessage.to_address.in_({m.to_address for m in unknown}),
               OutboxMessage.provider_id.is_not(None), OutboxMessage.id.not_in([m.id for m in unknown]))
    ).all():
        taken.setdefault(to, set()).add(sid)
    return [
        replace(m, taken_sids=frozenset(taken.get(m.to_address, ()))) if m.was_unknown else m
        for m in rows
    ]


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


def _deliver(message: _Claimed, transports: Transports, settings: Settings, reply_to=None) -> _Outcome:
    """Runs in a worker thread: no session, no ORM object, only the copied fields."""
    resent = False
    try:
        if message.was_unknown:
            found = _look_up(message, transports)
            if found is not None:
                return _Outcome(message, result=found)
            if message.resends >= 1:  # sent twice already without an answer: never a third copy
                return _Outcome(message, error=UnknownOutcome("no record at the provider; not resent again",
                                                              code="no-answer"))
            resent = True
        result = _send(message, transports, settings, reply_to)
    except DeliveryError as exc:
        return _Outcome(message, error=exc, resent=resent)
    except Exception as exc:  # a bug in a transport must not lose the message, nor blame the family
        log.exception("outbox: transport raised for message=%s", message.id)
        return _Outcome(message, error=ProviderFailure(f"unexpected {type(exc).__name__}"), resent=resent)
    return _Outcome(message, result=result, resent=resent)


def _look_up(message: _Claimed, transports: Transports) -> SendResult | None:
    """The provider's own record of an unanswered send, when the transport can look (texts)."""
    find = getattr(transports.sms, "find", None) if message.channel == "sms" else None
    if find is None:
        return None
    return find(message.to_address, message.body, since=message.created_at, exclude=message.taken_sids)


def _send(message: _Claimed, transports: Transports, settings: Settings, reply_to) -> SendResult:
    if message.channel == "sms":
        return transports.sms.send(message.to_address, message.body,
                                   status_callback=status_callback_url(settings, message.id))
    if message.channel == "email":
        address = reply_to(message.id) if reply_to and message.contact_id is not None else None
        return transports.email.send(message.to_address, message.subject or "", message.body,
                                     reply_to=address)
    if message.channel == "voice":  # an automated call: the script is fetched from our webhooks
        return transports.voice.call(message.to_address, message_id=message.id)
    raise PermanentFailure(f"unknown channel {message.channel!r}")


_SENT = (
    update(OutboxMessage.__table__)
    .where(OutboxMessage.__table__.c.id == bindparam("_id"))
    .values(provider_id=bindparam("_provider_id"), status=bindparam("_status"), sent_at=bindparam("_at"),
            updated_at=bindparam("_at"), error=None)
)


def _record(engine: Engine, outcomes: list[_Outcome], *, settings: Settings, now: datetime) -> SendSummary:
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
        plain = [o for o in outcomes if current.get(o.message_id) and _went(o) and not o.resent
                 and not o.message.was_unknown]
        if plain:
            session.execute(_SENT, [
                {"_id": o.message_id, "_provider_id": o.result.provider_id, "_status": o.result.status,
                 "_at": now}
                for o in plain
            ])
            summary.sent += len(plain)
            for o in plain:
                _log_sent(o.message, o.result)
        rest = [mid for mid in by_id if mid in current and by_id[mid] not in plain]
        for message in session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(rest))).all():
            _record_one(message, by_id[message.id], mine=current[message.id], settings=settings, now=now,
                        summary=summary)
    summary.down, summary.woke = _note_providers(engine, outcomes, now=now)
    return summary


def _record_one(message: OutboxMessage, outcome: _Outcome, *, mine: bool, settings: Settings, now: datetime,
                summary: SendSummary) -> None:
    if not mine:
        # A status callback (or another sender after STUCK_AFTER) moved the row on meanwhile: a
        # success is still worth its provider id; a failure must not undo what the callback said.
        if _went(outcome):
            _record_sent(message, outcome.result, overwrite=False, now=now)
            summary.sent += 1
        else:
            log.info("outbox: message=%s moved on while sending; result ignored", message.id)
        return
    if outcome.resent and (_went(outcome) or (outcome.error and outcome.error.unknown)):
        message.resends += 1
    if _went(outcome):
        _record_sent(message, outcome.result, overwrite=True, now=now)
        summary.sent += 1
        _log_sent(outcome.message, outcome.result)
        return
    _record_failure(message, outcome, settings=settings, now=now, summary=summary)


def _record_failure(message: OutboxMessage, outcome: _Outcome, *, settings: Settings, now: datetime,
                    summary: SendSummary) -> None:
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
        log.info("outbox: no answer for message=%s channel=%s; waiting to look it up", message.id,
                 message.channel)
        return
    if error.provider_wide:  # never the family's: retried until the message expires
        message.status = "unknown" if outcome.message.was_unknown else "queued"
        message.outage_tries += 1
        message.next_attempt_at = now + outage_backoff(message.outage_tries)
        summary.retried += 1
        log.info("outbox: provider failed message=%s channel=%s code=%s; retry", message.id, message.channel,
                 error.code)
        return
    family_tries = message.attempts - message.outage_tries
    if not error.permanent and family_tries < settings.outbox_max_attempts:
        message.status = "queued"
        message.next_attempt_at = now + backoff(family_tries)
        summary.retried += 1
        log.info("outbox: retry message=%s channel=%s attempt=%s code=%s",
                 message.id, message.channel, family_tries, error.code)
        return
    message.status = "failed"
    summary.failed += 1
    log.warning("outbox: failed message=%s contact=%s channel=%s attempts=%s code=%s",
                message.id, message.contact_id, message.channel, message.attempts, error.code)


def _note_providers(engine: Engine, outcomes: list[_Outcome], *, now: datetime) -> tuple[set[str], int]:
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
        .where(OutboxMessage.status == "queued", OutboxMessage.channel.in_(channels),
               OutboxMessage.outage_tries > 0, OutboxMessage.next_attempt_at > now)
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:
        log.info("outbox: %d message(s) held by the outage are due again", result.rowcount)
    return result.rowcount or 0


def _log_sent(message: _Claimed, result: SendResult) -> None:
    log.info("outbox: sent message=%s contact=%s channel=%s status=%s provider=%s",
             message.id, message.contact_id, message.channel, result.status, result.provider_id)


def _went(outcome: _Outcome) -> bool:
    return outcome.result is not None and outcome.result.status not in ("failed", "undelivered")


def _record_sent(message: OutboxMessage, result: SendResult, *, overwrite: bool, now: datetime) -> None:
    if overwrite or message.provider_id is None:
        message.provider_id = result.provider_id
    elif message.provider_id != result.provider_id:
        log.warning("outbox: message=%s went twice (provider ids %s, %s)", message.id, message.provider_id,
                    result.provider_id)
    message.sent_at = now if overwrite or message.sent_at is None else message.sent_at
    message.error = None
    if message.status in ("sending", "unknown", "queued"):
        message.status = result.status  # ours -> the provider's first status
    else:
        advance_status(message, result.status, now=now)  # a callback got there first: never move back
    message.updated_at = now
