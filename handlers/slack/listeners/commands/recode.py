"""/recode PUPIL CODE [DATE] [am|pm|both] REASON: change a mark through the audited path."""

from slack_bolt import App

from handlers.slack.listeners.commands import answer


def recode(ack, command, respond, context) -> None:
    answer("recode", ack, command, respond, context)


def register(app: App) -> None:
    app.command("/recode")(recode)
