"""Reading the school's mailbox: email replies reach the same understanding as texts; bounces fail
the email they bounce, and the family is moved on.

One pass (the ``read-mailbox`` job, every ``IMAP_POLL_SECONDS`` on the clock):

1. list the unseen messages and read only their Message-ID headers;
2. a message already recorded (its Message-ID is an ``InboundMessage`` key) is not recorded again:
   a reply read before a dropped connection, or before the \\Seen flag could be stored, is just
   marked seen now. This is what makes an IMAP reconnect harmless;
3. otherwise fetch it, and in one transaction record and act on it: a bounce marks our email
   ``undelivered`` (like a status callback; ``bot.firstday.reroute`` moves the family on after the
   next sending pass), an automatic reply is only recorded, a reply is routed
   (``bot.replies.email``);
4. then mark it seen. Mail nobody can attribute is recorded once and left unread for a person.

A message that fails to be handled is logged and left unseen for the next pass; the others go on.
"""

import logging
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.mail.imap import Mailbox, MailboxError
from bot.mail.parse import Bounce, Incoming, key_for, parse
from bot.messaging import replyto
from bot.messaging.status import record_bounce
from bot.replies.email import UNMATCHED, EmailReply, receive_email
from bot.replies.service import _Duplicate, _insert_inbound
from bot.settings import Settings
from bot.summary import JobSummary
from storage.db import session_scope
from storage.models import ClockLease, InboundMessage, OutboxMessage

log = logging.getLogger(__name__)

BOUNCE = "BOUNCE"
MAX_PER_PASS = 200


def read_mailbox(
    engine: Engine, *, settings: Settings, now: datetime, mailbox: Mailbox | None = None
) -> JobSummary:
    """One pass over the unseen mail (see the module docstring)."""
    if not settings.imap_enabled:
        return JobSummary.skip("no mailbox to read (IMAP_HOST is not set)")
    counts = {
        "read": 0,
        "replies": 0,
        "bounces": 0,
        "auto_replies": 0,
        "unmatched": 0,
        "already_recorded": 0,
        "failed": 0,
    }
    try:
        with mailbox or Mailbox(settings) as box:
            uids = box.unseen()[:MAX_PER_PASS]
            ids = box.message_ids(uids)
            for uid in uids:
                counts["read"] += 1
                outcome = _one(engine, box, uid, ids.get(uid), settings=settings, now=now)
                counts[outcome] += 1
    except MailboxError as exc:
        log.warning("mailbox: %s", exc)
        return JobSummary(counts=counts, details={"error": str(exc)})
    _beat(engine, now=now)
    return JobSummary(counts=counts)


# --------------------------------------------------------------------------------------------------
# Health: a mailbox nobody reads means families who answered by email are chased
# --------------------------------------------------------------------------------------------------

HEARTBEAT = "mailbox"  # a ClockLease row used only as the time of the last complete pass


def _beat(engine: Engine, *, now: datetime) -> None:
    with session_scope(engine) as session:
        done = session.execute(
            update(ClockLease)
            .where(ClockLease.name == HEARTBEAT)
            .values(holder="read-mailbox", heartbeat_at=now, expires_at=now)
        )
        if done.rowcount == 0:
            row = ClockLease(name=HEARTBEAT, holder="read-mailbox", heartbeat_at=now, expires_at=now)
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:
                pass  # another pass wrote it at the same moment


def health(session: Session, *, settings: Settings, now: datetime) -> tuple[dict, str | None]:
    """(facts, the problem if any) for ``/healthz``: replies by email are read, or say why not."""
    if not settings.imap_enabled:
        return {}, None
    row = session.get(ClockLease, HEARTBEAT)
    limit = max(600, 5 * settings.imap_poll_seconds)
    if row is None:
        return {"mailbox": "never read"}, (
            "the school's mailbox has never been read: email replies are not "
            "seen (check the IMAP_* settings and the clock)"
        )
    age = int((now - row.heartbeat_at).total_seconds())
    facts = {"mailbox": "ok" if age <= limit else "stale", "mailbox_read_at": row.heartbeat_at.isoformat()}
    if age > limit:
        return facts, (
            f"the school's mailbox was last read {age // 60} min ago: families' email replies "
            "are not being seen (check the IMAP_* settings; the clock logs why)"
        )
    return facts, None


def _one(
    engine: Engine, box: Mailbox, uid: bytes, message_id: str | None, *, settings: Settings, now: datetime
) -> str:
    """Handle one unseen message; returns which count it adds to."""
    if message_id:
        seen = _recorded(engine, key_for(message_id))
        if seen is not None:
            if seen != UNMATCHED:
                box.mark_seen(uid)  # recorded before, not yet marked seen: do only that now
            return "already_recorded"
    try:
        mail = parse(box.fetch(uid))
        with session_scope(engine) as session:
            outcome = _handle(session, mail, settings=settings, now=now)
    except MailboxError:
        raise
    except Exception:
        log.exception("mailbox: message uid %s could not be handled; left unseen", uid.decode())
        return "failed"
    if outcome != "unmatched":
        box.mark_seen(uid)
    return outcome


def _recorded(engine: Engine, key: str) -> str | None:
    """The code an email was recorded with ("" when it had none), or None when it is new."""
    with Session(engine) as session:
        row = session.exec(
            select(InboundMessage.id, InboundMessage.code).where(InboundMessage.provider_id == key)
        ).first()
    return None if row is None else (row[1] or "")


def _handle(session: Session, mail: Incoming, *, settings: Settings, now: datetime) -> str:
    if mail.bounce is not None:
        return _bounced(session, mail, mail.bounce, settings=settings, now=now)
    reply = EmailReply(
        key=mail.key,
        sender=mail.sender,
        recipients=mail.recipients,
        subject=mail.subject,
        text=mail.text,
        auto_reply=mail.auto_reply,
    )
    outcome = receive_email(session, settings=settings, mail=reply, now=now)
    return {
        "recorded": "replies",
        "duplicate": "already_recorded",
        "auto_reply": "auto_replies",
        "unknown_sender": "unmatched",
    }[outcome.status]


def _bounced(session: Session, mail: Incoming, bounce: Bounce, *, settings: Settings, now: datetime) -> str:
    """Find the email that bounced (by its Message-ID, else its reply address) and fail it."""
    message = None
    if bounce.original_message_id:
        provider_id = bounce.original_message_id.strip().strip("<>")[:64]
        message = session.exec(select(OutboxMessage).where(OutboxMessage.provider_id == provider_id)).first()
    if message is None:
        for message_id in replyto.tokens_in(settings, [*bounce.original_reply_to, *mail.recipients]):
            message = session.get(OutboxMessage, message_id)
            if message is not None:
                break
    try:
        about = f"message {message.id}" if message else "an unknown message"
        _insert_inbound(
            session,
            InboundMessage(
                school_id=message.school_id if message else None,
                channel="email",
                provider_id=mail.key,
                from_address=mail.sender,
                received_at=now,
                code=BOUNCE,
                body=(
                    f"Delivery failed ({bounce.status or 'no status'}) for {about}: {bounce.diagnostic[:300]}"
                ),
            ),
        )
    except _Duplicate:
        return "already_recorded"
    if message is None or message.channel != "email":
        log.info("mailbox: a bounce for no email of ours (status %s)", bounce.status)
        return "bounces"
    record_bounce(session, message=message, status=bounce.status, diagnostic=bounce.diagnostic, now=now)
    return "bounces"
