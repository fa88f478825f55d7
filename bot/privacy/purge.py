"""The retention purge: each kind of personal data older than the school's policy, removed or redacted.

Why redact rather than delete: messages, replies, notices, alerts and case-log entries are
referenced by other rows (a message by the cases it was about and by its call, a reply by its
cases and notices) and together they are the audit trail of what the school did about an absence
and when. So their rows stay, with who/when/what-kind/status, and only the words and the
addresses go. Rows nothing refers to that are useless once stale (revoked family links) are
deleted. The register and its amendments are deleted only when older than ``register_years`` (at
least six: the 2024 regulations), and a mark amended less than that long ago stays with its
amendments.

Nothing tied to an open case, an open alert, an active notice or a message still waiting to be sent
is touched: the school is still working on it. Each step only touches rows not yet purged, so a
second run at the same ``now`` changes nothing and counts nothing. Counts and the school's id are
logged; never a name, a number or a word of what families wrote.
"""

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import String, case, cast, delete, exists, literal, update
from sqlmodel import Session, select

from bot.policy import policy_for
from bot.privacy.retention import Cutoffs, cutoffs
from storage.models import (
    AbsenceCase,
    AbsenceNotice,
    Alert,
    AlertAction,
    CallLog,
    CaseEvent,
    FamilyLink,
    InboundMessage,
    Mark,
    MarkAmendment,
    MessageCase,
    MisWriteback,
    OutboxMessage,
    ReplyCase,
    School,
    VoiceCall,
)

log = logging.getLogger(__name__)

REDACTED = "[removed: retention policy]"
# Case-log kinds whose summary quotes what a family wrote or said (``bot.replies``, ``bot.notices``).
FAMILY_WORDS_EVENTS = ("reply", "notice")
# Keys of an alert's data that hold a family's words, address or recording.
FAMILY_WORDS_KEYS = frozenset({"reply", "words", "body", "text", "note", "recording_url", "from_masked"})
IN_FLIGHT = ("queued", "sending")  # messages the sender may still send: never redacted
CHUNK = 500

# Kinds, in the order the summary shows them.
KINDS = (
    "messages",
    "call_recordings",
    "replies",
    "notice_words",
    "case_log_quotes",
    "call_notes",
    "alert_texts",
    "alert_notes",
    "family_links",
    "marks",
    "amendments",
)


def _open_case(case_id_column) -> object:
    return exists().where(AbsenceCase.id == case_id_column, AbsenceCase.status == "open")


def _updated(session: Session, statement) -> int:
    return session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0


def _messages(session: Session, school_id: int, before: datetime) -> dict[str, int]:
    """Messages to families (and staff emails): body, subject, address and error text; call recordings."""
    about_open_case = exists().where(
        MessageCase.message_id == OutboxMessage.id, _open_case(MessageCase.case_id)
    )
    due = (
        OutboxMessage.school_id == school_id,
        OutboxMessage.created_at < before,
        OutboxMessage.status.not_in(IN_FLIGHT),
        ~about_open_case,
    )
    # The one key that names an address: the answer to an unknown number (``neutral:+447...:day``).
    key = case(
        (
            OutboxMessage.idempotency_key.like("neutral:%"),
            literal("purged:") + cast(OutboxMessage.id, String),
        ),
        else_=OutboxMessage.idempotency_key,
    )
    messages = _updated(
        session,
        update(OutboxMessage)
        .where(*due, OutboxMessage.body != REDACTED)
        .values(body=REDACTED, subject=None, to_address=REDACTED, error=None, idempotency_key=key),
    )
    recordings = _updated(
        session,
        update(VoiceCall)
        .where(
            VoiceCall.school_id == school_id,
            VoiceCall.recording_url.is_not(None),
            VoiceCall.message_id.in_(select(OutboxMessage.id).where(*due)),
        )
        .values(recording_url=None, recording_sid=None),
    )
    return {"messages": messages, "call_recordings": recordings}


