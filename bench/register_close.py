"""Benchmark: register close for a whole trust until every first message is handed to the SMS API.

Builds 50 schools x 1,000 pupils (each with two contacts) with 6% of pupils marked N at the AM
register, then times, in a fresh process, register close for every school followed by the outbox
sender until the loopback Twilio-shaped server has received every first-day text. (Running the
sender alongside the closes, as the clock can, measured slower here: both are CPU-bound Python
sharing one interpreter on a 2-core machine with the database and the Twilio stand-in.) Prints
messages/second and the process's peak memory. Runs on SQLite and PostgreSQL.

    python -m bench.register_close [--schools 50] [--pupils 1000] [--db sqlite|postgres|both]
"""

import argparse
import multiprocessing as mp
import os
import random
import resource
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from datetime import time as dtime

from sqlalchemy import create_engine, insert, text

DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)


def build(url: str, *, schools: int, pupils: int, n_rate: float, seed: int = 7) -> int:
    """Fill an empty, migrated database; returns the number of N pupils."""
    from bot.policy import DEFAULT_LADDER
    from bot.typical_calendar import SPANS_2026_27
    from storage import migrate
    from storage.models import CalendarEntry, Contact, Mark, Pupil, PupilContact, School, SchoolPolicy

    migrate.upgrade(url)
    rng = random.Random(seed)
    engine = create_engine(url)
    n_count = 0
    with engine.begin() as conn:
        conn.execute(
            insert(School),
            [
                {"id": s, "urn": f"8{s:05d}", "name": f"Bench School {s}", "timezone": "Europe/London"}
                for s in range(1, schools + 1)
            ],
        )
        conn.execute(
            insert(SchoolPolicy),
            [
                {
                    "school_id": s,
                    "am_close": dtime(9, 15),
                    "pm_close": dtime(13, 45),
                    "chase_times": ["11:00"],
                    "next_contact_after_minutes": 90,
                    "email_mode": "fallback",
                    "priority_year_groups": [6],
                    "vulnerable_first": True,
                    "escalation_basis": "unexplained",
                    "escalation_ladder": DEFAULT_LADDER,
                    "vulnerable_ladder": [],
                    "realert_after_minutes": 120,
                    "dsl_email_after_minutes": 240,
                    "n_to_o_school_days": 5,
                    "thresholds": {},
                    "recode_roles": ["attendance_officer"],
                    "recode_n_roles": ["attendance_officer"],
                }
                for s in range(1, schools + 1)
            ],
        )
        conn.execute(
            insert(CalendarEntry),
            [
                {"school_id": s, "kind": sp.kind, "start_date": sp.start, "end_date": sp.end, "name": sp.name}
                for s in range(1, schools + 1)
                for sp in SPANS_2026_27
            ],
        )
        pid = cid = 0
        for s in range(1, schools + 1):
            prow, crow, lrow, mrow = [], [], [], []
            for i in range(pupils):
                pid += 1
                prow.append(
                    {
                        "id": pid,
                        "school_id": s,
                        "mis_id": f"P{pid}",
                        "first_name": f"Child{i}",
                        "last_name": "Bench",
                        "year_group": i % 7,
                        "class_name": f"{i % 7}A",
                        "has_social_worker": rng.random() < 0.02,
                    }
                )
                for priority in (1, 2):
                    cid += 1
                    crow.append(
                        {
                            "id": cid,
                            "school_id": s,
                            "mis_id": f"C{cid}",
                            "first_name": "Parent",
                            "last_name": "Bench",
                            "mobile": f"+4477{cid:08d}",
                            "language": "en",
                        }
                    )
                    lrow.append({"school_id": s, "pupil_id": pid, "contact_id": cid, "priority": priority})
                absent = rng.random() < n_rate
                n_count += absent
                mrow.append(
                    {
                        "school_id": s,
                        "pupil_id": pid,
                        "date": DAY,
                        "session": "AM",
                        "code": "N" if absent else "/",
                        "source": "mis",
                        "recorded_at": NOW,
                    }
                )
            conn.execute(insert(Pupil), prow)
            conn.execute(insert(Contact), crow)
            conn.execute(insert(PupilContact), lrow)
            conn.execute(insert(Mark), mrow)
        if url.startswith("postgresql"):
            for table in ("school", "pupil", "contact"):
                conn.execute(text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))"))
    if url.startswith("postgresql"):
        # A live database has statistics (autovacuum analyses after an import); without them the
        # planner guesses and, for one, hash-joins all 100,000 contacts for each school's ~60
        # pupils. Only the loaded tables: an empty table analysed as empty makes the foreign-key
        # checks into it sequential scans as it fills, which no live database sees either.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(
                text("ANALYZE school, schoolpolicy, calendarentry, pupil, contact, pupilcontact, mark")
            )
    engine.dispose()
    return n_count


