"""/attendance-help [command]: what each command does, with examples. Needs no database."""

from slack_bolt import App

from bot.commands import views


def attendance_help(ack, command, respond, context) -> None:
    result = views.help_result((command.get("text") or "").strip() or None)
    ack(**views.to_slack(result), response_type="ephemeral")


def register(app: App) -> None:
    app.command("/attendance-help")(attendance_help)
