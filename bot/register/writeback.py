"""The write-back queue: every change of a mark made in the bot, waiting to reach the MIS.

The MIS (SIMS, Arbor, Bromcom) holds the legal register, so an amendment made through the bot's one
audited door (``bot.register.service.recode``) must reach it too. ``queue`` writes a
``MisWriteback`` row in the transaction of the ``MarkAmendment`` (the outbox pattern the messages
use): the row exists if and only if the amendment does, and the write-back job (``bot.mis``) sends
it later and records only what the MIS answered.

A school whose MIS is not linked for writing (no Wonde id, or ``mis_writeback`` off) queues
nothing: its office types amendments into the MIS by hand, from ``attendance-bot export
amendments``.
"""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from storage.models import Mark, MarkAmendment, MisWriteback, School

PENDING = ("queued",)  # not yet sent: may still be cancelled when the MIS changes the mark first
COMMENT_CHARS = 250  # the MIS's comment field is short; the full reason stays in the audit row
LATE_CODES = {"L", "U"}


def writes_back(school: School) -> bool:
    """Whether the bot writes this school's amendments back to its MIS."""
    return bool(school.wonde_id and school.mis_writeback)


def queue(
    session: Session, *, school: School, amendment: MarkAmendment, mark: Mark, now: datetime
) -> MisWriteback | None:
    """Queue the amendment for the MIS (in the caller's transaction); None if the school does not
    write back. ``base_code`` is what the MIS showed when last read: the sender refuses to overwrite
    anything else."""
    if not writes_back(school):
        return None
    row = MisWriteback(
        school_id=school.id,
        amendment_id=amendment.id,
        mark_id=mark.id,
        pupil_id=mark.pupil_id,
        date=mark.date,
        session=mark.session,
        code=amendment.amended_code,
        base_code=mark.mis_code,
        comment=f"{amendment.reason} ({amendment.amended_by_name})"[:COMMENT_CHARS],
        minutes_late=mark.minutes_late if amendment.amended_code in LATE_CODES else None,
        status="queued",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    return row


def cancel_pending(session: Session, *, mark_ids: list[int], status: str, error: str, now: datetime) -> int:
    """Stop queued write-backs of these marks (the MIS changed them first, or already shows them)."""
    if not mark_ids:
        return 0
    result = session.execute(
        update(MisWriteback)
        .where(MisWriteback.mark_id.in_(mark_ids), MisWriteback.status.in_(PENDING))
        .values(status=status, error=error, updated_at=now)
    )
    return result.rowcount or 0


def confirm(session: Session, *, marks: dict[int, str], now: datetime) -> int:
    """The MIS now shows these marks' codes (``{mark id: code}``): write-backs of that code are done.

    A queued one need not be sent any more; a sent one has been applied by the MIS.
    """
    done = 0
    by_code: dict[str, list[int]] = {}
    for mark_id, code in marks.items():
        by_code.setdefault(code, []).append(mark_id)
    for code, ids in by_code.items():
        result = session.execute(
            update(MisWriteback)
            .where(
                MisWriteback.mark_id.in_(ids),
                MisWriteback.code == code,
                MisWriteback.status.in_(("queued", "sent")),
            )
            .values(status="confirmed", updated_at=now)
        )
        done += result.rowcount or 0
    return done
