"""/call PUPIL OUTCOME [note]: log a call to the family."""

from slack_bolt import App

from handlers.slack.listeners.commands import answer


def call(ack, command, respond, context) -> None:
    answer("call", ack, command, respond, context)


def register(app: App) -> None:
    app.command("/call")(call)
