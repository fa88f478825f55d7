"""Delivering the outbox: claim due messages, send them outside any transaction, record the result.

The loop, one batch at a time:

1. **Claim** (one short transaction). Due rows (``queued``, ``next_attempt_at <= now``) are selected
   ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so a second sender skips them; on SQLite every
   transaction starts ``BEGIN IMMEDIATE`` (storage/db.py), so claimers run one after the other.
   In the same transaction the register is re-read for the cases the messages are about
   (``bot.firstday.service.recheck_before_send``: a mark changed in the MIS since register close),
   then messages that should no longer go are cancelled (every case they are about is explained or
   closed; the contact opted out of that channel) and the rest are marked
   ``sending`` with ``attempts + 1``. Commit: from here no other sender will pick them.
2. **Send** with a small thread pool, holding no database connection or lock.
3. **Record** (one transaction): provider id, status and ``sent_at``; a transient failure goes back
   to ``queued`` with exponential backoff until ``outbox_max_attempts``; a final failure of a
   family message calls ``bot.firstday.routing.on_delivery_failed`` once (``rerouted``).

At-least-once, not exactly-once: a sender that dies after the provider took a message but before
step 3 leaves the row in ``sending``. After ``STUCK_AFTER`` the next run puts it back in the queue
and it is sent again. Twilio's Messages API has no idempotency key to make that retry safe (its
``I-Twilio-Idempotency-Token`` belongs to webhooks Twilio sends, not to ``messages.create``), and
the status callback cannot help because the provider id was never stored. A rare duplicate text is
the price of never dropping one; the window is one HTTP request long.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, func, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import clock, codes
from bot.messaging.outbox import advance_status
from bot.messaging.transports import (
    DeliveryError,
    PermanentFailure,
    SendResult,
    TransientFailure,
    Transports,
    transports_for,
)
from bot.settings import Settings
from storage.db import session_scope
from storage.models import AbsenceCase, Contact, Mark, MessageCase, OutboxMessage, School

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 30
BACKOFF_FACTOR = 4
BACKOFF_CAP_SECONDS = 3600
STUCK_AFTER = timedelta(minutes=5)
DEFAULT_WORKERS = 8
DEFAULT_BATCH = 200
JOB_ROUND = 500  # the job loops in rounds of this many until a round finds less to do
STATUS_CALLBACK_PATH = "/twilio/status"
# Marks that show a pupil was seen in school today (``cases.seen_in_school``).
SEEN_CODES = sorted(codes.PRESENT_CODES | {"U"})


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
    now: datetime | None = None,
    limit: int = 500,
    workers: int = DEFAULT_WORKERS,
    batch_size: int = DEFAULT_BATCH,
) -> SendSummary:
    """Send up to ``limit`` due messages; safe to run from several threads or processes at once.

    ``now`` fixes the time (tests, an operator replaying a run); by default each batch reads the
    clock, so a long run stamps its claims with the time they were made (the stuck check reads it).
    """
    summary = SendSummary()
    summary.recovered = requeue_stuck(engine, now=now or clock.now())
    callback = status_callback_url(settings)
    remaining = limit
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="outbox") as pool:
        while remaining > 0:
            batch_now = now or clock.now()
            claimed, cancelled = _claim(engine, now=batch_now, limit=min(batch_size, remaining))
            summary.cancelled += cancelled
            remaining -= len(claimed) + cancelled
            if not claimed:
                if cancelled:
                    continue
                break
            outcomes = list(pool.map(lambda m: _deliver(m, transports, callback), claimed))
            summary.add(_record(engine, outcomes, settings=settings, now=now or clock.now()))
    return summary


def send_outbox_job(engine: Engine, settings: Settings, now: datetime | None = None) -> dict:
    """The clock's ``send-outbox`` job: send everything due with the configured transports."""
    total = SendSummary()
    transports = transports_for(settings)
    while True:
        summary = send_due(engine, transports=transports, settings=settings, now=now, limit=JOB_ROUND)
        total.add(summary)
        if summary.sent + summary.failed + summary.retried + summary.cancelled < JOB_ROUND:
            return total.as_dict()


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


def _claim(engine: Engine, *, now: datetime, limit: int) -> tuple[list[_Claimed], int]:
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
        _recheck_register(session, [m.id for m in rows], now=now)
        stale = _no_longer_needed(session, [m.id for m in rows])
        opted_out = _opted_out(session, rows)
        cancel = {m.id: "cases no longer open" if m.id in stale else opted_out[m.id]
                  for m in rows if m.id in stale or m.id in opted_out}
        if cancel:
            for message in session.exec(select(OutboxMessage).where(OutboxMessage.id.in_(list(cancel)))):
                message.status = "cancelled"
                message.error = cancel[message.id]
                message.updated_at = now
                log.info("outbox: cancelled message=%s contact=%s channel=%s (%s)",
                         message.id, message.contact_id, message.channel, cancel[message.id])
                if message.id not in stale:
                    # Opted out since it was queued: as if the provider refused it (21610).
                    _reroute(session, message)
        claimed = [m for m in rows if m.id not in cancel]
        if claimed:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([c.id for c in claimed]))
                .values(status="sending", attempts=OutboxMessage.attempts + 1, updated_at=now)
                .execution_options(synchronize_session=False)
            )
    return claimed, len(cancel)


