"""Pressing a button on an alert: check, do what the button does, and record who did it and when.

Every chat tool and the sandbox come through here (``act``). The handlers are listed below by plain
imports, so a renamed module fails at start-up instead of silently losing a button; the catalogue of
labels is ``bot.alerts.actions``.
"""

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, select

from bot.actors import Actor
from bot.alerts.actions import ACTIONS
from bot.cases.service import close, log
from bot.errors import NotFound, PermissionDenied, UserError
from bot.escalation import actions as escalation_actions
from bot.replies import actions as reply_actions
from storage.models import AbsenceCase, Alert, AlertAction

Handler = Callable[..., None]  # handler(session, *, alert, actor, value, now) -> None


def _close_case(session: Session, *, alert: Alert, actor: Actor, value: str | None, now: datetime) -> None:
    case = session.get(AbsenceCase, alert.case_id) if alert.case_id else None
    if case is not None:
        close(session, case=case, reason=f"closed by {actor.name}", actor=actor, now=now)


def _close_alert(session: Session, *, alert: Alert, actor: Actor, value: str | None, now: datetime) -> None:
    """Nothing more to do about the alert itself (the case, if any, is the register's business)."""
    alert.status = "closed"


# Action id -> what it does. "acknowledge" only records who saw the alert.
HANDLERS: dict[str, Handler | None] = {
    "acknowledge": None,
    "close_case": _close_case,
    "close_alert": _close_alert,
    **escalation_actions.HANDLERS,
    **reply_actions.HANDLERS,
}
if set(HANDLERS) != set(ACTIONS):  # fail at start-up, not when someone presses the button
    raise RuntimeError(f"alert buttons without a handler or label: {sorted(set(HANDLERS) ^ set(ACTIONS))}")


def _settle_twins(session: Session, alert: Alert) -> None:
    """A missing child is alerted twice (the pastoral team and the DSL): whoever acts on one has acted
    on both, so neither is raised again."""
    for key in (alert.data or {}).get("twins", []):
        twin = session.exec(
            select(Alert).where(Alert.idempotency_key == key, Alert.school_id == alert.school_id)
        ).first()
        if twin is not None and twin.status == "open":
            twin.status = alert.status
            session.add(twin)


def act(
    session: Session,
    *,
    alert_id: int,
    action: str,
    actor: Actor,
    now: datetime,
    value: str | None = None,
    note: str = "",
) -> Alert:
    """Run one button for ``actor``; records an ``AlertAction`` and a case-log entry."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("That alert no longer exists.")
    if actor.school_id is not None and actor.school_id != alert.school_id:
        raise PermissionDenied("That alert belongs to another school.")
    spec = ACTIONS.get(action)
    if spec is None:
        raise UserError(f"Unknown action '{action}'.")
    if spec.roles is not None and actor.role not in spec.roles:
        raise PermissionDenied(f"Your role ({actor.role.replace('_', ' ')}) may not do that.")
    handler = HANDLERS[action]
    if handler is not None:
        handler(session, alert=alert, actor=actor, value=value, now=now)
    session.add(
        AlertAction(
            school_id=alert.school_id,
            alert_id=alert.id,
            action=action,
            staff_id=actor.staff_id,
            actor_name=actor.name,
            at=now,
            note=note or (value or ""),
        )
    )
    if spec.settles and alert.status == "open":
        alert.status = "acted"
    session.add(alert)
    if spec.settles:
        _settle_twins(session, alert)
    log(
        session,
        school_id=alert.school_id,
        case_id=alert.case_id,
        pupil_id=alert.pupil_id,
        kind="alert_action",
        summary=f"{spec.label} — {actor.name}",
        actor=actor.name,
        data={"alert_id": alert.id, "action": action, "value": value},
        now=now,
    )
    session.flush()
    return alert
