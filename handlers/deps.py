"""What every handler needs: the settings and a database session scoped to the request."""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.settings import Settings
from storage.db import session_scope


def settings() -> Settings:
    return current_app.config["SETTINGS"]


def engine() -> Engine:
    return current_app.config["ENGINE"]


@contextmanager
def db() -> Iterator[Session]:
    with session_scope(engine()) as session:
        yield session