def _recheck_register(session: Session, ids: list[int], *, now: datetime) -> None:
    """Let the first-day service re-read the register for these messages' cases just before sending.

    A mark changed in the MIS after register close (a trip code, a late arrival) explains or closes
    the case there (``recheck_before_send``), and ``_no_longer_needed`` then cancels the message.
    """
    case_ids = _cases_whose_register_changed(session, ids, now=now)
    if not case_ids:
        return
    from bot.firstday.service import recheck_before_send  # the register rules live there

    recheck_before_send(session, case_ids=case_ids, now=now)


def _cases_whose_register_changed(session: Session, ids: list[int], *, now: datetime) -> list[int]:
    """The open cases of these messages that ``reconcile_case`` would change, found in two queries.

    ``reconcile_case`` acts only when no N mark is left in the episode or the pupil is marked
    present (or U) today; everything else is left alone. Checking that set-based first keeps a
    register close of thousands of texts from paying several queries per case. Keep in step with
    ``bot.firstday.service.reconcile_case``.
    """
    # The status is filtered here, not in SQL: with it in the WHERE clause SQLite starts from the
    # status index (every open case in the database) instead of from this batch's messages.
    rows = [
        (case_id, pupil_id, tz, n_left)
        for case_id, pupil_id, tz, status, n_left in session.execute(
            select(AbsenceCase.id, AbsenceCase.pupil_id, School.timezone, AbsenceCase.status,
                   func.count(Mark.id))
            .join(MessageCase, MessageCase.case_id == AbsenceCase.id)
            .join(School, School.id == AbsenceCase.school_id)
            .join(Mark, and_(Mark.pupil_id == AbsenceCase.pupil_id, Mark.code == "N",
                             Mark.date >= AbsenceCase.first_date,
                             Mark.date <= AbsenceCase.last_absent_date),
                  isouter=True)
            .where(MessageCase.message_id.in_(ids))
            .group_by(AbsenceCase.id, AbsenceCase.pupil_id, School.timezone, AbsenceCase.status)
        ).all()
        if status == "open"
    ]
    if not rows:
        return []
    changed = {case_id for case_id, _pupil, _tz, n_left in rows if n_left == 0}
    day_of = {case_id: clock.to_local(now, tz).date() for case_id, _pupil, tz, _n in rows}
    pupil_of = {case_id: pupil_id for case_id, pupil_id, _tz, _n in rows}
    seen = set(session.execute(
        select(Mark.pupil_id, Mark.date)
        .where(Mark.pupil_id.in_(set(pupil_of.values())), Mark.date.in_(set(day_of.values())),
               Mark.code.in_(SEEN_CODES))
    ).all())
    changed |= {case_id for case_id in pupil_of if (pupil_of[case_id], day_of[case_id]) in seen}
    return sorted(changed)


def _no_longer_needed(session: Session, ids: list[int]) -> set[int]:
    """Messages about absence cases of which none is still open (a reason arrived, a mark changed)."""
    with_cases = session.exec(
        select(MessageCase.message_id, func.count(AbsenceCase.id))
        .join(AbsenceCase, and_(AbsenceCase.id == MessageCase.case_id, AbsenceCase.status == "open"),
              isouter=True)
        .where(MessageCase.message_id.in_(ids))
        .group_by(MessageCase.message_id)
    ).all()
    return {message_id for message_id, open_count in with_cases if open_count == 0}


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


def _deliver(message: _Claimed, transports: Transports, callback: str) -> _Outcome:
    """Runs in a worker thread: no session, no ORM object, only the copied fields."""
    try:
        if message.channel == "sms":
            result = transports.sms.send(message.to_address, message.body, status_callback=callback)
        elif message.channel == "email":
            result = transports.email.send(message.to_address, message.subject or "", message.body)
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
            _reroute(session, message)
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
        advance_status(message, result.status)  # a callback got there first: never move back
    message.updated_at = now


def _reroute(session: Session, message: OutboxMessage) -> None:
    """Tell the first-day routing once that this family was not reached on this message."""
    if message.contact_id is None or message.rerouted:
        return
    from bot.firstday import routing  # looked up at call time: the routing module owns the decision

    message.rerouted = True
    routing.on_delivery_failed(session, message=message)
