"""The daily statutory sweep on SQLite and PostgreSQL: N→O, thresholds once per episode, tiers."""

import threading
from datetime import date, time

import pytest
from sqlmodel import Session, select

from bot import clock
from bot.jobs import JOBS, run_for_school
from bot.thresholds.service import tier_for
from bot.typical_calendar import calendar_2026_27
from storage.models import Alert, CallLog, CaseEvent, Mark, MarkAmendment, OutboxMessage, Pupil, School
from tests import factories

CAL = calendar_2026_27()
AFTER_PM = time(14, 0)


def fill(session, pupil, start: date, end: date, am: str = "/", pm: str = "\\"):
    for day in CAL.school_days_between(start, end):
        factories.mark(session, pupil, day, "AM", am)
        factories.mark(session, pupil, day, "PM", pm)
    session.commit()


def sweep_at(engine, school_id: int, now):
    """The statutory-sweep job as the clock runs it (one transaction for the school)."""
    with Session(engine) as s:
        school = s.get(School, school_id)
    return run_for_school(
        JOBS["statutory-sweep"], engine, school=school, now=now, settings=factories.settings()
    )


def sweep(engine, school_id: int, day: date):
    return sweep_at(engine, school_id, clock.at_local(day, AFTER_PM))


def alerts(engine, kind: str) -> list[Alert]:
    with Session(engine) as s:
        return list(s.exec(select(Alert).where(Alert.kind == kind).order_by(Alert.id)).all())


@pytest.fixture
def school(session):
    row = factories.school(
        session, attendance_lead_email="lead@oakfield.example", dsl_email="dsl@oakfield.example"
    )
    session.commit()
    return row


def test_n_becomes_o_after_five_school_days_across_half_term(engine, session, school):
    pupil = factories.pupil(session, school)
    factories.mark(session, pupil, date(2026, 10, 22), "AM", "N")  # Thu before half-term
    factories.mark(session, pupil, date(2026, 10, 22), "PM", "/")
    session.commit()
    # Fri 23 Oct (1), half-term and the clock change, Mon 2 Nov INSET, Tue 3 (2) .. Fri 6 Nov (5).
    for day in (date(2026, 10, 23), date(2026, 10, 30), date(2026, 11, 2), date(2026, 11, 5)):
        assert sweep(engine, school.id, day)["n_to_o"] == 0
    assert sweep(engine, school.id, date(2026, 11, 6))["n_to_o"] == 1
    assert sweep(engine, school.id, date(2026, 11, 6))["n_to_o"] == 0
    with Session(engine) as s:
        mark = s.exec(select(Mark).where(Mark.pupil_id == pupil.id, Mark.session == "AM")).one()
        audit = s.exec(select(MarkAmendment)).one()
    assert mark.code == "O"
    assert (audit.original_code, audit.amended_code, audit.amended_by_name, audit.amended_by_role) == (
        "N",
        "O",
        "system",
        "system",
    )
    assert audit.reason == "No reason received within 5 school days"


def test_penalty_threshold_fires_once_with_evidence_and_emails_the_lead(engine, session, school):
    pupil = factories.pupil(session, school, first="Ben", last="Cole")
    fill(session, pupil, date(2026, 9, 3), date(2026, 9, 30))
    # Nine unauthorised sessions: not yet.
    for day, name, code in [
        (date(2026, 10, d), "AM", c)
        for d, c in [
            (1, "G"),
            (2, "G"),
            (5, "O"),
            (6, "U"),
            (7, "O"),
            (8, "G"),
            (9, "O"),
            (12, "O"),
            (13, "U"),
        ]
    ]:
        factories.mark(session, pupil, day, name, code)
        factories.mark(session, pupil, day, "PM", "\\")
    session.commit()
    assert sweep(engine, school.id, date(2026, 10, 13))["penalty"] == 0
    factories.mark(session, pupil, date(2026, 10, 14), "AM", "O")
    session.commit()
    assert sweep(engine, school.id, date(2026, 10, 14))["penalty"] == 1
    assert sweep(engine, school.id, date(2026, 10, 14))["penalty"] == 0
    factories.mark(session, pupil, date(2026, 10, 15), "AM", "O")
    session.commit()
    assert sweep(engine, school.id, date(2026, 10, 15))["penalty"] == 0  # same episode
    [alert] = alerts(engine, "penalty_threshold")
    assert alert.audience == "attendance" and len(alert.data["evidence"]) == 10
    assert alert.data["evidence"][0] == {"date": "2026-10-01", "session": "AM", "code": "G"}
    with Session(engine) as s:
        email = s.exec(select(OutboxMessage).where(OutboxMessage.to_address == "lead@oakfield.example")).one()
    assert "Ben Cole" in email.body


