"""A button on an alert: act through the shared command (``act ALERT ACTION``), then re-render the
alert's messages in place so everyone sees who did what."""

import logging
import re

from slack_bolt import App

from bot import clock
from bot.alerts import deliver
from bot.chat import blocks
from bot.commands import run_as
from handlers.slack.listeners.work import submit, who_from
from storage.db import session_scope
from storage.models import Alert

log = logging.getLogger(__name__)


def alert_action(ack, body, action, respond, context, client) -> None:
    ack()
    who = who_from(body)
    alert_id, _, action_id = (action.get("value") or "").partition(":")
    container = body.get("container") or {}
    here = (container.get("channel_id"), container.get("message_ts"))
    now = clock.now()

    def job() -> None:
        with session_scope(context["engine"]) as session:
            result = run_as(session, who=who, text=f"act {alert_id} {action_id}", now=now)
            if result.ok and result.alert_id:
                alert = session.get(Alert, result.alert_id)
                deliver.refresh(session, alert, client=client, also=[here] if all(here) else [])
                return
        respond(**blocks.command(result), response_type="ephemeral", replace_original=False)

    submit(context, job)


def register(app: App) -> None:
    app.action(re.compile(r"^alert_action(:[\w-]+)?$"))(alert_action)
