"""Staff's one-tap answers to a parent's reply: accept the suggested code, or pick another.

Both go through ``bot.register.service.recode`` (the one audited path), so every N mark of the
case gets a ``MarkAmendment`` naming the member of staff who tapped, their role, and the reason
"Parent reply: <the start of the reply>". A parent's reply is evidence; this is the decision.

A reply that says the child left for school, or raises a welfare concern, gets the owner's buttons
(``bot.alerts.owner``): what was done is logged on the case (Child found safe, Parent reached; Police
informed is the escalation one, Close the generic one).
"""

from collections import defaultdict
from datetime import datetime

from sqlmodel import Session, select

from bot import codes
from bot.actors import Actor
from bot.cases.service import log
from bot.errors import NotFound, UserError
from bot.notices.service import remember_acceptance
from bot.register.service import recode
from storage.models import AbsenceCase, Alert, Mark

REASON_CHARS = 80


def _reason(alert: Alert) -> str:
    reply = " ".join((alert.data.get("reply") or "").split())
    label = alert.data.get("reason_label") or "Parent reply"  # a notice says "Parent's notice"
    return f"{label}: {reply[:REASON_CHARS]}".strip()


def _national(raw: str | None) -> str:
    value = (raw or "").strip()
    if not value:
        raise UserError("Choose a code.")
    if value.upper() in {"LATE", "NONE", "IN_SCHOOL", "STOP", "START"}:
        raise UserError("That reply has no code to accept: pick the national code yourself.")
    try:
        code = codes.lookup(value).code
    except codes.UnknownCode as exc:
        raise UserError(str(exc)) from None
    if code == codes.NO_REASON:
        raise UserError("N means no reason yet: pick the code for the reason given.")
    return code


def recode_case(session: Session, *, alert: Alert, actor: Actor, code: str, now: datetime) -> int:
    """Recode every N mark of the alert's case to ``code``; returns how many marks changed."""
    case = session.get(AbsenceCase, alert.case_id) if alert.case_id else None
    if case is None or case.school_id != alert.school_id:
        raise NotFound("This reply is not linked to an absence case.")
    marks = session.exec(
        select(Mark)
        .where(
            Mark.pupil_id == case.pupil_id,
            Mark.date >= case.first_date,
            Mark.date <= case.last_absent_date,
            Mark.code == codes.NO_REASON,
        )
        .order_by(Mark.date, Mark.session)
    ).all()
    if not marks:
        raise UserError("There are no N marks left on this case: it may already have been recoded.")
    by_day: dict = defaultdict(list)
    for mark in marks:
        by_day[mark.date].append(mark.session)
    changed = 0
    for day, sessions in by_day.items():
        changed += len(
            recode(
                session,
                school_id=case.school_id,
                pupil_id=case.pupil_id,
                day=day,
                sessions=sessions,
                new_code=code,
                reason=_reason(alert),
                actor=actor,
                now=now,
            )
        )
    return changed


def accept_code(session: Session, *, alert: Alert, actor: Actor, value: str | None, now: datetime) -> None:
    """Use the code the reply suggested (``alert.data['suggested_code']``)."""
    code = _national(alert.data.get("suggested_code"))
    recode_case(session, alert=alert, actor=actor, code=code, now=now)
    # The family's notice covers later sessions too: they get the same decision at register close.
    remember_acceptance(session, case_id=alert.case_id, code=code, actor=actor, now=now)


def pick_code(session: Session, *, alert: Alert, actor: Actor, value: str | None, now: datetime) -> None:
    """Use the code staff chose (``value``) instead of the suggestion."""
    code = _national(value)
    recode_case(session, alert=alert, actor=actor, code=code, now=now)
    remember_acceptance(session, case_id=alert.case_id, code=code, actor=actor, now=now)


def _record(session: Session, alert: Alert, actor: Actor, kind: str, summary: str, now: datetime) -> None:
    """A case-log entry of what was done about a missing child or a welfare concern (the timeline and
    the children-missing-education check read these kinds)."""
    log(
        session,
        school_id=alert.school_id,
        case_id=alert.case_id,
        pupil_id=alert.pupil_id,
        kind=kind,
        summary=f"{summary} — {actor.name}",
        actor=actor.label if actor.staff_id else actor.name,
        data={"alert_id": alert.id, "alert_kind": alert.kind},
        now=now,
    )


def child_found_safe(
    session: Session, *, alert: Alert, actor: Actor, value: str | None, now: datetime
) -> None:
    """The child has been found and is safe. The case stays as the register has it: being found is not a
    reason for the absence, and the school still records one."""
    _record(session, alert, actor, "child_found_safe", "Child found safe", now)


def parent_reached(session: Session, *, alert: Alert, actor: Actor, value: str | None, now: datetime) -> None:
    _record(session, alert, actor, "parent_reached", "Parent reached", now)


# Action id -> handler, for ``bot.commands.acting``.
HANDLERS = {
    "accept_code": accept_code,
    "pick_code": pick_code,
    "child_found_safe": child_found_safe,
    "parent_reached": parent_reached,
}
