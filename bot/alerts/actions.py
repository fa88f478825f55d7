"""What staff can do with an alert from the chat tools (buttons) and the sandbox.

Actions are registered by the domain that owns them (escalation, replies) with ``action(...)``;
``act`` records who did what and when (an ``AlertAction`` row and a case-log entry), runs the
action's handler, and updates the alert's state. The chat edges then re-render the alert in place.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session

from bot import clock
from bot.actors import Actor
from bot.errors import NotFound, PermissionDenied, UserError
from storage.models import AbsenceCase, Alert, AlertAction

Handler = Callable[..., None]  # handler(session, *, alert, actor, value) -> None


@dataclass(frozen=True)
class Action:
    id: str
    label: str
    settles: bool  # the alert no longer needs anyone once this is done
    handler: Handler | None = None
    roles: tuple[str, ...] | None = None  # None: any staff role of the school


ACTIONS: dict[str, Action] = {}
# Modules that register their own actions when imported.
_PROVIDERS = ("bot.escalation.actions", "bot.replies.actions")


def action(id: str, label: str, *, settles: bool, roles: tuple[str, ...] | None = None):
    def wrap(fn: Handler | None) -> Handler | None:
        ACTIONS[id] = Action(id, label, settles, fn, roles)
        return fn

    return wrap


def _close_case(session: Session, *, alert: Alert, actor: Actor, value: str | None) -> None:
    from bot.cases.service import close

    case = session.get(AbsenceCase, alert.case_id) if alert.case_id else None
    if case is not None:
        close(session, case=case, reason=f"closed by {actor.name}", actor=actor)


action("acknowledge", "Acknowledge", settles=True)(None)
action("close_case", "Close case", settles=True)(_close_case)


def load_providers() -> None:
    for name in _PROVIDERS:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def act(
    session: Session,
    *,
    alert_id: int,
    action: str,
    actor: Actor,
    value: str | None = None,
    note: str = "",
) -> Alert:
    load_providers()
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
    if spec.handler is not None:
        spec.handler(session, alert=alert, actor=actor, value=value)
    session.add(AlertAction(school_id=alert.school_id, alert_id=alert.id, action=action,
                            staff_id=actor.staff_id, actor_name=actor.name, at=clock.now(),
                            note=note or (value or "")))
    if spec.settles and alert.status == "open":
        alert.status = "acted"
    session.add(alert)
    from bot.cases.service import log

    log(session, school_id=alert.school_id, case_id=alert.case_id, pupil_id=alert.pupil_id,
        kind="alert_action", summary=f"{spec.label} — {actor.name}", actor=actor.name,
        data={"alert_id": alert.id, "action": action, "value": value})
    session.flush()
    return alert


def available(alert: Alert) -> list[Action]:
    """The buttons to show on an alert: ``alert.data['actions']`` lists their ids."""
    load_providers()
    return [ACTIONS[a] for a in alert.data.get("actions", []) if a in ACTIONS]
