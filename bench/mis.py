"""Benchmark: the MIS link against the loopback Wonde stand-in (``tests.peers.wonde_api``).

1. **Full sync of a 1,000-pupil school**: students with contacts, classes, year groups, flags, five
   pages of 200, written in one transaction (``bot.mis.sync.sync_school``).
2. **A trust-wide marks poll cycle**: 50 linked schools x 1,000 pupils whose morning registers were
   just taken (50,000 marks, 6% N) read by one run of the clock's ``mis-poll`` job at 09:10, then
   the steady state the job repeats every minute until an hour after close (nothing changed).

The stand-in runs in this process (a thread); the bot is measured in a fresh process so its time
and peak memory are its own. The stand-in shares the machine's two cores with the bot and the
database, as a remote Wonde would not: read the figures as an upper bound.

    python -m bench.mis [--schools 50] [--pupils 1000] [--db sqlite|postgres|both]
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
TAKEN = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
POLL = datetime(2026, 11, 23, 9, 10, tzinfo=UTC)
TOKEN = "bench-wonde-token"


def build(url: str, *, schools: int, pupils: int) -> None:
    """Linked schools whose pupils were synced already (ids as in the stand-in), codes known."""
    from bot.mis import wire
    from bot.policy import DEFAULT_LADDER
    from bot.typical_calendar import SPANS_2026_27
    from storage import migrate
    from storage.models import CalendarEntry, MisConnection, Pupil, School, SchoolPolicy
    from tests.peers.wonde_api import WondePeer

    migrate.upgrade(url)
    codes = wire.code_table(WondePeer().codes)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(School),
            [
                {
                    "id": s,
                    "urn": f"8{s:05d}",
                    "name": f"Bench School {s}",
                    "timezone": "Europe/London",
                    "wonde_id": f"W{s}",
                    "mis_writeback": True,
                }
                for s in range(1, schools + 2)
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
                    "priority_year_groups": [],
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
                    "register_check_after_minutes": 15,
                }
                for s in range(1, schools + 2)
            ],
        )
        conn.execute(
            insert(CalendarEntry),
            [
                {"school_id": s, "kind": sp.kind, "start_date": sp.start, "end_date": sp.end, "name": sp.name}
                for s in range(1, schools + 2)
                for sp in SPANS_2026_27
            ],
        )
        conn.execute(
            insert(MisConnection),
            [{"school_id": s, "codes": codes, "outage_alerted": False} for s in range(1, schools + 2)],
        )
        for s in range(1, schools + 1):  # school schools+1 is the one the sync fills
            conn.execute(
                insert(Pupil),
                [
                    {
                        "school_id": s,
                        "mis_id": str(1001 + n),
                        "wonde_id": f"W{s}S{n:05d}",
                        "first_name": f"Child{n}",
                        "last_name": "Bench",
                        "year_group": n % 7,
                        "class_name": f"{n % 7} Birch",
                    }
                    for n in range(pupils)
                ],
            )
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE school, schoolpolicy, calendarentry, pupil, misconnection"))
    engine.dispose()


def fill_peer(peer, *, schools: int, pupils: int) -> None:
    from tests.peers.wonde_api import populate

    rng = random.Random(7)
    peer.now = TAKEN
    ids = {c["code"]: c["id"] for c in peer.codes}
    for s in range(1, schools + 1):
        school = peer.school(f"W{s}")
        for n in range(pupils):
            school.marks[(f"W{s}S{n:05d}", DAY.isoformat(), "AM")] = {
                "id": f"SA{s}-{n}",
                "code_id": ids["N" if rng.random() < 0.06 else "/"],
                "minutes_late": None,
                "comment": None,
                "created_at": TAKEN,
                "updated_at": TAKEN,
            }
    populate(peer, f"W{schools + 1}", pupils=pupils)


def measured(url: str, base_url: str, schools: int, queue) -> None:
    os.environ.update(DATABASE_URL=url, LOG_LEVEL="WARNING")
    from bot.mis import marks, sync
    from bot.settings import load_settings
    from storage.db import make_engine
    from storage.models import School

    settings = load_settings(database_url=url, wonde_api_base_url=base_url, wonde_api_token=TOKEN)
    engine = make_engine(url)
    from sqlmodel import Session

    with Session(engine) as s:
        target = s.get(School, schools + 1)
    t0 = time.perf_counter()
    synced = sync.sync_school(engine, school=target, settings=settings, now=POLL)
    t1 = time.perf_counter()
    sync_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    polled = marks.poll(engine, settings=settings, now=POLL)
    t2 = time.perf_counter()
    steady = marks.poll(engine, settings=settings, now=POLL.replace(minute=11))
    t3 = time.perf_counter()
    queue.put(
        {
            "sync_s": t1 - t0,
            "sync_pupils": synced["pupils_new"],
            "sync_mb": sync_mb,
            "poll_s": t2 - t1,
            "marks": polled["marks_new"],
            "schools_read": polled["schools_read"],
            "steady_s": t3 - t2,
            "steady_read": steady["schools_read"],
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def run_once(kind: str, schools: int, pupils: int) -> dict:
    from bench.trust import bench_database, drop_database
    from tests.peers.wonde_api import wonde_api

    if kind == "sqlite":
        url, name = f"sqlite:///{tempfile.mkdtemp()}/bench.db", None
    else:
        name = f"bench_{uuid.uuid4().hex[:8]}"
        url, _ = bench_database(name, fresh=True)
    try:
        build(url, schools=schools, pupils=pupils)
        with wonde_api(token=TOKEN) as peer:
            fill_peer(peer, schools=schools, pupils=pupils)
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            proc = ctx.Process(target=measured, args=(url, peer.base_url, schools, queue))
            proc.start()
            result = queue.get(timeout=900)
            proc.join()
            result["requests"] = len(peer.requests)
        result["db"] = kind
        return result
    finally:
        if name:
            drop_database(name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=50)
    parser.add_argument("--pupils", type=int, default=1000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(
        f"MIS link: full sync of one {args.pupils}-pupil school; marks poll of {args.schools} schools x "
        f"{args.pupils} pupils"
    )
    print(
        f"{'db':<9}{'sync s':>8}{'pupils':>8}{'poll s':>8}{'marks':>8}{'schools':>8}{'steady s':>10}"
        f"{'peak MB':>9}{'requests':>10}"
    )
    for kind in kinds:
        r = run_once(kind, args.schools, args.pupils)
        # Every linked school is read, the freshly synced one too (its register is empty).
        assert r["schools_read"] == r["steady_read"] == args.schools + 1, r
        assert r["marks"] == args.schools * args.pupils and r["sync_pupils"] == args.pupils, r
        print(
            f"{r['db']:<9}{r['sync_s']:>8.2f}{r['sync_pupils']:>8}{r['poll_s']:>8.2f}{r['marks']:>8}"
            f"{r['schools_read']:>8}{r['steady_s']:>10.2f}{r['peak_mb']:>9.0f}{r['requests']:>10}"
        )


if __name__ == "__main__":
    main()
