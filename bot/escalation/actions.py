"""What the buttons on escalation and threshold alerts do.

``bot.commands.acting.act`` records who pressed which and when (an ``AlertAction`` row and a
case-log entry) and then calls the handler here; the chat edges re-render the alert in place
afterwards. Labels and who may press live in the catalogue, ``bot.alerts.actions``.
"""

from datetime import datetime

from sqlmodel import Session

from bot.actors import Actor
from bot.cases.service import close, log
from storage.models import AbsenceCase, Alert


def _case(session: Session, alert: Alert) -> AbsenceCase | None:
    return session.get(AbsenceCase, alert.case_id) if alert.case_id else None


def _record(session: Session, alert: Alert, actor: Actor, kind: str, summary: str, now: datetime) -> None:
    """A case-log entry of what was done (the safeguarding timeline reads these kinds)."""
    log(
        session,
        school_id=alert.school_id,
        case_id=alert.case_id,
        pupil_id=alert.pupil_id,
        kind=kind,
        summary=f"{summary} — {actor.name}",
        actor=actor.label if actor.staff_id else actor.name,
        data={"alert_id": alert.id},
        now=now,
    )


def home_visit_seen(
    session: Session, *, alert: Alert, actor: Actor, value: str | None, now: datetime
) -> None:
    _record(session, alert, actor, "home_visit_seen", "Home visit: child seen", now)
    case = _case(session, alert)
    if case is not None:
        close(session, case=case, reason="child seen on a home visit", actor=actor, now=now)


def home_visit_no_answer(
    session: Session, *, alert: Alert, actor: Actor, value: str | None, now: datetime
) -> None:
    # The case stays open: the ladder carries on to MASH and the police.
    _record(session, alert, actor, "home_visit_no_answer", "Home visit: no answer at the door", now)


def referred_mash(session: Session, *, alert: Alert, actor: Actor, value: str | None, now: datetime) -> None:
    _record(session, alert, actor, "referred_mash", "Referred to MASH", now)


def police_informed(
    session: Session, *, alert: Alert, actor: Actor, value: str | None, now: datetime
) -> None:
    _record(session, alert, actor, "police_informed", "Police informed", now)


def la_notified(session: Session, *, alert: Alert, actor: Actor, value: str | None, now: datetime) -> None:
    _record(session, alert, actor, "la_notified", "Local authority notified", now)


def cme_referred(session: Session, *, alert: Alert, actor: Actor, value: str | None, now: datetime) -> None:
    _record(session, alert, actor, "cme_referred", "Children-missing-education referral made", now)


# Action id -> handler, for ``bot.commands.acting``.
HANDLERS = {
    "home_visit_seen": home_visit_seen,
    "home_visit_no_answer": home_visit_no_answer,
    "referred_mash": referred_mash,
    "police_informed": police_informed,
    "la_notified": la_notified,
    "cme_referred": cme_referred,
}
