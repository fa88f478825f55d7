"""Benchmark: texts per second the sender hands to a provider that takes 1 s, or 10 s, to answer.

A trust's register close queues about 3,000 first-day texts at once; with one request at a time a
provider answering in 10 s gave 0.8 texts/s (issue 13): an hour for the trust. The sender keeps
``SENDER_CONCURRENCY`` requests in flight, so the rate is about concurrency / latency.

Each run: a fresh database with ``--count`` texts queued, the loopback Twilio stand-in answering
every create after ``latency`` seconds (the real twilio client, the real send-outbox job), timed
until every text is handed over and recorded. The 10 s case sends fewer texts (``--count-slow``)
and the time for 3,000 is extrapolated from its rate (said so in the output).

    python -m bench.sender_latency [--count 3000] [--count-slow 320] [--concurrency 32]
                                   [--db sqlite|postgres]
"""

import argparse
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime

TRUST_TEXTS = 3000
NOW = datetime(2026, 11, 23, 9, 16, tzinfo=UTC)


def _database(kind: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp()}/sender_bench.db"
    from sqlalchemy import create_engine, text

    admin_url = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"sender_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def _queue(engine, count: int) -> None:
    from bot.messaging.outbox import enqueue_many
    from storage.db import session_scope
    from storage.models import School

    with session_scope(engine) as s:
        school = School(urn="100001", name="Bench Primary", timezone="Europe/London")
        s.add(school)
        s.flush()
        items = [
            dict(
                school_id=school.id,
                key=f"fd:{i}",
                kind="first_day",
                channel="sms",
                to_address=f"+4477009{i:05d}",
                body=f"Child{i} is not in school today.",
            )
            for i in range(count)
        ]
        enqueue_many(s, items, now=NOW)


def run(latency: float, count: int, *, concurrency: int, db: str) -> float:
    """Send ``count`` texts through a stand-in answering in ``latency`` s; returns texts per second."""
    from bot.firstday.scheduled import send_outbox
    from bot.settings import load_settings
    from storage import migrate
    from storage.db import make_engine
    from tests.peers.twilio_api import MESSAGING_SERVICE_SID, twilio_api

    url = _database(db)
    migrate.upgrade(url)
    engine = make_engine(url)
    _queue(engine, count)
    with twilio_api(delay=latency) as peer:
        settings = load_settings(
            database_url=url,
            public_base_url="https://attendance.example",
            twilio_account_sid=peer.account_sid,
            twilio_auth_token=peer.auth_token,
            twilio_messaging_service_sid=MESSAGING_SERVICE_SID,
            twilio_api_base_url=peer.base_url,
            sender_concurrency=concurrency,
            twilio_timeout_seconds=latency + 15,
            log_level="WARNING",
        )
        started = time.perf_counter()
        sent = 0
        while sent < count:
            summary = send_outbox(engine, now=NOW, settings=settings)
            sent += summary["sent"]
            if not summary["sent"]:
                raise SystemExit(f"stalled at {sent} of {count}: {summary.as_dict()}")
        elapsed = time.perf_counter() - started
        assert len(peer.created()) == count, "every text exactly once"
    engine.dispose()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=TRUST_TEXTS)
    parser.add_argument("--count-slow", type=int, default=320)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    print(f"sender: concurrency {args.concurrency}, database {args.db}")
    for latency, count in ((1.0, args.count), (10.0, args.count_slow)):
        rate = run(latency, count, concurrency=args.concurrency, db=args.db)
        trust = TRUST_TEXTS / rate
        how = "measured" if count >= TRUST_TEXTS else f"extrapolated from {count} texts"
        print(
            f"provider answering in {latency:>4.0f} s: {count} texts, {rate:6.1f} texts/s; "
            f"a trust's {TRUST_TEXTS} first-day texts: {trust / 60:5.1f} min ({how})",
            flush=True,
        )


if __name__ == "__main__":
    main()
