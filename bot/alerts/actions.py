"""What staff can do with an alert from the chat tools (buttons) and the sandbox.

``ACTIONS`` maps an action id to its button label. ``act`` records who did what and when
(an ``AlertAction`` row and a case-log entry) and updates the alert's state; the chat edges then
re-render the alert in place. The escalation work extends this table.
"""

from sqlmodel import Session

from bot import clock
from bot.actors import Actor
from bot.errors import NotFound, PermissionDenied, UserError
from storage.models import Alert, AlertAction

ACTIONS: dict[str, str] = {
    "acknowledge": "Acknowledge",
    "home_visit_seen": "Home visit done – child seen",
    "home_visit_no_answer": "No answer at the door",
    "referred_mash": "Referred to MASH",
    "police_informed": "Police informed",
    "close_case": "Close case",
}
# Actions that settle an alert; the others are recorded and leave it open for follow-up.
SETTLING = {"acknowledge", "home_visit_seen", "referred_mash", "close_case"}


def act(session: Session, *, alert_id: int, action: str, actor: Actor, note: str = "") -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("That alert no longer exists.")
    if actor.school_id is not None and actor.school_id != alert.school_id:
        raise PermissionDenied("That alert belongs to another school.")
    if action not in ACTIONS:
        raise UserError(f"Unknown action '{action}'.")
    session.add(AlertAction(school_id=alert.school_id, alert_id=alert.id, action=action,
                            staff_id=actor.staff_id, actor_name=actor.name, at=clock.now(), note=note))
    if action in SETTLING and alert.status == "open":
        alert.status = "acted"
    session.add(alert)
    from bot.cases.service import log

    log(session, school_id=alert.school_id, case_id=alert.case_id, pupil_id=alert.pupil_id,
        kind="alert_action", summary=f"{ACTIONS[action]} — {actor.name}", actor=actor.name,
        data={"alert_id": alert.id, "action": action, "note": note})
    if action == "close_case" and alert.case_id:
        from bot.cases.service import close
        from storage.models import AbsenceCase

        case = session.get(AbsenceCase, alert.case_id)
        if case is not None:
            close(session, case=case, reason=f"closed by {actor.name}", actor=actor)
    session.flush()
    return alert
