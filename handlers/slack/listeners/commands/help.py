"""/attendance-help [command]: what each command does, with examples. Needs no database."""

from slack_bolt import App

from bot.chat import blocks
from bot.commands import results


def attendance_help(ack, command, respond, context) -> None:
    result = results.help_result((command.get("text") or "").strip() or None)
    ack(**blocks.command(result), response_type="ephemeral")


def register(app: App) -> None:
    app.command("/attendance-help")(attendance_help)