def test_ten_days_continuous_unauthorised_notifies_la_and_a_present_morning_breaks_the_run(
    engine, session, school
):
    broken = factories.pupil(session, school, first="Ava", last="Lee")
    steady = factories.pupil(session, school, first="Max", last="Rye")
    fill(session, broken, date(2026, 9, 3), date(2026, 9, 30))
    fill(session, steady, date(2026, 9, 3), date(2026, 9, 30))
    fill(session, steady, date(2026, 10, 1), date(2026, 10, 14), "O", "O")  # 10 school days
    fill(session, broken, date(2026, 10, 1), date(2026, 10, 7), "O", "O")
    fill(session, broken, date(2026, 10, 8), date(2026, 10, 8), "/", "O")  # AM present
    fill(session, broken, date(2026, 10, 9), date(2026, 10, 14), "O", "O")
    summary = sweep(engine, school.id, date(2026, 10, 14))
    sweep(engine, school.id, date(2026, 10, 15))
    assert summary["la_unauthorised"] == 1
    [alert] = alerts(engine, "la_unauthorised")
    assert alert.pupil_id == steady.id and alert.data["run_start"] == "2026-10-01"
    assert alert.data["days"] == 10 and len(alert.data["evidence"]) == 20
    assert alerts(engine, "cme") == []


def test_fifteen_days_of_illness_cumulative_notify_la_once(engine, session, school):
    pupil = factories.pupil(session, school)
    fill(session, pupil, date(2026, 9, 3), date(2026, 12, 18))
    days = CAL.school_days_between(date(2026, 9, 7), date(2026, 12, 18))[::4][:15]  # spread out
    assert len(days) == 15
    with Session(engine) as s:
        for day in days:
            for m in s.exec(select(Mark).where(Mark.pupil_id == pupil.id, Mark.date == day)).all():
                m.code = "I"
                s.add(m)
        s.commit()
    assert sweep(engine, school.id, days[-2])["la_illness"] == 0
    assert sweep(engine, school.id, date(2026, 12, 18))["la_illness"] == 1
    assert sweep(engine, school.id, date(2026, 12, 18))["la_illness"] == 0
    [alert] = alerts(engine, "la_illness")
    assert alert.data["days"] == 15 and len(alert.data["evidence"]) == 30


def test_twenty_days_whereabouts_unknown_is_cme_but_not_after_a_conversation(engine, session, school):
    lost = factories.pupil(session, school, first="Kai", last="Moss")
    known = factories.pupil(session, school, first="Zoe", last="Hart")
    for p in (lost, known):
        fill(session, p, date(2026, 9, 3), date(2026, 9, 11))
        fill(session, p, date(2026, 9, 14), date(2026, 10, 9), "O", "O")  # 20 school days
    session.add(
        CallLog(
            school_id=school.id,
            pupil_id=known.id,
            outcome="spoke",
            at=clock.at_local(date(2026, 9, 30), time(10, 0)),
        )
    )
    session.commit()
    assert sweep(engine, school.id, date(2026, 10, 8))["cme"] == 0  # 19 days
    summary = sweep(engine, school.id, date(2026, 10, 9))
    assert summary["cme"] == 1
    [alert] = alerts(engine, "cme")
    assert alert.pupil_id == lost.id and alert.audience == "dsl" and alert.severity == "urgent"
    assert alert.data["run_start"] == "2026-09-14"
    with Session(engine) as s:
        assert s.get(Pupil, lost.id).tier == "specialist"


