"""Slack: ``POST /slack/events`` takes slash commands, button presses and events (one request URL),
signature-checked by Bolt (a forged or stale request gets 401 and changes nothing).

Before Bolt sees a request, ``gate.refusal`` checks the timestamp and signature itself, so a bad
request gets 401 with a one-line log (the reason and the team id, never the body: Bolt would log a
forged body whole at INFO, so its loggers are kept at WARNING) and a non-numeric timestamp is a
401, not a crash.

Without ``SLACK_BOT_TOKEN`` and ``SLACK_SIGNING_SECRET`` the endpoint answers 503 with a clear
message and the rest of the bot runs as usual. Socket Mode lives in ``socket_mode.py``.
"""

import logging

from flask import Flask, jsonify, request

NOT_CONFIGURED = (
    "Slack is not configured on this server: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET "
    "(or use Socket Mode with SLACK_APP_TOKEN)."
)

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    if not (settings.slack_bot_token and settings.slack_signing_secret):

        @app.post("/slack/events")
        def slack_not_configured():
            return jsonify({"ok": False, "error": NOT_CONFIGURED}), 503

        return

    from slack_bolt.adapter.flask import SlackRequestHandler

    from handlers.slack import gate
    from handlers.slack.ack_first import AckFirstExecutor
    from handlers.slack.bolt_app import WORK_THREADS, build_bolt_app

    work = AckFirstExecutor(WORK_THREADS)
    bolt = build_bolt_app(settings, app.config["ENGINE"], work=work)
    handler = SlackRequestHandler(bolt)
    app.config["SLACK_BOLT_APP"] = bolt
    app.config["SLACK_WORK"] = work

    @app.post("/slack/events")
    def slack_events():
        body = request.get_data()  # cached: Bolt's adapter reads it again
        refused = gate.refusal(settings.slack_signing_secret, body, request.headers, now=gate.epoch_now())
        if refused:
            log.warning("slack: request refused (%s) team=%s", refused, gate.team_id(body))
            return jsonify({"error": "invalid request", "reason": refused}), 401
        with work.request():  # command work waits until the acks in flight have gone
            return handler.handle(request)
