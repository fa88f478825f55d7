"""/pupil PUPIL: the case timeline."""

from slack_bolt import App

from handlers.slack.listeners.commands import answer


def pupil(ack, command, respond, context) -> None:
    answer("pupil", ack, command, respond, context)


def register(app: App) -> None:
    app.command("/pupil")(pupil)