def test_tiers_follow_attendance_and_flags_and_log_changes_once(engine, session, school):
    good = factories.pupil(session, school, first="Ada")
    low = factories.pupil(session, school, first="Bo")
    ehcp = factories.pupil(session, school, first="Cy", send_ehcp=True)
    for p in (good, low, ehcp):
        fill(session, p, date(2026, 9, 3), date(2026, 10, 14))
    # Bo misses 6 of 60 sessions (authorised): 90% → emerging, persistent (10% missed) → intensive.
    with Session(engine) as s:
        for m in s.exec(select(Mark).where(Mark.pupil_id == low.id, Mark.session == "AM")).all()[:6]:
            m.code = "I"
            s.add(m)
        s.commit()
    summary = sweep(engine, school.id, date(2026, 10, 14))
    assert summary["tier_changes"] == 3
    assert sweep(engine, school.id, date(2026, 10, 14))["tier_changes"] == 0
    with Session(engine) as s:
        tiers = {p.first_name: p.tier for p in s.exec(select(Pupil)).all()}
        events = s.exec(select(CaseEvent).where(CaseEvent.kind == "tier_change")).all()
    assert tiers == {"Ada": "universal", "Bo": "intensive", "Cy": "intensive"}
    assert len(events) == 3
    bo = next(e for e in events if e.pupil_id == low.id)
    assert bo.data["to"] == "intensive" and "persistent" in bo.data["reasons"]


def test_tier_bands_and_school_tiers():
    from bot.policy import DEFAULT_THRESHOLDS

    assert tier_for(98.0, set(), DEFAULT_THRESHOLDS)[0] == "universal"
    assert tier_for(93.0, set(), DEFAULT_THRESHOLDS)[0] == "emerging"
    assert tier_for(85.0, set(), DEFAULT_THRESHOLDS)[0] == "intensive"
    assert tier_for(79.9, set(), DEFAULT_THRESHOLDS)[0] == "specialist"
    assert tier_for(99.0, {"cme"}, DEFAULT_THRESHOLDS)[0] == "specialist"
    danesgate = dict(
        DEFAULT_THRESHOLDS,
        tiers=[
            {"name": "tier 1", "min_percent": 90},
            {"name": "tier 2", "min_percent": 70},
            {"name": "tier 3", "min_percent": 20},
            {"name": "tier 4", "min_percent": 0},
        ],
    )
    assert tier_for(75.0, {"persistent"}, danesgate)[0] == "tier 2"


def test_two_statutory_sweeps_at_once_on_postgres(pg_engine):
    with Session(pg_engine) as session:
        school = factories.school(session)
        pupils = [factories.pupil(session, school, first=f"P{i}") for i in range(6)]
        for p in pupils:
            fill(session, p, date(2026, 9, 3), date(2026, 9, 30), "N", "N")
        school_id = school.id
    now = clock.at_local(date(2026, 10, 14), AFTER_PM)
    barrier = threading.Barrier(3)
    errors, results = [], []

    def worker():
        try:
            barrier.wait()
            results.append(sweep_at(pg_engine, school_id, now))
        except Exception as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(pg_engine) as s:
        n_marks = len(s.exec(select(Mark)).all())
        amendments = s.exec(select(MarkAmendment)).all()
        assert len(amendments) == n_marks == sum(r["n_to_o"] for r in results)
        assert len({a.mark_id for a in amendments}) == n_marks
        assert len(s.exec(select(Alert).where(Alert.kind == "penalty_threshold")).all()) == 6
        assert len(s.exec(select(Alert).where(Alert.kind == "la_unauthorised")).all()) == 6
        assert len(s.exec(select(CaseEvent).where(CaseEvent.kind == "tier_change")).all()) == 6
