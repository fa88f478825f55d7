"""The engine and sessions.

SQLite is the embedded default (WAL, a busy timeout and foreign keys on, per connection);
PostgreSQL is the production database. One ``Session`` per request, listener or job.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine whose errors never print bound values (names, phone numbers) into the logs."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, hide_parameters=True, connect_args={"check_same_thread": False, "timeout": 30}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            # Let SQLAlchemy's transaction control the BEGIN so we can make it IMMEDIATE.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # pragma: no cover - trivial
            # Every transaction takes the write lock up front: read-then-write never deadlocks.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url, echo=echo, hide_parameters=True, pool_pre_ping=True, pool_size=10, max_overflow=20
    )


@cache
def engine_for(url: str) -> Engine:
    return make_engine(url)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


# The first key of PostgreSQL's two-key advisory locks: "the per-school jobs of this school".
SCHOOL_LOCK = 0x5C4001


def lock_school(session: Session, school_id: int) -> None:
    """Serialise the per-school jobs of one school until this transaction ends (the job runner and
    the MIS link's transactions take it).

    Register close, the chase and the sweeps of one school all lock case, alert and message rows,
    and in different orders: two at once (two clocks, an operator's ``jobs run`` while the clock
    runs the slot) deadlocked on PostgreSQL, and a second escalation sweep re-raised alerts the
    first one had just overtaken. One advisory lock per school makes them take turns; different
    schools still run side by side. SQLite needs nothing: every transaction there is ``BEGIN
    IMMEDIATE`` and so already runs alone.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :school)"), {"ns": SCHOOL_LOCK, "school": school_id}
        )
