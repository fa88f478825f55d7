"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, and a small school.

Tests that take ``engine`` run twice, once per backend. PostgreSQL must be reachable at
``TEST_POSTGRES_URL`` (the test command starts one if none runs); if it is not, these tests fail
rather than skip.
"""

import contextlib
import os
import uuid
from collections.abc import Iterator

import psycopg  # noqa: F401  (its C module must load before any test freezes time)
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

import storage.models  # noqa: F401
from storage import migrate
from storage.db import make_engine

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")

# Tests never read a developer's .env or real credentials.
for _name in list(os.environ):
    if _name.startswith(("TWILIO_", "SMTP_", "SLACK_", "TEAMS_")):
        del os.environ[_name]
os.environ.setdefault("ENVIRONMENT", "test")

if "faketime" in os.environ.get("LD_PRELOAD", ""):
    # The date guard (Makefile: the suite again with the system clock a year ahead and a year back)
    # runs under Debian's libfaketime with DONT_FAKE_MONOTONIC=1, so timed waits keep working.
    # libfaketime 0.9.10 then turns Python's time.sleep (clock_nanosleep on an absolute monotonic
    # deadline) into EINVAL; a relative select() sleeps the same way and is not intercepted.
    import select
    import time as _time

    def _sleep(seconds: float) -> None:
        select.select([], [], [], max(0.0, seconds))

    _time.sleep = _sleep


def _pg_database() -> Iterator[str]:
    name = f"attendance_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - environment problem
        pytest.fail(f"PostgreSQL is required for the test suite and is not reachable ({exc}).")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name}
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    gen = _pg_database()
    url = next(gen)
    migrate.upgrade(url)
    yield url
    with contextlib.suppress(StopIteration):
        next(gen)


def _wipe(engine: Engine) -> None:
    """Empty every table, children first. DELETE beats TRUNCATE on PostgreSQL for tiny tables."""
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request) -> str:
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    eng = make_engine(db_url)
    _wipe(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_url) -> Iterator[Engine]:
    eng = make_engine(sqlite_url)
    _wipe(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def pg_engine(postgres_url) -> Iterator[Engine]:
    eng = make_engine(postgres_url)
    _wipe(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def settings_env(monkeypatch, db_url):
    """Point the process settings at the test database (and clear the cached settings)."""
    from bot.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def hook_calls(monkeypatch):
    """Records each call of the delivery-failure hook, then runs the real one (behaviour unchanged)."""
    from bot.firstday import reroute

    calls: list[int] = []
    real = reroute.on_delivery_failed

    def spy(session, *, message, **kw):
        calls.append(message.id)
        return real(session, message=message, **kw)

    monkeypatch.setattr(reroute, "on_delivery_failed", spy)
    return calls
