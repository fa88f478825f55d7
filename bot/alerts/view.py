"""What an alert says, gathered from the database once: the facts, evidence, history and actions
that Slack, Teams, the email, the alert page and the sandbox all show (``AlertView``).

The tools' renderers (``bot.chat.blocks.alert``, ``bot.chat.cards.alert``) only lay it out, so every
place an alert appears says the same thing.
"""

from datetime import datetime

from sqlmodel import Session, select

from bot import clock
from bot.chat.message import AlertView
from bot.pupils import flags, year_label
from storage.models import Alert, AlertAction, Pupil


def alert_view(session: Session, alert: Alert) -> AlertView:
    """The alert as every tool shows it; actions only while it is open."""
    from bot.alerts.actions import available

    buttons = available(alert) if alert.status == "open" else []
    return AlertView(
        id=alert.id,
        title=alert.title,
        severity=alert.severity,
        audience=alert.audience,
        status=alert.status,
        body=alert.body,
        facts=facts(session, alert),
        evidence=evidence(alert),
        history=history(session, alert),
        actions=[(a.id, a.label) for a in buttons],
    )


def facts(session: Session, alert: Alert) -> list[tuple[str, str]]:
    pupil = session.get(Pupil, alert.pupil_id) if alert.pupil_id else None
    data = alert.data or {}
    out = []
    if pupil is not None:
        out.append(("Pupil", f"{pupil.display_first_name} {pupil.last_name}"))
        year = year_label(pupil.year_group)
        out.append(("Year / class", " / ".join(x for x in (year, pupil.class_name or "") if x) or "—"))
        if flags(pupil):
            out.append(("Flags", ", ".join(flags(pupil))))
    if data.get("day") is not None:
        out.append(("Day of absence", f"school day {data['day']}"))
    return out


def evidence_line(item) -> str:
    """A threshold's evidence row ``{date, session, code}`` as staff read it: "Mon 09 Nov AM: O"."""
    if isinstance(item, dict) and "date" in item:
        try:
            day = datetime.fromisoformat(str(item["date"])).strftime("%a %d %b")
        except ValueError:
            day = str(item["date"])
        parts = [day, str(item.get("session") or "").upper()]
        line = " ".join(p for p in parts if p)
        return f"{line}: {item['code']}" if item.get("code") else line
    return str(item)


def evidence(alert: Alert) -> list[str]:
    ev = (alert.data or {}).get("evidence")
    if isinstance(ev, str):
        return [ev]
    if isinstance(ev, list):
        lines = [evidence_line(x) for x in ev]
        if len(lines) > 10:
            # Sessions as one compact line each of up to ten, so long runs stay readable in chat.
            lines = ["; ".join(lines[i : i + 10]) for i in range(0, len(lines), 10)]
        return lines[:10]
    if isinstance(ev, dict):
        return [f"{k}: {v}" for k, v in list(ev.items())[:10]]
    return []


def history(session: Session, alert: Alert) -> list[str]:
    from bot.alerts.actions import ACTIONS

    rows = session.exec(
        select(AlertAction).where(AlertAction.alert_id == alert.id).order_by(AlertAction.id)
    ).all()
    out = []
    for r in rows[-5:]:
        label = ACTIONS[r.action].label if r.action in ACTIONS else r.action
        out.append(f"✓ {label} — {r.actor_name}, {clock.to_local(r.at):%a %d %b %H:%M}")
    return out
