"""Builds the Flask app. Each edge module exposes ``register(app)``; this file only lists them.

They are plain imports: a renamed or broken module stops the app at start-up instead of silently
dropping its routes. The product's routes are all here; a process edge may mount more through
``extra_edges`` (``run-local`` mounts the demo kit's ``/sandbox``, ``tryout.web``), so the product
never imports the demo kit.
"""

import logging
from collections.abc import Callable, Iterable

from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from bot.settings import Settings, get_settings
from handlers import (
    alert_page,
    health,
    reply_page,
    report_page,
    slack,
    teams,
    twilio_sms,
    twilio_status,
    twilio_voice,
)
from storage.db import engine_for

log = logging.getLogger(__name__)
# Every webhook (Slack, Teams, Twilio) and form is far smaller; a bigger body is refused before it
# is read, so nobody can make the app buffer megabytes.
MAX_BODY_BYTES = 64 * 1024
TOO_LARGE = f"Request body too large: the limit is {MAX_BODY_BYTES // 1024} KiB."

EDGES = (health, twilio_status, twilio_sms, twilio_voice, reply_page, report_page, alert_page, slack, teams)


def create_app(
    settings: Settings | None = None, *, extra_edges: Iterable[Callable[[Flask], None]] = ()
) -> Flask:
    """The product's app; ``extra_edges`` are more ``register(app)`` functions a process edge mounts."""
    settings = settings or get_settings()
    app = Flask(__name__, static_folder=None)
    app.config["SETTINGS"] = settings
    app.config["ENGINE"] = engine_for(settings.database_url)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    app.before_request(_refuse_large)
    app.config["SECRET_KEY"] = settings.secret_key
    for edge in EDGES:
        edge.register(app)
    for register in extra_edges:
        register(app)
    return app


def _refuse_large() -> None:
    """By the declared length, before any route reads a form (a form parser would otherwise read
    an empty form silently and the route would answer "bad signature"). A body sent without a
    length is cut off by werkzeug at the same limit."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise RequestEntityTooLarge()


def _too_large(_exc: RequestEntityTooLarge) -> Response:
    log.warning("request refused: body over %d bytes", MAX_BODY_BYTES)
    return Response(TOO_LARGE, status=413, content_type="text/plain; charset=utf-8")
