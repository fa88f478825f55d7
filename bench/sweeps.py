"""Benchmark: the statutory sweeps and the weekly report for a whole trust on PostgreSQL.

    python -m bench.sweeps                       # builds the trust once (50 x 1,000 pupils, a year of marks)
    python -m bench.sweeps --schools 5 --keep    # smaller; keep the database for another run

Target: the whole trust (50,000 pupils, ~19 million marks) under 60 s, computed in SQL. Each school's
jobs are independent (the clock runs them per school), so they run on a small pool of workers as
the clock would; ``--workers 1`` measures them one after another. The first sweep of a year sets
every pupil's tier (50,000 changes); the second is the steady state the clock sees every day.
"""

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from datetime import time as wall
from pathlib import Path
from tempfile import mkdtemp

from sqlalchemy import create_engine, text

from bench.trust import bench_database, build_trust, drop_database
from bot import clock
from bot.jobs import JOBS, run_for_school
from bot.settings import load_settings
from storage.db import make_engine
from storage.models import School

FRIDAY = date(2027, 7, 16)


def _timed(label: str, fn, ids: list[int], workers: int) -> dict:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(fn, ids))
    seconds = time.perf_counter() - started
    totals: dict = {}
    for r in results:
        for k, v in r.counts.items():
            if isinstance(v, int) and not isinstance(v, bool):
                totals[k] = totals.get(k, 0) + v
    return {"step": label, "seconds": round(seconds, 2), "totals": totals}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schools", type=int, default=50)
    ap.add_argument("--pupils", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--keep", action="store_true", help="Keep (and reuse) the database.")
    ap.add_argument("--fresh", action="store_true", help="Rebuild the database even if it exists.")
    args = ap.parse_args()
    name = f"attendance_bench_{args.schools}x{args.pupils}"
    url, created = bench_database(name, fresh=args.fresh)
    out: dict = {"database": name}
    if created:
        t = time.perf_counter()
        out["build"] = build_trust(
            url, schools=args.schools, pupils_per_school=args.pupils, marks_until=FRIDAY
        )
        out["build"]["seconds"] = round(time.perf_counter() - t, 1)
    engine = make_engine(url)
    engine.pool.dispose()
    engine = create_engine(url, pool_size=args.workers + 2, max_overflow=0)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM school ORDER BY id"))]
        out["marks"] = conn.execute(text("SELECT count(*) FROM mark")).scalar()
    now = clock.at_local(FRIDAY, wall(14, 0))
    settings = load_settings(reports_dir=mkdtemp(prefix="bench-reports-"))
    steps = []

    def job(name: str):
        def run(school_id: int):
            return run_for_school(JOBS[name], engine, school=School(id=school_id), now=now, settings=settings)

        return run

    for label in ("statutory sweep (first of the year: sets every tier)", "statutory sweep (steady state)"):
        steps.append(_timed(label, job("statutory-sweep"), ids, args.workers))
    steps.append(_timed("weekly report", job("weekly-report"), ids, args.workers))
    out["steps"] = steps
    out["steady_total_seconds"] = round(steps[1]["seconds"] + steps[2]["seconds"], 2)
    out["target_seconds"] = 60
    out["reports"] = str(Path(settings.reports_dir))
    engine.dispose()
    if not args.keep:
        drop_database(name)
    print(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
