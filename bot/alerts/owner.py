"""Alerts that need an owner at once: "child may be missing" and welfare concerns in a reply.

They are the most urgent alerts the bot raises, so they get the most follow-up, not the least:

- buttons that say what was done (``OWNER_ACTIONS``: Child found safe, Parent reached, Police
  informed, Close), handled in ``bot.replies.actions`` and ``bot.commands.acting``;
- every delivery also emails the DSL and, when the school set the DSL's mobile, texts it
  (``bot.alerts.deliver``);
- raised again every ``urgent_realert_minutes`` (school policy, default 5) until someone acts:
  ``reraise_owned`` runs with the alert delivery job, every few seconds on the clock; once the
  alert's case is closed (the register shows the child in school, or staff closed it) it is closed
  instead of raised again;
- listed at the top of ``/absences`` and ``/pupil`` while open.

Pressing any button on one of a missing child's twin alerts (pastoral and DSL) settles both.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import clock
from storage.db import session_scope
from storage.models import AbsenceCase, Alert, AlertAction, CaseEvent, School, SchoolPolicy

log = logging.getLogger(__name__)

OWNED_KINDS = ("missing_child", "welfare_concern")
OWNER_ACTIONS = ["child_found_safe", "parent_reached", "police_informed", "close_alert"]
DEFAULT_REALERT_MINUTES = 5


def needs_owner(alert: Alert) -> bool:
    return alert.kind in OWNED_KINDS


def _base_body(alert: Alert) -> str:
    return (alert.data or {}).get("first_body", alert.body or "")


def reraised_body(alert: Alert, *, count: int, tz: str) -> str:
    first = clock.to_local(alert.created_at, tz).strftime("%H:%M")
    return f"{_base_body(alert)}\n\nRaised {count} times since {first}: nobody has acted on it yet."


def due_owned(session: Session, *, now: datetime) -> list[tuple[Alert, School, str | None]]:
    """Open owned alerts nobody acted on whose school's re-alert interval has passed since the last
    raise, each with its case's status (None without a case). Few rows (open urgent alerts), so the
    interval is compared here, per school."""
    acted = select(AlertAction.id).where(AlertAction.alert_id == Alert.id).exists()
    rows = session.exec(
        select(Alert, School, SchoolPolicy.urgent_realert_minutes, AbsenceCase.status)
        .join(School, School.id == Alert.school_id)
        .join(SchoolPolicy, SchoolPolicy.school_id == Alert.school_id, isouter=True)
        .join(AbsenceCase, AbsenceCase.id == Alert.case_id, isouter=True)
        .where(Alert.kind.in_(OWNED_KINDS), Alert.status == "open", ~acted)
        .order_by(Alert.id)
    ).all()
    due = []
    for alert, school, minutes, case_status in rows:
        since = alert.last_raised_at or alert.created_at
        if now - since >= timedelta(minutes=minutes or DEFAULT_REALERT_MINUTES):
            due.append((alert, school, case_status))
    return due


def _close_with_case(session: Session, alert: Alert, *, now: datetime) -> None:
    alert.status = "closed"
    session.add(alert)
    session.add(
        CaseEvent(
            school_id=alert.school_id,
            case_id=alert.case_id,
            pupil_id=alert.pupil_id,
            at=now,
            kind="alert_closed",
            actor="system",
            summary=f"Alert closed: the case is closed (seen in school or closed by staff) ({alert.title})",
            data={"alert_id": alert.id},
        )
    )


def reraise_owned(engine: Engine, *, now: datetime) -> int:
    """Raise again every owned alert nobody has acted on within its school's interval.

    One short transaction per alert; the conditional UPDATE on ``raised_count`` means two delivery
    jobs at once raise it once. Clearing ``delivered_at`` sends it out again on every route (chat,
    the DSL's email and phone).
    """
    with Session(engine) as session:
        due = [(a.id, a.raised_count, s.timezone, case) for a, s, case in due_owned(session, now=now)]
    count = 0
    for alert_id, seen_count, tz, case_status in due:
        with session_scope(engine) as session:
            alert = session.get(Alert, alert_id)
            if alert is None or alert.raised_count != seen_count or alert.status != "open":
                continue
            if case_status == "closed":
                # The register shows the child in school (or staff closed the case): nothing to chase.
                _close_with_case(session, alert, now=now)
                continue
            n = max(seen_count, 1) + 1
            data = {**(alert.data or {}), "first_body": _base_body(alert), "raised_count": n}
            result = session.execute(
                update(Alert)
                .where(Alert.id == alert_id, Alert.raised_count == seen_count, Alert.status == "open")
                .values(
                    raised_count=n,
                    last_raised_at=now,
                    delivered_at=None,
                    data=data,
                    body=reraised_body(alert, count=n, tz=tz),
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount != 1:
                continue
            if alert.case_id or alert.pupil_id:
                session.add(
                    CaseEvent(
                        school_id=alert.school_id,
                        case_id=alert.case_id,
                        pupil_id=alert.pupil_id,
                        at=now,
                        kind="alert_reraised",
                        actor="system",
                        summary=f"Alert raised again: nobody has acted ({alert.title})",
                        data={"alert_id": alert_id, "raised_count": n},
                    )
                )
            count += 1
    if count:
        log.info("raised %d urgent alert(s) again: nobody has acted", count)
    return count
