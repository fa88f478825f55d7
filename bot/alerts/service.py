"""Raising alerts.

An alert is a row with a unique idempotency key, written in the transaction of the change that
caused it. Raising the same key twice (a re-run sweep, a second clock) returns the first row and
changes nothing. Delivery to Slack, Teams, email or the local feed is a separate sender's job.
"""

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.alerts.owner import OWNED_KINDS
from storage.models import Alert

SEVERITIES = ("urgent", "high", "normal")
AUDIENCES = ("pastoral", "dsl", "attendance", "ops")  # ops: the operators (bot.alerts.ops)


def raise_alert(
    session: Session,
    *,
    school_id: int,
    key: str,
    kind: str,
    title: str,
    body: str = "",
    audience: str = "pastoral",
    severity: str = "normal",
    pupil_id: int | None = None,
    case_id: int | None = None,
    data: dict | None = None,
    now: datetime,
) -> tuple[Alert, bool]:
    """Insert the alert unless its key exists. Returns (alert, created)."""
    assert audience in AUDIENCES and severity in SEVERITIES
    existing = session.exec(select(Alert).where(Alert.idempotency_key == key)).first()
    if existing is not None:
        return existing, False
    # An alert that needs an owner at once counts as raised the moment it exists: its re-alert
    # clock (``bot.alerts.owner``) starts now.
    owned = kind in OWNED_KINDS
    alert = Alert(
        raised_count=1 if owned else 0,
        last_raised_at=now if owned else None,
        school_id=school_id,
        idempotency_key=key,
        kind=kind,
        title=title,
        body=body,
        audience=audience,
        severity=severity,
        pupil_id=pupil_id,
        case_id=case_id,
        data=data or {},
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:
        existing = session.exec(select(Alert).where(Alert.idempotency_key == key)).first()
        if existing is None:
            raise
        return existing, False
    if case_id is not None or pupil_id is not None:
        _log_raised(session, alert, now=now)
    return alert, True


def _log_raised(session: Session, alert: Alert, *, now: datetime) -> None:
    """The alert in its case's (or pupil's) log, where the timeline shows it."""
    from bot.cases.service import log

    log(
        session,
        school_id=alert.school_id,
        case_id=alert.case_id,
        pupil_id=alert.pupil_id,
        kind="alert",
        summary=alert.title,
        data={"alert_id": alert.id, "kind": alert.kind, "audience": alert.audience},
        now=now,
    )
