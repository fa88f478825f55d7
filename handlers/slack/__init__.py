"""Slack: ``POST /slack/events`` takes slash commands, button presses and events (one request URL),
signature-checked by Bolt (a forged or stale request gets 401 and changes nothing).

Without ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET`` the endpoint answers 503 with a clear
message and the rest of the bot runs as usual. Socket Mode lives in ``socket_mode.py``.
"""

from flask import Flask, jsonify, request

NOT_CONFIGURED = (
    "Slack is not configured on this server: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
    "(or use Socket Mode with SLACK_APP_TOKEN)."
)


def register(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    if not (settings.slack_bot_token and settings.slack_signing_secret):

        @app.post("/slack/events")
        def slack_not_configured():
            return jsonify({"ok": False, "error": NOT_CONFIGURED}), 503

        return

    from slack_bolt.adapter.flask import SlackRequestHandler

    from handlers.slack.ack_first import AckFirstExecutor
    from handlers.slack.bolt_app import WORK_THREADS, build_bolt_app

    work = AckFirstExecutor(WORK_THREADS)
    bolt = build_bolt_app(settings, app.config["ENGINE"], work=work)
    handler = SlackRequestHandler(bolt)
    app.config["SLACK_BOLT_APP"] = bolt
    app.config["SLACK_WORK"] = work

    @app.post("/slack/events")
    def slack_events():
        with work.request():  # command work waits until the acks in flight have gone
            return handler.handle(request)
