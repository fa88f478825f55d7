"""Builds the Flask app. Each edge module exposes ``register(app)``; this file only lists them.

They are plain imports: a renamed or broken module stops the app at start-up instead of silently
dropping its routes. (Edges that need settings, such as the sandbox, decide inside ``register``.)
"""

import logging

from flask import Flask

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
from tryout import web as sandbox

log = logging.getLogger(__name__)

EDGES = (health, twilio_status, twilio_sms, twilio_voice, reply_page, report_page, alert_page, slack, teams,
         sandbox)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__, static_folder=None)
    app.config["SETTINGS"] = settings
    app.config["ENGINE"] = engine_for(settings.database_url)
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"  # the sandbox's session (notices, form token)
    for edge in EDGES:
        edge.register(app)
    return app
