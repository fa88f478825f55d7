"""Benchmark: automated calls for the trust benchmark's unanswered families, and what a call costs
the sender per message compared with a text.

1. The trust of ``bench.register_close`` (50 schools x 1,000 pupils, two contacts each, 6% N at the
   AM register), with the schools' policy calling at the second chase (``call_at_chase=2``). Nobody
   answers: register close at 09:15 and the first chase at 11:00 text every family; the second chase
   at 14:30 texts and calls them. The sending pass after it is timed until the loopback Twilio
   stand-in has been handed every text and every call (``calls.create`` with the real client):
   calls per minute handed to the Calls API.
2. The sender's cost per message: the same number of texts, then of calls, queued directly and sent
   through the stand-in (claim, deliver with the real twilio client, record). The voice path's
   extra cost is the difference per message.

Runs in a fresh process per database; the machine's two cores are shared by the database, the
stand-in server and the code measured, so read the figures as ranges.

    python -m bench.voice_calls [--schools 50] [--pupils 1000] [--db sqlite|postgres|both] [--batch 2000]
"""

import argparse
import multiprocessing as mp
import os
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, insert, update

from bench.register_close import DAY, build

CLOSE = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
CHASE_1 = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
CHASE_2 = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)


def _env(url: str, twilio_base: str, account: str, token: str) -> None:
    os.environ.update(
        DATABASE_URL=url,
        TWILIO_ACCOUNT_SID=account,
        TWILIO_AUTH_TOKEN=token,
        TWILIO_MESSAGING_SERVICE_SID="MG" + "0" * 32,
        TWILIO_FROM_NUMBER="+447700900999",
        TWILIO_API_BASE_URL=twilio_base,
        PUBLIC_BASE_URL="https://attendance.example",
        LOG_LEVEL="WARNING",
    )


def chase_run(url: str, twilio_base: str, account: str, token: str, queue) -> None:
    """Register close, first chase, second chase (calls), each followed by sending; the last timed."""
    _env(url, twilio_base, account, token)
    from bot.jobs import run_job
    from bot.settings import get_settings
    from storage.db import make_engine
    from storage.models import SchoolPolicy

    settings = get_settings()
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(update(SchoolPolicy).values(call_at_chase=2, chase_times=["11:00", "14:30"]))
    run_job("register-close", engine, settings, now=CLOSE, session_name="AM")
    run_job("send-outbox", engine, settings, now=CLOSE + timedelta(minutes=1))
    run_job("chase", engine, settings, now=CHASE_1, slot="11:00")
    run_job("send-outbox", engine, settings, now=CHASE_1 + timedelta(minutes=1))
    chased = run_job("chase", engine, settings, now=CHASE_2, slot="14:30")
    calls = sum(r.get("calls_added", 0) for _, r in chased)
    start = time.perf_counter()
    sent = run_job("send-outbox", engine, settings, now=CHASE_2 + timedelta(minutes=1))[0][1]
    send_s = time.perf_counter() - start
    queue.put(
        {
            "calls_queued": calls,
            "sent": sent.get("sent", 0),
            "send_s": send_s,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def per_message_run(url: str, twilio_base: str, account: str, token: str, batch: int, queue) -> None:
    """Send ``batch`` texts, then ``batch`` calls, queued directly; the time per message of each."""
    _env(url, twilio_base, account, token)
    from bot.messaging.sender import send_due
    from bot.messaging.transports import transports_for
    from bot.settings import get_settings
    from storage.db import make_engine
    from storage.models import OutboxMessage

    settings = get_settings()
    engine = make_engine(url)
    transports = transports_for(settings)
    out = {}
    for channel in ("sms", "voice", "sms", "voice"):  # twice each, the second pair measured warm
        now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
        tag = uuid.uuid4().hex[:6]
        with engine.begin() as conn:
            conn.execute(
                insert(OutboxMessage),
                [
                    {
                        "school_id": 1,
                        "idempotency_key": f"bench:{tag}:{i}",
                        "kind": "chase",
                        "channel": channel,
                        "to_address": f"+4477{i:08d}",
                        "body": "Bench School 1: Child is not in school today.",
                        "language": "en",
                        "status": "queued",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                        "updated_at": now,
                        "rerouted": False,
                    }
                    for i in range(batch)
                ],
            )
        start = time.perf_counter()
        summary = send_due(engine, transports=transports, settings=settings, now=now, limit=batch)
        elapsed = time.perf_counter() - start
        assert summary.sent == batch, summary
        out[channel] = elapsed / batch * 1000
    queue.put(out)


def _spawn(target, *args) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=target, args=(*args, queue))
    proc.start()
    result = queue.get(timeout=1200)
    proc.join()
    return result


def run_once(kind: str, schools: int, pupils: int, n_rate: float, batch: int) -> dict:
    from bench.trust import bench_database, drop_database
    from tests.peers.twilio_api import twilio_api

    if kind == "sqlite":
        url, name = f"sqlite:///{tempfile.mkdtemp()}/bench.db", None
    else:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        url, _ = bench_database(name, fresh=True)
    try:
        n = build(url, schools=schools, pupils=pupils, n_rate=n_rate)
        with twilio_api() as peer:
            args = (url, peer.base_url, peer.account_sid, peer.auth_token)
            result = _spawn(chase_run, *args)
            result["calls_received"] = len(peer.calls.created)
            result["per_message_ms"] = _spawn(per_message_run, *args, batch)
        result.update(db=kind, n_pupils=n)
        return result
    finally:
        if name:
            drop_database(name)
        else:
            create_engine(url).dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--pupils", type=int, default=1000)
    parser.add_argument("--n-rate", type=float, default=0.06)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(
        f"voice calls: {args.schools} schools x {args.pupils} pupils, {args.n_rate:.0%} N on {DAY}, "
        "nobody answers; calls from the second chase"
    )
    print(
        f"{'db':<9}{'families':>9}{'calls':>7}{'texts+calls':>12}{'send s':>8}{'calls/min':>10}"
        f"{'sms ms/msg':>11}{'call ms/msg':>12}{'extra ms':>9}"
    )
    for kind in kinds:
        r = run_once(kind, args.schools, args.pupils, args.n_rate, args.batch)
        assert r["calls_received"] == r["calls_queued"] == r["n_pupils"], r
        ms = r["per_message_ms"]
        print(
            f"{r['db']:<9}{r['n_pupils']:>9}{r['calls_received']:>7}{r['sent']:>12}{r['send_s']:>8.2f}"
            f"{r['calls_received'] / r['send_s'] * 60:>10.0f}{ms['sms']:>11.2f}{ms['voice']:>12.2f}"
            f"{ms['voice'] - ms['sms']:>9.2f}"
        )


if __name__ == "__main__":
    main()
