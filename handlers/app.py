"""Builds the Flask app. Each edge module exposes ``register(app)``; this file only lists them."""

import importlib
import logging

from flask import Flask

from bot.settings import Settings, get_settings
from storage.db import engine_for

log = logging.getLogger(__name__)

EDGES = (
    "handlers.health",
    "handlers.twilio_status",
    "handlers.twilio_sms",
    "handlers.reply_page",
    "handlers.slack",
    "handlers.teams",
    "handlers.sandbox",
)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__, static_folder=None)
    app.config["SETTINGS"] = settings
    app.config["ENGINE"] = engine_for(settings.database_url)
    app.config["SECRET_KEY"] = settings.secret_key
    for name in EDGES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)
    return app
