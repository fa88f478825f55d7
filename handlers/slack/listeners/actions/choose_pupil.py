"""A choice button, offered when several pupils matched: re-run the command with that pupil."""

import re

from slack_bolt import App

from handlers.slack.listeners.work import run_and_respond, who_from


def choose_pupil(ack, body, action, respond, context) -> None:
    ack()
    run_and_respond(
        context, who=who_from(body), line=action.get("value", ""), respond=respond, replace_original=True
    )


def register(app: App) -> None:
    app.action(re.compile(r"^choose_pupil(:\d+)?$"))(choose_pupil)
