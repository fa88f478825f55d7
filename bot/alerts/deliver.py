"""Delivering alerts to where staff are: a Slack channel (and DSL direct messages), a Teams channel
through the school's Workflows webhook, or the local feed (the ``Alert`` table) with neither.

``deliver_pending`` is idempotent: it picks alerts not yet delivered, posts each once per path
(a stored Slack ``ts`` or Teams stamp means that path is done), and sets ``delivered_at`` only when
every configured path succeeded, so a Slack or Teams outage delays an alert and never drops it.
``refresh`` re-renders a delivered Slack alert in place after someone acts on it.
"""

import logging
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, select

from bot import clock
from bot.alerts import ops
from bot.alerts.notify import email_alert, text_dsl
from bot.alerts.owner import needs_owner
from bot.alerts.routes import email_recipients, slack_channel_for
from bot.chat import local, teams
from bot.chat import slack as slack_chat
from bot.chat.slack import slack_escape
from bot.chat.teams import TEAMS_CARD_VERSION, teams_message
from bot.pupils import flags, year_label
from bot.settings import Settings
from storage.db import session_scope
from storage.models import Alert, AlertAction, Pupil, School, Staff

log = logging.getLogger(__name__)

SEVERITY_ICON = {"urgent": "🔴", "high": "🟠", "normal": "🔵"}
TEAMS_MENTION = "@Attendance"


# --------------------------------------------------------------------------------------------------
# What an alert says
# --------------------------------------------------------------------------------------------------


def _facts(session: Session, alert: Alert) -> list[tuple[str, str]]:
    pupil = session.get(Pupil, alert.pupil_id) if alert.pupil_id else None
    data = alert.data or {}
    facts = []
    if pupil is not None:
        facts.append(("Pupil", f"{pupil.display_first_name} {pupil.last_name}"))
        year = year_label(pupil.year_group)
        facts.append(("Year / class", " / ".join(x for x in (year, pupil.class_name or "") if x) or "—"))
        if flags(pupil):
            facts.append(("Flags", ", ".join(flags(pupil))))
    if data.get("day") is not None:
        facts.append(("Day of absence", f"school day {data['day']}"))
    return facts


def _evidence_line(item) -> str:
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


def _evidence(alert: Alert) -> list[str]:
    ev = (alert.data or {}).get("evidence")
    if isinstance(ev, str):
        return [ev]
    if isinstance(ev, list):
        lines = [_evidence_line(x) for x in ev]
        if len(lines) > 10:
            # Sessions as one compact line each of up to ten, so long runs stay readable in chat.
            lines = ["; ".join(lines[i:i + 10]) for i in range(0, len(lines), 10)]
        return lines[:10]
    if isinstance(ev, dict):
        return [f"{k}: {v}" for k, v in list(ev.items())[:10]]
    return []


def _history(session: Session, alert: Alert) -> list[str]:
    from bot.alerts.actions import ACTIONS

    rows = session.exec(
        select(AlertAction).where(AlertAction.alert_id == alert.id).order_by(AlertAction.id)
    ).all()
    out = []
    for r in rows[-5:]:
        label = ACTIONS[r.action].label if r.action in ACTIONS else r.action
        out.append(f"✓ {label} — {r.actor_name}, {clock.to_local(r.at):%a %d %b %H:%M}")
    return out


def slack_view(session: Session, alert: Alert) -> tuple[str, list[dict]]:
    from bot.alerts.actions import available

    icon = SEVERITY_ICON.get(alert.severity, "")
    blocks: list[dict] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": f"{icon} {alert.title}"[:150], "emoji": True},
        },
    ]
    facts = _facts(session, alert)
    if facts:
        blocks.append(
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{slack_escape(v)}"} for k, v in facts[:10]],
            }
        )
    if alert.body:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(alert.body)[:2900]}}
        )
    evidence = _evidence(alert)
    if evidence:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": slack_escape(e)[:300]} for e in evidence[:10]],
            }
        )
    history = _history(session, alert)
    if history:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape("\n".join(history))}}
        )
    buttons = available(alert) if alert.status == "open" else []
    if buttons:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"alert:{alert.id}",
                "elements": [
                    {
                        "type": "button",
                        "action_id": f"alert_action:{a.id}",
                        "value": f"{alert.id}:{a.id}",
                        "text": {"type": "plain_text", "text": a.label[:75]},
                    }
                    for a in buttons[:25]
                ],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"Alert {alert.id} · {alert.severity} · for {alert.audience} · {alert.status}",
                }
            ],
        }
    )
    return f"{icon} {alert.title}", blocks


