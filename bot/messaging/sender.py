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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime

from sqlalchemy.engine import Engine

from bot import shutdown
from bot.messaging import replyto
from bot.messaging.claim import PROCESS_TOKEN, STUCK_AFTER, BeforeSend, Claimed, claim, requeue_stuck
from bot.messaging.record import LOOK_AFTER, Outcome, SendSummary, backoff, outage_backoff, record
from bot.messaging.transports import (
    DeliveryError,
    PermanentFailure,
    ProviderFailure,
    SendResult,
    Transports,
    UnknownOutcome,
)
from bot.settings import Settings

log = logging.getLogger(__name__)

# (Re-exported: the sender's callers and tests name them here.)
__all__ = [
    "LOOK_AFTER",
    "PROCESS_TOKEN",
    "STUCK_AFTER",
    "SendSummary",
    "backoff",
    "outage_backoff",
    "requeue_stuck",
    "send_due",
    "sender_name",
    "status_callback_url",
]

DEFAULT_BATCH = 200  # (kept for callers that pass it; the claim size is the free workers)
JOB_ROUND = 500  # the job loops in rounds of this many until a round finds less to do
STATUS_CALLBACK_PATH = "/twilio/status"


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
    in_flight: dict[Future, Claimed] = {}
    remaining, more, stop_seen = limit, True, None
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="outbox")
    try:
        while True:
            free = workers - len(in_flight)
            if more and remaining > 0 and not shutdown.requested() and free >= (refill if in_flight else 1):
                claimed, handled = _claim(
                    engine,
                    summary=summary,
                    limit=min(free, claim_max, remaining),
                    before_send=before_send,
                    name=name,
                    now=now,
                )
                remaining -= handled
                more = handled > 0
                for message in claimed:
                    in_flight[pool.submit(_deliver, message, transports, settings, reply_to)] = message
                if claimed or more:
                    continue
            if not in_flight:
                break
            stop_seen = (stop_seen or time.monotonic()) if shutdown.requested() else None
            grace = _grace_left(stop_seen, settings)
            done, _ = wait(list(in_flight), timeout=grace, return_when=FIRST_COMPLETED)
            if not done:  # the grace is over: these stay ``sending`` and are ours to take back
                log.warning("outbox: stopping with %d message(s) in flight", len(in_flight))
                break
            recorded = _record_done(engine, done, in_flight=in_flight, settings=settings, now=now)
            summary.add(recorded)
            more = more or recorded.woke > 0
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return summary


def _claim(
    engine: Engine,
    *,
    summary: SendSummary,
    limit: int,
    before_send: BeforeSend | None,
    name: str,
    now: datetime,
) -> tuple[list[Claimed], int]:
    """Claim up to ``limit`` due messages: (the ones to send, how many the claim handled in all).

    Messages the pre-send check cancelled or that had expired count as handled (towards the send's
    ``limit``) and into ``summary``; channels whose provider failed wholesale this pass are skipped.
    """
    claimed, cancelled, expired = claim(
        engine, now=now, limit=limit, before_send=before_send, name=name, skip=summary.down
    )
    summary.cancelled += cancelled
    summary.expired += expired
    return claimed, len(claimed) + cancelled + expired


def _record_done(
    engine: Engine, done: set[Future], *, in_flight: dict[Future, Claimed], settings: Settings, now: datetime
) -> SendSummary:
    """Take the finished sends out of ``in_flight`` and store what happened to them."""
    outcomes = [future.result() for future in done]
    for future in done:
        del in_flight[future]
    return record(engine, outcomes, settings=settings, now=now)


def _grace_left(stop_seen: float | None, settings: Settings) -> float | None:
    """Seconds in-flight sends may still take after a stop request (None: no stop requested)."""
    if stop_seen is None:
        return None
    return max(0.0, settings.sender_grace_seconds - (time.monotonic() - stop_seen))


def _deliver(message: Claimed, transports: Transports, settings: Settings, reply_to=None) -> Outcome:
    """Runs in a worker thread: no session, no ORM object, only the copied fields."""
    resent = False
    try:
        if message.was_unknown:
            found = _look_up(message, transports)
            if found is not None:
                return Outcome(message, result=found)
            if message.resends >= 1:  # sent twice already without an answer: never a third copy
                return Outcome(
                    message,
                    error=UnknownOutcome("no record at the provider; not resent again", code="no-answer"),
                )
            resent = True
        result = _send(message, transports, settings, reply_to)
    except DeliveryError as exc:
        return Outcome(message, error=exc, resent=resent)
    except Exception as exc:  # a bug in a transport must not lose the message, nor blame the family
        log.exception("outbox: transport raised for message=%s", message.id)
        return Outcome(message, error=ProviderFailure(f"unexpected {type(exc).__name__}"), resent=resent)
    return Outcome(message, result=result, resent=resent)


def _look_up(message: Claimed, transports: Transports) -> SendResult | None:
    """The provider's own record of an unanswered send, when the transport can look (texts)."""
    find = getattr(transports.sms, "find", None) if message.channel == "sms" else None
    if find is None:
        return None
    return find(message.to_address, message.body, since=message.created_at, exclude=message.taken_sids)


def _send(message: Claimed, transports: Transports, settings: Settings, reply_to) -> SendResult:
    if message.channel == "sms":
        return transports.sms.send(
            message.to_address, message.body, status_callback=status_callback_url(settings, message.id)
        )
    if message.channel == "email":
        address = reply_to(message.id) if reply_to and message.contact_id is not None else None
        return transports.email.send(
            message.to_address, message.subject or "", message.body, reply_to=address
        )
    if message.channel == "voice":  # an automated call: the script is fetched from our webhooks
        return transports.voice.call(message.to_address, message_id=message.id)
    raise PermanentFailure(f"unknown channel {message.channel!r}")