def measured_run(url: str, twilio_base: str, account: str, token: str, queue) -> None:
    """In a fresh process: register close for every school, then send until the queue is empty."""
    os.environ.update(
        DATABASE_URL=url,
        TWILIO_ACCOUNT_SID=account,
        TWILIO_AUTH_TOKEN=token,
        TWILIO_MESSAGING_SERVICE_SID="MG" + "0" * 32,
        TWILIO_API_BASE_URL=twilio_base,
        LOG_LEVEL="WARNING",
    )
    from bot.jobs import run_job
    from bot.settings import get_settings
    from storage.db import make_engine

    settings = get_settings()
    engine = make_engine(url)
    start = time.perf_counter()
    results = run_job("register-close", engine, settings, now=NOW, session_name="AM")
    queued = sum(r["messages_queued"] for _, r in results)
    closed = time.perf_counter()
    sent = run_job("send-outbox", engine, settings, now=NOW)[0][1]
    done = time.perf_counter()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put(
        {
            "queued": queued,
            "sent": sent.get("sent", 0),
            "close_s": closed - start,
            "send_s": done - closed,
            "total_s": done - start,
            "peak_mb": peak_mb,
        }
    )


def run_once(kind: str, schools: int, pupils: int, n_rate: float) -> dict:
    from bench.trust import bench_database, drop_database
    from tests.peers.twilio_api import twilio_api

    if kind == "sqlite":
        url, name = f"sqlite:///{tempfile.mkdtemp()}/bench.db", None
    else:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        url, _ = bench_database(name, fresh=True)
    try:
        t0 = time.perf_counter()
        n = build(url, schools=schools, pupils=pupils, n_rate=n_rate)
        built = time.perf_counter() - t0
        with twilio_api() as peer:
            queue = mp.get_context("spawn").Queue()
            proc = mp.get_context("spawn").Process(
                target=measured_run, args=(url, peer.base_url, peer.account_sid, peer.auth_token, queue)
            )
            proc.start()
            result = queue.get(timeout=600)
            proc.join()
            result["received"] = len(peer.created())
        result.update(db=kind, n_pupils=n, build_s=built)
        return result
    finally:
        if name:
            drop_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--pupils", type=int, default=1000)
    parser.add_argument("--n-rate", type=float, default=0.06)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"register close: {args.schools} schools x {args.pupils} pupils, {args.n_rate:.0%} N")
    print(
        f"{'db':<9}{'N pupils':>9}{'texts':>7}{'close s':>9}{'send s':>8}{'total s':>9}"
        f"{'msg/s':>8}{'peak MB':>9}"
    )
    for kind in kinds:
        r = run_once(kind, args.schools, args.pupils, args.n_rate)
        assert r["received"] == r["queued"] == r["n_pupils"], r
        print(
            f"{r['db']:<9}{r['n_pupils']:>9}{r['received']:>7}{r['close_s']:>9.2f}{r['send_s']:>8.2f}"
            f"{r['total_s']:>9.2f}{r['received'] / r['total_s']:>8.0f}{r['peak_mb']:>9.0f}"
        )


if __name__ == "__main__":
    main()
