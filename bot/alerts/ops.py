"""Alerts to the deployment's operators (audience "ops"): about the bot itself, never about a pupil.

A school's staff cannot fix a clock that did not run their register close, and a family must never
hear of it; the people who run the deployment can. So an ops alert goes only to ``OPS_EMAIL`` —
never to a school's Slack or Teams channel, its DSL or its attendance lead — and ``/healthz``
lists it while it is open. It is raised once per key (one slot, one outage) and closed when the
thing it reports has righted itself.
"""

import logging
from datetime import datetime

from sqlmodel import Session, select

from bot.alerts.notify import email_alert
from bot.alerts.service import raise_alert
from bot.chat import local
from bot.settings import Settings
from storage.models import Alert, School

log = logging.getLogger(__name__)

AUDIENCE = "ops"
SLOT_LATE = "slot_late"


def slot_late_key(run_key: str) -> str:
    """The alert key of a scheduled run that is late (``scheduler.late``): one alert per slot."""
    return f"{SLOT_LATE}:{run_key}"


def raise_ops_alert(
    session: Session,
    *,
    school_id: int,
    key: str,
    kind: str,
    title: str,
    body: str,
    data: dict | None = None,
    now: datetime,
) -> bool:
    """Raise it once per ``key``; True if it is new."""
    _, created = raise_alert(
        session,
        school_id=school_id,
        key=key,
        kind=kind,
        title=title,
        body=body,
        audience=AUDIENCE,
        severity="high",
        data=data,
        now=now,
    )
    return created


def close_ops_alert(session: Session, *, key: str) -> bool:
    """What it reported has righted itself (the slot ran): off ``/healthz``. True if it was open."""
    alert = session.exec(select(Alert).where(Alert.idempotency_key == key)).first()
    if alert is None or alert.status != "open":
        return False
    alert.status = "closed"
    session.add(alert)
    return True


def open_ops_alerts(session: Session) -> list[Alert]:
    return list(
        session.exec(
            select(Alert).where(Alert.audience == AUDIENCE, Alert.status == "open").order_by(Alert.id)
        ).all()
    )


def deliver_ops(session: Session, alert: Alert, *, settings: Settings | None, now: datetime) -> dict:
    """Email it to the operators (``OPS_EMAIL``); with no address, the local feed and an error log."""
    address = settings.ops_email if settings else None
    alert.delivered_at = now
    if not address:
        log.error(
            "ops alert %s (%s, school %s): set OPS_EMAIL to be told", alert.id, alert.kind, alert.school_id
        )
        local.deliver(alert, now=now)
        return {"local": 1}
    school = session.get(School, alert.school_id)
    sent = email_alert(
        session,
        alert=alert,
        school=school,
        address=address,
        facts=[],
        history=[],
        labels=[],
        settings=settings,
        now=now,
    )
    return {"ops_email": int(sent)}
