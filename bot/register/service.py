"""Marks: recording them from the MIS, and amending them through the one audited path.

``recode`` is the only function that changes an existing mark's code. It writes the audit row the
2024 regulations require (original entry, amended entry, reason, date, name and role) in the same
transaction as the change, and then lets the absence case react.
"""

from datetime import date, datetime

from sqlmodel import Session, select

from bot import codes
from bot.actors import Actor
from bot.errors import NotFound, PermissionDenied, UserError
from bot.policy import policy_for
from storage.models import Mark, MarkAmendment, Pupil

SESSIONS = ("AM", "PM")


def parse_sessions(raw: str | None) -> list[str]:
    value = (raw or "both").strip().upper()
    if value in {"BOTH", "ALL", "DAY"}:
        return list(SESSIONS)
    if value in SESSIONS:
        return [value]
    raise UserError(f"'{raw}' is not a session: use am, pm or both")


def record_mark(
    session: Session,
    *,
    school_id: int,
    pupil_id: int,
    day: date,
    session_name: str,
    code: str,
    source: str = "mis",
    minutes_late: int | None = None,
    now: datetime,
) -> Mark:
    """Take a mark as the register (MIS) states it: insert, or overwrite an unamended MIS mark.

    A mark the bot or staff already amended is never overwritten by a later import: the audited
    amendment wins, and the register in the MIS is brought in line by write-back instead.
    """
    code = codes.lookup(code).code
    mark = session.exec(
        select(Mark).where(Mark.pupil_id == pupil_id, Mark.date == day, Mark.session == session_name)
    ).first()
    if mark is None:
        mark = Mark(
            school_id=school_id,
            pupil_id=pupil_id,
            date=day,
            session=session_name,
            code=code,
            source=source,
            minutes_late=minutes_late,
            recorded_at=now,
        )
        session.add(mark)
    elif mark.source not in {"bot", "staff"}:
        mark.code, mark.source, mark.minutes_late, mark.recorded_at = code, source, minutes_late, now
        session.add(mark)
    session.flush()
    return mark


def may_recode(actor: Actor, *, original: str, allowed_roles: list[str], n_roles: list[str]) -> bool:
    if actor.role == "system":
        return original == "N"
    if original == "N":
        return actor.role in n_roles or actor.role in allowed_roles
    return actor.role in allowed_roles


def recode(
    session: Session,
    *,
    school_id: int,
    pupil_id: int,
    day: date,
    sessions: list[str],
    new_code: str,
    reason: str,
    actor: Actor,
    now: datetime,
) -> list[MarkAmendment]:
    """Amend marks, writing one audit row each. Nothing changes unless every session can change."""
    pupil = session.get(Pupil, pupil_id)
    if pupil is None or pupil.school_id != school_id:
        raise NotFound("No such pupil in your school.")
    if actor.school_id is not None and actor.school_id != school_id:
        raise PermissionDenied("You can only change marks for your own school.")
    target = codes.lookup(new_code).code
    if target == "N":
        raise UserError("N is set when the register closes; recode to the reason's code instead.")
    reason = (reason or "").strip()
    if not reason:
        raise UserError("Give a reason for the change: the register's audit needs one.")
    policy = policy_for(session, school_id)
    marks = []
    for name in sessions:
        mark = session.exec(
            select(Mark)
            .where(Mark.pupil_id == pupil_id, Mark.date == day, Mark.session == name)
            .with_for_update()
        ).first()
        if mark is None:
            raise NotFound(f"{pupil.first_name} has no {name} mark on {day:%a %d %b %Y}.")
        if not may_recode(actor, original=mark.code, allowed_roles=policy.recode_roles,
                          n_roles=policy.recode_n_roles):
            what = "an N mark" if mark.code == "N" else f"a {mark.code} mark"
            raise PermissionDenied(
                f"Your role ({actor.role.replace('_', ' ')}) may not change {what}. "
                "Ask the attendance officer."
            )
        marks.append(mark)
    amendments = []
    for mark in marks:
        if mark.code == target:
            continue
        amendment = MarkAmendment(
            school_id=school_id,
            mark_id=mark.id,
            pupil_id=pupil_id,
            date=mark.date,
            session=mark.session,
            original_code=mark.code,
            amended_code=target,
            reason=reason,
            amended_by_name=actor.name,
            amended_by_role=actor.role,
            staff_id=actor.staff_id,
            amended_at=now,
        )
        mark.code = target
        mark.source = "staff" if actor.staff_id else "bot"
        session.add(mark)
        session.add(amendment)
        amendments.append(amendment)
    session.flush()
    if amendments:
        from bot.cases.service import after_marks_changed

        after_marks_changed(session, school_id=school_id, pupil_id=pupil_id, actor=actor,
                            amendments=amendments, now=now)
    return amendments
