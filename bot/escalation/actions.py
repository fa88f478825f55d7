"""The buttons on escalation and threshold alerts.

``bot.alerts.actions.act`` records who pressed which and when (an ``AlertAction`` row and a case-log
entry) and then calls the handler here; the chat edges re-render the alert in place afterwards.
"""

from sqlmodel import Session

from bot.actors import Actor
from bot.alerts.actions import action
from bot.cases.service import close, log
from storage.models import AbsenceCase, Alert


def _case(session: Session, alert: Alert) -> AbsenceCase | None:
    return session.get(AbsenceCase, alert.case_id) if alert.case_id else None


def _record(session: Session, alert: Alert, actor: Actor, kind: str, summary: str) -> None:
    """A case-log entry of what was done (the safeguarding timeline reads these kinds)."""
    log(session, school_id=alert.school_id, case_id=alert.case_id, pupil_id=alert.pupil_id, kind=kind,
        summary=f"{summary} — {actor.name}", actor=actor.label if actor.staff_id else actor.name,
        data={"alert_id": alert.id})


@action("home_visit_seen", "Home visit done – child seen", settles=True)
def home_visit_seen(session: Session, *, alert: Alert, actor: Actor, value: str | None) -> None:
    _record(session, alert, actor, "home_visit_seen", "Home visit: child seen")
    case = _case(session, alert)
    if case is not None:
        close(session, case=case, reason="child seen on a home visit", actor=actor)


@action("home_visit_no_answer", "No answer at the door", settles=False)
def home_visit_no_answer(session: Session, *, alert: Alert, actor: Actor, value: str | None) -> None:
    # The case stays open: the ladder carries on to MASH and the police.
    _record(session, alert, actor, "home_visit_no_answer", "Home visit: no answer at the door")


@action("referred_mash", "Referred to MASH", settles=True)
def referred_mash(session: Session, *, alert: Alert, actor: Actor, value: str | None) -> None:
    _record(session, alert, actor, "referred_mash", "Referred to MASH")


@action("police_informed", "Police informed", settles=True)
def police_informed(session: Session, *, alert: Alert, actor: Actor, value: str | None) -> None:
    _record(session, alert, actor, "police_informed", "Police informed")


@action("la_notified", "Local authority notified", settles=True)
def la_notified(session: Session, *, alert: Alert, actor: Actor, value: str | None) -> None:
    _record(session, alert, actor, "la_notified", "Local authority notified")


@action("cme_referred", "Referred to the CME team", settles=True)
def cme_referred(session: Session, *, alert: Alert, actor: Actor, value: str | None) -> None:
    _record(session, alert, actor, "cme_referred", "Children-missing-education referral made")
