"""Builds the Flask app. Each edge module exposes ``register(app)``; this file only lists them.

They are plain imports: a renamed or broken module stops the app at start-up instead of silently
dropping its routes. The product's routes are all here; a process edge may mount more through
``extra_edges`` (``run-local`` mounts the demo kit's ``/sandbox``, ``tryout.web``), so the product
never imports the demo kit.
"""

import logging
from collections.abc import Callable, Iterable

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

log = logging.getLogger(__name__)

EDGES = (health, twilio_status, twilio_sms, twilio_voice, reply_page, report_page, alert_page, slack, teams)


def create_app(settings: Settings | None = None, *,
               extra_edges: Iterable[Callable[[Flask], None]] = ()) -> Flask:
    """The product's app; ``extra_edges`` are more ``register(app)`` functions a process edge mounts."""
    settings = settings or get_settings()
    app = Flask(__name__, static_folder=None)
    app.config["SETTINGS"] = settings
    app.config["ENGINE"] = engine_for(settings.database_url)
    app.config["SECRET_KEY"] = settings.secret_key
    for edge in EDGES:
        edge.register(app)
    for register in extra_edges:
        register(app)
    return app
