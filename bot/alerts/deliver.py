"""Delivering alerts to where staff are: a Slack channel (and DSL direct messages), a Teams channel
through the school's Workflows webhook, or the local feed (the ``Alert`` table) with neither.

``deliver_pending`` is idempotent: it picks alerts not yet delivered, posts each once per path
(a stored Slack ``ts`` or Teams stamp means that path is done), and sets ``delivered_at`` only when
every configured path succeeded, so a Slack or Teams outage delays an alert and never drops it.
``refresh`` re-renders a delivered Slack alert in place after someone acts on it.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, select

from bot.alerts import ops
from bot.alerts.notify import email_alert, text_dsl
from bot.alerts.owner import needs_owner
from bot.alerts.routes import email_recipients, slack_channel_for
from bot.alerts.view import alert_view, facts, history
from bot.chat import blocks as slack_blocks
from bot.chat import cards, local, teams
from bot.chat import slack as slack_chat
from bot.chat.teams import teams_escape, teams_message
from bot.settings import Settings
from storage.db import session_scope
from storage.models import Alert, Pupil, School, Staff

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------------
# Delivery
# --------------------------------------------------------------------------------------------------


def deliver_pending(engine: Engine, *, settings: Settings, now: datetime, client=None) -> dict:
    """Deliver every undelivered alert on each of its routes; returns counts per path and of failures."""
    if client is None and slack_chat.is_configured(settings):
        client = slack_chat.web_client(settings)
    with session_scope(engine) as session:
        ids = session.exec(select(Alert.id).where(Alert.delivered_at.is_(None)).order_by(Alert.id)).all()
    counts = {
        "slack": 0,
        "slack_dm": 0,
        "teams": 0,
        "email": 0,
        "dsl_email": 0,
        "dsl_sms": 0,
        "local": 0,
        "failed": 0,
    }
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


@dataclass
class _Path:
    """One chat path's part in delivering an alert: does it reach someone, what it sent, did it fail."""

    reached: bool = False
    done: dict = field(default_factory=dict)
    failed: bool = False


