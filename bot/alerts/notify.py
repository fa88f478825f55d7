"""Alerts by email and by text to staff, through the outbox.

Used by alert delivery (``bot.alerts.deliver``): the email route of a school with no chat, and the
DSL's copies of the alerts that need an owner at once. The messages are staff messages: they may
name the pupil (staff need it to act), but they are never sent to a family. The text to the DSL's
mobile says only what is needed to act at once: the pupil, the class, what happened and where to
look; the parent's words stay in the email and the chat.

Each message's idempotency key names the alert, how many times it has been raised and the address,
so a delivery job run twice sends nothing twice while every re-raise sends again.
"""

from datetime import datetime

from sqlmodel import Session

from bot import clock
from bot.alerts.links import alert_link
from bot.messaging.outbox import enqueue
from bot.settings import Settings
from storage.models import Alert, School

SMS_LIMIT = 300  # two segments at most: the text says what happened and where to look
# Outbox kinds of messages to staff and professionals (a worker's day-1 email, an unanswered alert,
# an alert by email or text): never a contact with the family, so never counted as one.
STAFF_KINDS = ("staff_email", "staff_alert")


def _facts_lines(facts: list[tuple[str, str]]) -> list[str]:
    return [f"{k}: {v}" for k, v in facts]


def email_text(
    *,
    alert: Alert,
    school: School,
    facts: list[tuple[str, str]],
    history: list[str],
    labels: list[str],
    link: str | None,
) -> tuple[str, str]:
    """(subject, body) of an alert emailed to staff."""
    urgent = "URGENT — " if alert.severity == "urgent" else ""
    subject = f"{urgent}{school.name}: {alert.title}"[:200]
    lines = [alert.title, "", *_facts_lines(facts)]
    if alert.body:
        lines += ["", alert.body]
    if history:
        lines += ["", *history]
    if labels:
        lines += ["", "What has been done? " + " · ".join(labels)]
        if link:
            lines.append(f"Record it here: {link}")
        lines.append(f"(or in Slack / Teams: act {alert.id} <action>)")
    if alert.raised_count > 1:
        lines += ["", f"Raised {alert.raised_count} times: nobody has acted on it yet."]
    lines += ["", f"— {school.name} attendance bot (alert {alert.id}, for the {alert.audience} team)"]
    return subject, "\n".join(lines)


def email_alert(
    session: Session,
    *,
    alert: Alert,
    school: School,
    address: str,
    facts,
    history,
    labels: list[str],
    settings: Settings | None,
    now: datetime,
) -> bool:
    """Queue the alert by email to one member of staff; True if new for this raise."""
    link = alert_link(settings, alert_id=alert.id, address=address) if (settings and labels) else None
    subject, body = email_text(
        alert=alert, school=school, facts=facts, history=history, labels=labels, link=link
    )
    _, created = enqueue(
        session,
        school_id=school.id,
        key=f"alert:{alert.id}:{alert.raised_count}:{address}",
        kind="staff_alert",
        channel="email",
        to_address=address,
        subject=subject,
        body=body,
        now=now,
    )
    return created


def sms_text(*, alert: Alert, school: School, pupil_label: str | None) -> str:
    when = clock.to_local(alert.last_raised_at or alert.created_at, school.timezone).strftime("%H:%M")
    what = {
        "missing_child": "may be missing: parent says they left for school",
        "welfare_concern": "welfare concern in a parent's reply",
    }.get(alert.kind, alert.title)
    who = pupil_label or "a pupil"
    again = f" (raised {alert.raised_count} times, nobody has acted)" if alert.raised_count > 1 else ""
    text = (
        f"URGENT {school.name}: {who} {what}{again}. Alert {alert.id} at {when}: see your email or "
        f"the pastoral channel and record what you do."
    )
    return text[:SMS_LIMIT]


def text_dsl(
    session: Session, *, alert: Alert, school: School, pupil_label: str | None, now: datetime
) -> bool:
    """Text the DSL's mobile (when the school set one); True if new for this raise."""
    if not school.dsl_mobile:
        return False
    _, created = enqueue(
        session,
        school_id=school.id,
        key=f"alert:{alert.id}:{alert.raised_count}:sms",
        kind="staff_alert",
        channel="sms",
        to_address=school.dsl_mobile,
        body=sms_text(alert=alert, school=school, pupil_label=pupil_label),
        now=now,
    )
    return created