def _replies(session: Session, school_id: int, before: datetime) -> dict[str, int]:
    """What families wrote or said: replies, the words of their notices, quotes in the case log,
    staff's notes of calls with them."""
    on_open_case = exists().where(ReplyCase.inbound_id == InboundMessage.id, _open_case(ReplyCase.case_id))
    replies = _updated(
        session,
        update(InboundMessage)
        .where(
            InboundMessage.school_id == school_id,
            InboundMessage.received_at < before,
            InboundMessage.body != REDACTED,
            ~on_open_case,
        )
        .values(body=REDACTED, from_address=REDACTED),
    )
    notices = _updated(
        session,
        update(AbsenceNotice)
        .where(
            AbsenceNotice.school_id == school_id,
            AbsenceNotice.received_at < before,
            AbsenceNotice.status != "active",
            AbsenceNotice.words != REDACTED,
            ~_open_case(AbsenceNotice.case_id),
        )
        .values(words=REDACTED, reported_by=""),
    )
    quotes = _updated(
        session,
        update(CaseEvent)
        .where(
            CaseEvent.school_id == school_id,
            CaseEvent.at < before,
            CaseEvent.kind.in_(FAMILY_WORDS_EVENTS),
            CaseEvent.summary != REDACTED,
            ~_open_case(CaseEvent.case_id),
        )
        .values(summary=REDACTED),
    )
    notes = _updated(
        session,
        update(CallLog)
        .where(
            CallLog.school_id == school_id,
            CallLog.at < before,
            CallLog.note != "",
            CallLog.note != REDACTED,
            ~_open_case(CallLog.case_id),
        )
        .values(note=REDACTED),
    )
    return {"replies": replies, "notice_words": notices, "case_log_quotes": quotes, "call_notes": notes}


def _alerts(session: Session, school_id: int, before: datetime) -> dict[str, int]:
    """Alert bodies (they quote parents) and the words-bearing keys of their data; staff's notes.
    Titles, kinds, status and times stay: the record that staff were told and what they did."""
    alerts = list(
        session.exec(
            select(Alert).where(
                Alert.school_id == school_id,
                Alert.created_at < before,
                Alert.status != "open",
                Alert.body != REDACTED,
            )
        ).all()
    )
    for alert in alerts:
        alert.body = REDACTED
        alert.data = {k: v for k, v in (alert.data or {}).items() if k not in FAMILY_WORDS_KEYS}
        session.add(alert)
    session.flush()
    notes = _updated(
        session,
        update(AlertAction)
        .where(
            AlertAction.school_id == school_id,
            AlertAction.at < before,
            AlertAction.note != "",
            AlertAction.note != REDACTED,
            AlertAction.alert_id.in_(
                select(Alert.id).where(Alert.school_id == school_id, Alert.body == REDACTED)
            ),
        )
        .values(note=REDACTED),
    )
    return {"alert_texts": len(alerts), "alert_notes": notes}


def _links(session: Session, school_id: int, before: datetime) -> dict[str, int]:
    """Revoked "report an absence" links: nothing refers to them, so they are deleted."""
    return {
        "family_links": _updated(
            session,
            delete(FamilyLink).where(
                FamilyLink.school_id == school_id,
                FamilyLink.revoked_at.is_not(None),
                FamilyLink.revoked_at < before,
            ),
        )
    }


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _register(session: Session, school_id: int, cut: Cutoffs) -> dict[str, int]:
    """Marks of days before the register cut-off, with their amendments and write-backs, unless the
    mark was amended since the cut-off (an amendment is kept its own six years, and its mark with it)."""
    amended_since = exists().where(
        MarkAmendment.mark_id == Mark.id, MarkAmendment.amended_at >= cut.register_instant
    )
    ids = list(
        session.exec(
            select(Mark.id).where(Mark.school_id == school_id, Mark.date < cut.register_date, ~amended_since)
        ).all()
    )
    marks = amendments = 0
    for chunk in _chunks(ids):
        _updated(session, delete(MisWriteback).where(MisWriteback.mark_id.in_(chunk)))
        amendments += _updated(session, delete(MarkAmendment).where(MarkAmendment.mark_id.in_(chunk)))
        marks += _updated(session, delete(Mark).where(Mark.id.in_(chunk)))
    return {"marks": marks, "amendments": amendments}


def purge(session: Session, *, school: School, now: datetime) -> dict[str, int]:
    """Remove or redact everything of ``school`` older than its retention policy at ``now``.

    Raises ``RetentionRefused`` (nothing changed) if the policy would keep the register less than
    six years. Returns the number of rows purged per kind (``KINDS``).
    """
    cut = cutoffs(school=school, policy=policy_for(session, school.id), now=now)
    counts = {
        **_messages(session, school.id, cut.messages),
        **_replies(session, school.id, cut.replies),
        **_alerts(session, school.id, cut.alerts),
        **_links(session, school.id, cut.links),
        **_register(session, school.id, cut),
    }
    session.flush()
    log.info("privacy purge: school %s: %s", school.id, ", ".join(f"{kind} {counts[kind]}" for kind in KINDS))
    return {kind: counts[kind] for kind in KINDS}