def deliver_one(
    session: Session, alert: Alert, *, client, now: datetime, settings: Settings | None = None
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
    if alert.audience == ops.AUDIENCE:  # about the bot itself: the operators only
        done = ops.deliver_ops(session, alert, settings=settings, now=now)
        session.add(alert)
        session.flush()
        return done
    school = session.get(School, alert.school_id)
    # A raised-again alert is posted again, as a new message (one nobody answered has scrolled up);
    # the earlier posts are kept so a button press re-renders them all.
    raise_no = max(alert.raised_count, 1)
    paths = [
        _slack_channel(session, alert, school, client=client, raise_no=raise_no),
        _slack_dms(session, alert, client=client, raise_no=raise_no),
        _teams_channel(session, alert, school, raise_no=raise_no, now=now),
    ]
    done: dict = {k: v for path in paths for k, v in path.done.items()}
    reached = any(path.reached for path in paths)
    emailed: set[str] = set()
    if not reached:
        for address in email_recipients(school, alert.audience):
            done["email"] = done.get("email", 0) + _email(session, alert, school, address, settings, now)
            emailed.add(address)
    if needs_owner(alert) and alert.audience == "dsl":
        done.update(_to_the_dsl(session, alert, school, emailed=emailed, settings=settings, now=now))
    if not reached and not emailed:
        # Development only: production refuses to run a school with no route (``routes.missing_routes``).
        log.warning(
            "alert %s: school %s has no chat and no email address: local feed only", alert.id, school.id
        )
        local.deliver(alert, now=now)
        done["local"] = 1
    elif any(path.failed for path in paths):
        done["failed"] = 1
    else:
        alert.delivered_at = now
    session.add(alert)
    session.flush()
    return done


def _slack_channel(session: Session, alert: Alert, school: School, *, client, raise_no: int) -> _Path:
    """The school's Slack channel for the alert's audience (never for a DSL alert)."""
    if client is None or alert.audience == "dsl":
        return _Path()
    channel = slack_channel_for(school, alert.audience)
    if not channel:
        return _Path()
    if alert.slack_ts and raise_no <= (alert.data or {}).get("slack_raised", 1):
        return _Path(reached=True)
    try:
        text, blocks = slack_blocks.alert(alert_view(session, alert))
        earlier = [[alert.slack_channel, alert.slack_ts]] if alert.slack_ts else []
        alert.slack_channel, alert.slack_ts = slack_chat.post_message(
            client, channel=channel, text=text, blocks=blocks
        )
    except Exception:
        log.exception("alert %s: Slack post failed", alert.id)
        return _Path(reached=True, failed=True)
    copies = (alert.data or {}).get("slack_copies", []) + earlier
    alert.data = {**(alert.data or {}), "slack_raised": raise_no, "slack_copies": copies}
    flag_modified(alert, "data")
    return _Path(reached=True, done={"slack": 1})


def _slack_dms(session: Session, alert: Alert, *, client, raise_no: int) -> _Path:
    """A DSL alert as a direct message to each of the school's DSLs who use Slack."""
    if client is None or alert.audience != "dsl" or not _dsl_slack_accounts(session, alert.school_id):
        return _Path()
    if raise_no <= (alert.data or {}).get("slack_dm_raised", 0):
        return _Path(reached=True)
    text, blocks = slack_blocks.alert(alert_view(session, alert))
    sent = _dm_dsls(session, alert, client=client, text=text, blocks=blocks)
    if not sent:
        return _Path(reached=True, failed=True)
    alert.data = {**(alert.data or {}), "slack_dm_raised": raise_no}
    flag_modified(alert, "data")
    return _Path(reached=True, done={"slack_dm": sent})


def _teams_channel(session: Session, alert: Alert, school: School, *, raise_no: int, now: datetime) -> _Path:
    """The school's Teams channel through its Workflows webhook (never for a DSL alert)."""
    if not school.teams_workflow_url or alert.audience == "dsl":
        return _Path()
    data = alert.data or {}
    if data.get("teams_posted_at") and raise_no <= data.get("teams_raised", 1):
        return _Path(reached=True)
    try:
        card = cards.alert(alert_view(session, alert))
        teams.post(school.teams_workflow_url, teams_message(card, text=teams_escape(alert.title)))
    except Exception:
        log.exception("alert %s: Teams post failed", alert.id)
        return _Path(reached=True, failed=True)
    alert.data = {**data, "teams_posted_at": now.isoformat(), "teams_raised": raise_no}
    flag_modified(alert, "data")
    return _Path(reached=True, done={"teams": 1})


def _to_the_dsl(
    session: Session,
    alert: Alert,
    school: School,
    *,
    emailed: set[str],
    settings: Settings | None,
    now: datetime,
) -> dict:
    """An alert that needs an owner now: the DSL's email (unless already sent) and mobile."""
    done = {}
    if school.dsl_email and school.dsl_email not in emailed:
        done["dsl_email"] = _email(session, alert, school, school.dsl_email, settings, now)
    pupil = session.get(Pupil, alert.pupil_id) if alert.pupil_id else None
    label = None
    if pupil is not None:
        label = f"{pupil.display_first_name} {pupil.last_name}"
        label += f" ({pupil.class_name})" if pupil.class_name else ""
    done["dsl_sms"] = int(text_dsl(session, alert=alert, school=school, pupil_label=label, now=now))
    return done


def _email(
    session: Session, alert: Alert, school: School, address: str, settings: Settings | None, now: datetime
) -> int:
    from bot.alerts.actions import available

    labels = [a.label for a in available(alert)] if alert.status == "open" else []
    return int(
        email_alert(
            session,
            alert=alert,
            school=school,
            address=address,
            facts=facts(session, alert),
            history=history(session, alert),
            labels=labels,
            settings=settings,
            now=now,
        )
    )


def _dsl_slack_accounts(session: Session, school_id: int) -> list[Staff]:
    """The school's active DSLs who can be sent a Slack direct message."""
    return list(
        session.exec(
            select(Staff).where(
                Staff.school_id == school_id,
                Staff.role == "dsl",
                Staff.active,
                Staff.slack_user_id.is_not(None),
            )
        ).all()
    )


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
    text, blocks = slack_blocks.alert(alert_view(session, alert))
    updated = 0
    for channel, ts in dict.fromkeys(targets):
        try:
            slack_chat.update_message(client, channel=channel, ts=ts, text=text, blocks=blocks)
            updated += 1
        except Exception:
            log.exception("alert %s: Slack update failed", alert.id)
    return updated
