"""/absences [today|DATE] [year N|class X]: today's unexplained absences, most urgent first."""

from slack_bolt import App

from handlers.slack.listeners.commands import answer


def absences(ack, command, respond, context) -> None:
    answer("absences", ack, command, respond, context)


def register(app: App) -> None:
    app.command("/absences")(absences)
