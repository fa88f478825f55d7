"""Staff acting on an alert from a command or a button: only their own school's alerts, and DSL-only
alerts only by the DSL or the headteacher. The button itself runs in ``commands.acting``."""

from datetime import datetime

from sqlmodel import Session

from bot.commands.common import actor_of
from bot.commands.identity import DSL_ROLES
from bot.errors import NotFound, PermissionDenied
from storage.models import Alert, Staff


def act(
    session: Session, *, staff: Staff, alert_id: int, action: str, now: datetime, note: str = ""
) -> Alert:
    from bot.commands.acting import act as alert_act

    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"There is no alert {alert_id}.")
    if alert.school_id != staff.school_id:
        raise PermissionDenied(f"Sorry, alert {alert_id} belongs to another school.")
    if alert.audience == "dsl" and staff.role not in DSL_ROLES:
        raise PermissionDenied("Sorry, only the DSL or the headteacher can act on this alert.")
    return alert_act(session, alert_id=alert_id, action=action, actor=actor_of(staff), note=note, now=now)
