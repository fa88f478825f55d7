"""Socket Mode: the same Bolt app over a WebSocket that the bot opens to Slack, for schools that
cannot expose a public URL. Needs ``SLACK_APP_TOKEN`` (xapp-...) and ``SLACK_BOT_TOKEN``.

Wire it as ``attendance-bot slack socket`` (the CLI calls ``run``).
"""

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot import runtime
from bot.settings import Settings, SettingsError, get_settings
from handlers.slack.bolt_app import build_bolt_app


def handler(settings: Settings | None = None) -> SocketModeHandler:
    settings = settings or get_settings()
    if not (settings.slack_app_token and settings.slack_bot_token):
        raise SettingsError("Socket Mode needs SLACK_APP_TOKEN (xapp-...) and SLACK_BOT_TOKEN.")
    app = build_bolt_app(settings, runtime.engine(settings), socket_mode=True)
    return SocketModeHandler(app, settings.slack_app_token)


def run(settings: Settings | None = None) -> None:
    """Connect and serve until interrupted."""
    handler(settings).start()
