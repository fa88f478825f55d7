"""Run the clock's per-school jobs in a separate process (``multiprocessing`` spawn), in step with a twin.

``tests/test_concurrent_jobs.py`` starts two of these at once. Each runs, for every school it is
given, the same jobs at the same ``now`` as ``attendance-bot jobs run NAME --school URN --now T``
does (``bot.jobs.run_job``), waiting at a barrier before each job so the twins start it together.
Summaries and errors go back to the parent through a queue. Nothing here imports pytest: it runs in
a fresh interpreter.
"""

import traceback
from datetime import datetime

# (job, school wall-clock time on the day, options): a school morning to early afternoon.
DAY_JOBS = [
    ("register-close", "09:15", {"session_name": "AM"}),
    ("chase", "11:00", {"slot": "11:00"}),
    ("escalation-sweep", "11:05", {}),
    ("statutory-sweep", "14:45", {}),
]


def at(day: str, hh_mm: str, tz: str = "Europe/London") -> datetime:
    from bot import clock

    return clock.parse_now(f"{day}T{hh_mm}", tz)


def run_day(db_url: str, urns: list[str], day: str, barrier, results) -> None:
    """The twin's work: every school in turn, every job of ``DAY_JOBS`` started with the other twin."""
    from sqlmodel import Session, select

    from bot.jobs import run_job
    from bot.settings import load_settings
    from storage.db import make_engine
    from storage.models import School

    engine = make_engine(db_url)
    settings = load_settings(database_url=db_url)
    try:
        for urn in urns:
            with Session(engine) as s:
                school = s.exec(select(School).where(School.urn == urn)).one()
            for name, hh_mm, opts in DAY_JOBS:
                barrier.wait(timeout=60)
                try:
                    [(_, summary)] = run_job(
                        name, engine, settings, now=at(day, hh_mm), schools=[school], **opts
                    )
                    results.put(("ok", urn, name, summary.as_dict()))
                except Exception as exc:  # reported to the parent, which fails the test
                    detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
                    results.put(("error", urn, name, detail))
    finally:
        engine.dispose()
