"""/notice PUPIL: WHAT THE FAMILY SAID: record an absence a family reported to the office."""

from slack_bolt import App

from handlers.slack.listeners.commands import answer


def notice(ack, command, respond, context) -> None:
    answer("notice", ack, command, respond, context)


def register(app: App) -> None:
    app.command("/notice")(notice)
