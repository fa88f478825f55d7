"""Two processes running a school's jobs at the same moment on PostgreSQL (issue 12, item 3).

Two clocks by mistake, or an operator's ``jobs run`` while the clock runs the same slot: register
close, the chase, the escalation sweep and the statutory sweep all run twice at once, in two real
processes (``multiprocessing`` spawn, see ``tests/concurrency.py``), for ten schools in turn. Every
school must end exactly as one that ran each job once (the same cases, alerts and how often each
was raised, messages, amendments and case-log entries), and no run may fail: before one advisory
lock per school, two escalation sweeps deadlocked and the second re-raised a day-3 alert that the
first one's day-4 alert had overtaken.
"""

import multiprocessing
from collections import Counter
from datetime import date, time, timedelta

from sqlmodel import Session, select

from bot import clock
from bot.cases.service import open_or_extend
from bot.jobs import run_job
from storage.db import make_engine
from storage.models import AbsenceCase, Alert, CaseEvent, MarkAmendment, OutboxMessage, Pupil, School
from tests import concurrency
from tests import factories as f

TODAY = date(2026, 11, 23)  # Monday
HISTORY = [
    date(2026, 11, 12),
    date(2026, 11, 13),
    date(2026, 11, 16),
    date(2026, 11, 17),
    date(2026, 11, 18),
    date(2026, 11, 19),
    date(2026, 11, 20),
]
ROUNDS = 10
PER_GROUP = 4


def _absent(session, pupil, day):
    for name, hh_mm in (("AM", "09:15"), ("PM", "13:45")):
        f.mark(session, pupil, day, name, "N")
        open_or_extend(session, pupil=pupil, day=day, session_name=name, now=f.at(day, hh_mm))


def build_school(engine, urn: str) -> int:
    """A school on Monday morning: pupils absent for seven school days (overdue N, every ladder step
    raised), for three days (day-3 alert raised on Friday, day 4 today), new absences today, and
    pupils in school. Every pupil has a parent with a mobile."""
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, urn=urn, name=f"School {urn}", dsl_email=f"dsl@{urn}.example")
        groups = {
            g: [
                f.pupil(s, school, first=f"{g}{i}", last="Test", class_name="4 Birch")
                for i in range(PER_GROUP)
            ]
            for g in "ABCD"
        }
        for pupils in groups.values():
            for i, p in enumerate(pupils):
                f.contact(s, school, p, first=f"Parent{i}", mobile=f"+4477009{p.id % 100000:05d}")
        for day in HISTORY:
            for p in groups["B"]:
                _absent(s, p, day)
            for p in groups["A"]:
                if day >= date(2026, 11, 18):
                    _absent(s, p, day)
                else:
                    f.mark(s, p, day, "AM", "/")
                    f.mark(s, p, day, "PM", "\\")
            for p in groups["C"] + groups["D"]:
                f.mark(s, p, day, "AM", "/")
                f.mark(s, p, day, "PM", "\\")
        for g in "ABC":
            for p in groups[g]:
                f.mark(s, p, TODAY, "AM", "N")
        for p in groups["D"]:
            f.mark(s, p, TODAY, "AM", "/")
        s.commit()
        school_id = school.id
    # Friday afternoon's sweep (the day-3 alerts; every step of the week-long absences).
    run_job(
        "escalation-sweep",
        engine,
        f.settings(),
        now=clock.at_local(date(2026, 11, 20), time(14, 0)),
        schools=[_school(engine, school_id)],
    )
    return school_id


def _school(engine, school_id: int) -> School:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(School, school_id)


def fingerprint(engine, school_id: int) -> dict:
    """Everything the day's jobs write for a school, without ids or the school's name."""
    with Session(engine) as s:

        def rows(model):
            return s.exec(select(model).where(model.school_id == school_id)).all()

        return {
            "cases": Counter(c.status for c in rows(AbsenceCase)),
            "alerts": sorted(
                (
                    a.kind,
                    (a.data or {}).get("step", {}).get("kind", ""),
                    a.raised_count,
                    a.status,
                    a.audience,
                    a.dsl_emailed_at is not None,
                )
                for a in rows(Alert)
            ),
            "messages": Counter((m.kind, m.channel, m.status) for m in rows(OutboxMessage)),
            "amendments": Counter((a.original_code, a.amended_code) for a in rows(MarkAmendment)),
            "events": Counter(e.kind for e in rows(CaseEvent)),
            "tiers": Counter(p.tier for p in rows(Pupil)),
        }


def test_two_processes_running_the_days_jobs_at_once_end_as_one_run_ten_times(pg_engine, postgres_url):
    baseline = build_school(pg_engine, "200000")
    for name, hh_mm, opts in concurrency.DAY_JOBS:  # one process, each job once: the reference
        run_job(
            name,
            pg_engine,
            f.settings(),
            now=concurrency.at(TODAY.isoformat(), hh_mm),
            schools=[_school(pg_engine, baseline)],
            **opts,
        )
    expected = fingerprint(pg_engine, baseline)
    assert expected["alerts"] and expected["amendments"] and expected["messages"]  # the day did things
    assert any(kind == "escalation" and raised > 1 for kind, _step, raised, *_ in expected["alerts"])

    urns = [f"2000{i:02d}" for i in range(1, ROUNDS + 1)]
    ids = {urn: build_school(pg_engine, urn) for urn in urns}
    ctx = multiprocessing.get_context("spawn")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    workers = [
        ctx.Process(
            target=concurrency.run_day, args=(postgres_url, urns, TODAY.isoformat(), barrier, results)
        )
        for _ in range(2)
    ]
    for w in workers:
        w.start()
    reports = [results.get(timeout=300) for _ in range(2 * len(urns) * len(concurrency.DAY_JOBS))]
    for w in workers:
        w.join(timeout=60)
    errors = [r for r in reports if r[0] == "error"]
    assert errors == [], errors[0][3]
    assert [w.exitcode for w in workers] == [0, 0]
    engine = make_engine(postgres_url)
    try:
        for urn in urns:
            assert fingerprint(engine, ids[urn]) == expected, f"school {urn} differs from a single run"
    finally:
        engine.dispose()


def test_only_the_latest_step_of_a_case_is_raised_again(pg_engine):
    """The day-3 alert nobody answered is overtaken by the day-4 one: only day 4 is raised again."""
    school_id = build_school(pg_engine, "300000")
    later = clock.at_local(TODAY, time(11, 5))
    run_job("escalation-sweep", pg_engine, f.settings(), now=later, schools=[_school(pg_engine, school_id)])
    run_job(
        "escalation-sweep",
        pg_engine,
        f.settings(),
        now=later + timedelta(hours=3),
        schools=[_school(pg_engine, school_id)],
    )
    with Session(pg_engine) as s:
        alerts = s.exec(select(Alert).where(Alert.school_id == school_id, Alert.kind == "escalation")).all()
    by_case: dict[int, list[Alert]] = {}
    for a in alerts:
        by_case.setdefault(a.case_id, []).append(a)
    friday_night = clock.at_local(date(2026, 11, 20), time(23, 0))
    assert len(by_case) == 2 * PER_GROUP
    for case_alerts in by_case.values():
        latest = max(case_alerts, key=lambda a: a.data["index"])
        assert latest.raised_count >= 2 and latest.last_raised_at > friday_night
        assert all(a.last_raised_at <= friday_night for a in case_alerts if a is not latest)
