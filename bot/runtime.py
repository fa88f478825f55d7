"""Process-wide wiring: the settings and the engine, built once and shared.

Services take a ``Session`` (and the settings where they need them) as keyword arguments; this
module is where the edges (HTTP app, clock, CLI) get them from.
"""

from sqlalchemy.engine import Engine

from bot.settings import Settings, get_settings
from storage.db import engine_for


def engine(settings: Settings | None = None) -> Engine:
    return engine_for((settings or get_settings()).database_url)