def teams_card(session: Session, alert: Alert) -> dict:
    """An Adaptive Card 1.5. Workflow cards cannot call back, so actions are commands to type."""
    from bot.alerts.actions import available

    body: list[dict] = [
        {
            "type": "TextBlock",
            "size": "Large",
            "weight": "Bolder",
            "wrap": True,
            "text": f"{SEVERITY_ICON.get(alert.severity, '')} {alert.title}",
            **({"color": "Attention"} if alert.severity == "urgent" else {}),
        }
    ]
    facts = _facts(session, alert)
    if facts:
        body.append({"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]})
    if alert.body:
        body.append({"type": "TextBlock", "text": alert.body, "wrap": True})
    for e in _evidence(alert):
        body.append({"type": "TextBlock", "text": e, "wrap": True, "isSubtle": True, "spacing": "Small"})
    for h in _history(session, alert):
        body.append({"type": "TextBlock", "text": h, "wrap": True, "spacing": "Small"})
    buttons = available(alert) if alert.status == "open" else []
    if buttons:
        body.append(
            {
                "type": "TextBlock",
                "text": "To act, type in this channel:",
                "wrap": True,
                "weight": "Bolder",
                "spacing": "Medium",
            }
        )
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": a.label, "value": f"{TEAMS_MENTION} act {alert.id} {a.id}"} for a in buttons
                ],
            }
        )
    body.append(
        {
            "type": "TextBlock",
            "isSubtle": True,
            "size": "Small",
            "wrap": True,
            "text": f"Alert {alert.id} · {alert.severity} · for {alert.audience} · {alert.status}",
        }
    )
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": TEAMS_CARD_VERSION,
        "body": body,
    }


# --------------------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------------------


def deliver_pending(engine: Engine, *, settings: Settings, now: datetime, client=None) -> dict:
    """Deliver every undelivered alert on each of its routes; returns counts per path and of failures."""
    if client is None and slack_chat.is_configured(settings):
        client = slack_chat.web_client(settings)
    with session_scope(engine) as session:
        ids = session.exec(select(Alert.id).where(Alert.delivered_at.is_(None)).order_by(Alert.id)).all()
    counts = {"slack": 0, "slack_dm": 0, "teams": 0, "email": 0, "dsl_email": 0, "dsl_sms": 0, "local": 0,
              "failed": 0}
    for alert_id in ids:
        try:
            with session_scope(engine) as session:
                alert = session.get(Alert, alert_id, with_for_update=True)
                if alert is None or alert.delivered_at is not None:
                    continue
                for path, n in deliver_one(session, alert, client=client, now=now, settings=settings).items():
                    counts[path] = counts.get(path, 0) + n
        except Exception:
            counts["failed"] += 1
            log.exception("alert %s: delivery failed", alert_id)
    return counts


def deliver_one(session: Session, alert: Alert, *, client, now: datetime, settings: Settings | None = None
                ) -> dict:
    """Deliver one alert on every route it has; progress is kept per chat path.

    Chat first. Pastoral and attendance alerts go to the school's Slack channel and Teams Workflows
    channel. A DSL alert (a parent's disclosure, a vulnerable child's worker) never goes to a shared
    channel: in Slack it is a direct message to each DSL, and Teams has no private route here, so it
    goes to the DSL by email. An alert that reaches nobody by chat is emailed (``routes``): it must
    reach a person, not a log line. An alert that needs an owner at once also goes to the DSL's email
    and phone whatever chat there is. Email and text are outbox rows written here, in the
    transaction that marks the alert delivered.
    """
    if alert.audience == ops.AUDIENCE:  # about the bot itself: the operators only
        done = ops.deliver_ops(session, alert, settings=settings, now=now)
        session.add(alert)
        session.flush()
        return done
    school = session.get(School, alert.school_id)
    done: dict = {}
    failed = False
    # A raised-again alert is posted again, as a new message (one nobody answered has scrolled up);
    # the earlier posts are kept so a button press re-renders them all.
    raise_no = max(alert.raised_count, 1)
    private = alert.audience == "dsl"
    channel = slack_channel_for(school, alert.audience) if client is not None and not private else None
    reached = False
    if channel:
        reached = True
        if not alert.slack_ts or raise_no > (alert.data or {}).get("slack_raised", 1):
            try:
                text, blocks = slack_view(session, alert)
                earlier = [[alert.slack_channel, alert.slack_ts]] if alert.slack_ts else []
                alert.slack_channel, alert.slack_ts = slack_chat.post_message(
                    client, channel=channel, text=text, blocks=blocks
                )
                copies = (alert.data or {}).get("slack_copies", []) + earlier
                alert.data = {**(alert.data or {}), "slack_raised": raise_no, "slack_copies": copies}
                flag_modified(alert, "data")
                done["slack"] = 1
            except Exception:
                failed = True
                log.exception("alert %s: Slack post failed", alert.id)
    if private and client is not None and _dsl_slack_accounts(session, alert.school_id):
        reached = True
        if raise_no > (alert.data or {}).get("slack_dm_raised", 0):
            text, blocks = slack_view(session, alert)
            sent = _dm_dsls(session, alert, client=client, text=text, blocks=blocks)
            if sent:
                alert.data = {**(alert.data or {}), "slack_dm_raised": raise_no}
                flag_modified(alert, "data")
                done["slack_dm"] = sent
            else:
                failed = True
    teams_due = (not (alert.data or {}).get("teams_posted_at")
                 or raise_no > (alert.data or {}).get("teams_raised", 1))
    if school.teams_workflow_url and not private:
        reached = True
        if teams_due:
            try:
                card = teams_card(session, alert)
                teams.post(school.teams_workflow_url, teams_message(card, text=alert.title))
                alert.data = {**(alert.data or {}), "teams_posted_at": now.isoformat(),
                              "teams_raised": raise_no}
                flag_modified(alert, "data")
                done["teams"] = 1
            except Exception:
                failed = True
                log.exception("alert %s: Teams post failed", alert.id)
    emailed: set[str] = set()
    if not reached:
        for address in email_recipients(school, alert.audience):
            done["email"] = done.get("email", 0) + _email(session, alert, school, address, settings, now)
            emailed.add(address)
    if needs_owner(alert) and private:
        if school.dsl_email and school.dsl_email not in emailed:
            done["dsl_email"] = _email(session, alert, school, school.dsl_email, settings, now)
        pupil = session.get(Pupil, alert.pupil_id) if alert.pupil_id else None
        label = None
        if pupil is not None:
            label = f"{pupil.display_first_name} {pupil.last_name}"
            label += f" ({pupil.class_name})" if pupil.class_name else ""
        done["dsl_sms"] = int(text_dsl(session, alert=alert, school=school, pupil_label=label, now=now))
    if not reached and not emailed:
        # Development only: production refuses to run a school with no route (``routes.missing_routes``).
        log.warning("alert %s: school %s has no chat and no email address: local feed only", alert.id,
                    school.id)
        local.deliver(alert, now=now)
        done["local"] = 1
    elif failed:
        done["failed"] = 1
    else:
        alert.delivered_at = now
    session.add(alert)
    session.flush()
    return done


def _email(session: Session, alert: Alert, school: School, address: str, settings: Settings | None,
           now: datetime) -> int:
    from bot.alerts.actions import available

    labels = [a.label for a in available(alert)] if alert.status == "open" else []
    return int(email_alert(session, alert=alert, school=school, address=address, facts=_facts(session, alert),
                           history=_history(session, alert), labels=labels, settings=settings, now=now))


def _dsl_slack_accounts(session: Session, school_id: int) -> list[Staff]:
    """The school's active DSLs who can be sent a Slack direct message."""
    return list(session.exec(
        select(Staff).where(
            Staff.school_id == school_id,
            Staff.role == "dsl",
            Staff.active,
            Staff.slack_user_id.is_not(None),
        )
    ).all())


def _dm_dsls(session: Session, alert: Alert, *, client, text: str, blocks: list[dict]) -> int:
    """A copy to each DSL by direct message (``refresh`` re-renders them after a button press)."""
    dsls = _dsl_slack_accounts(session, alert.school_id)
    copies = list((alert.data or {}).get("slack_copies", []))
    sent = 0
    for dsl in dsls:
        try:
            dm = slack_chat.open_dm(client, user_id=dsl.slack_user_id)
            copies.append(list(slack_chat.post_message(client, channel=dm, text=text, blocks=blocks)))
            sent += 1
        except Exception:
            log.exception("alert %s: DM to staff %s failed", alert.id, dsl.id)
    alert.data = {**(alert.data or {}), "slack_copies": copies}
    flag_modified(alert, "data")
    return sent


def refresh(
    session: Session,
    alert: Alert,
    *,
    client=None,
    settings: Settings | None = None,
    also: list[tuple[str, str]] | tuple = (),
) -> int:
    """Re-render the alert's Slack messages in place (``chat.update``); returns how many."""
    if client is None:
        if settings is None or not slack_chat.is_configured(settings):
            return 0
        client = slack_chat.web_client(settings)
    targets: list[tuple[str, str]] = []
    if alert.slack_channel and alert.slack_ts:
        targets.append((alert.slack_channel, alert.slack_ts))
    targets += [tuple(c) for c in (alert.data or {}).get("slack_copies", [])]
    targets += [tuple(c) for c in also]
    text, blocks = slack_view(session, alert)
    updated = 0
    for channel, ts in dict.fromkeys(targets):
        try:
            slack_chat.update_message(client, channel=channel, ts=ts, text=text, blocks=blocks)
            updated += 1
        except Exception:
            log.exception("alert %s: Slack update failed", alert.id)
    return updated
