"""The escalation ladder across real calendars, on SQLite and PostgreSQL.

Each test plays the register-close job (N marks and ``open_or_extend``) and then runs the clock's
``escalation_sweep`` at the school's wall-clock time, as the clock would.
"""

import threading
from datetime import date, time, timedelta

import pytest
from sqlmodel import Session, select

from bot import clock
from bot.actors import Actor
from bot.cases.service import explain, open_or_extend
from bot.commands.acting import act
from bot.jobs import JOBS, run_for_school
from storage.models import (
    AbsenceCase,
    Alert,
    AlertAction,
    CallLog,
    CaseEvent,
    OutboxMessage,
    School,
    SchoolPolicy,
)
from tests import factories

AFTER_PM = time(14, 0)


def absent(session: Session, pupil, day: date, sessions=("AM", "PM"), code: str = "N"):
    """What the register-close job does: the N mark, then open or extend the case."""
    for name in sessions:
        factories.mark(session, pupil, day, name, code)
        open_or_extend(
            session,
            pupil=pupil,
            day=day,
            session_name=name,
            now=clock.at_local(day, time(9, 20) if name == "AM" else time(13, 50)),
        )
    session.commit()


def sweep(engine, school_id: int, now):
    """The escalation-sweep job as the clock runs it (one transaction for the school)."""
    with Session(engine) as s:
        school = s.get(School, school_id)
    return run_for_school(
        JOBS["escalation-sweep"], engine, school=school, now=now, settings=factories.settings()
    )


def run(engine, school_id: int, day: date, at: time = AFTER_PM):
    return sweep(engine, school_id, clock.at_local(day, at))


def alerts(engine, **where) -> list[Alert]:
    with Session(engine) as s:
        q = select(Alert).where(Alert.kind == "escalation").order_by(Alert.id)
        for k, v in where.items():
            q = q.where(getattr(Alert, k) == v)
        return list(s.exec(q).all())


def kinds(engine) -> list[str]:
    return [a.data["step"]["kind"] for a in alerts(engine)]


@pytest.fixture
def setup(session):
    school = factories.school(session, dsl_email="dsl@oakfield.example")
    pupil = factories.pupil(session, school, first="Amelia", last="Khan")
    factories.contact(session, school, pupil)
    session.commit()
    return school, pupil


def test_family_that_never_answers_gets_day_3_4_5_once_each_in_order(engine, session, setup):
    school, pupil = setup
    week = [date(2026, 9, 7) + timedelta(days=i) for i in range(5)]  # Mon 7 .. Fri 11 Sep 2026
    seen_per_day = []
    for day in week:
        absent(session, pupil, day)
        run(engine, school.id, day)
        run(engine, school.id, day, time(14, 5))  # the same sweep again: nothing new
        seen_per_day.append(kinds(engine))
    assert seen_per_day == [
        [],
        [],
        ["home_visit_requested"],
        ["home_visit_requested", "home_visit_due"],
        ["home_visit_requested", "home_visit_due", "mash_referral"],
    ]
    made = alerts(engine)
    assert [a.data["day"] for a in made] == [3, 4, 5]
    assert [a.severity for a in made] == ["high", "high", "urgent"]
    assert made[0].data["pupil"]["year_class"] == "Year 4, 4B"
    assert "Day 3 of unexplained absence" in made[0].body
    assert set(made[2].data["actions"]) >= {
        "home_visit_seen",
        "home_visit_no_answer",
        "referred_mash",
        "police_informed",
        "close_case",
    }
    with Session(engine) as s:
        case = s.exec(select(AbsenceCase)).one()
        assert case.next_step == 3 and case.next_step_due is None


def test_reason_on_day_2_means_no_day_3_alert(engine, session, setup):
    school, pupil = setup
    absent(session, pupil, date(2026, 9, 7))
    absent(session, pupil, date(2026, 9, 8))
    case = session.exec(select(AbsenceCase)).one()
    explain(
        session,
        case=case,
        by="reply",
        code="I",
        summary="Parent: ill",
        now=clock.at_local(date(2026, 9, 8), time(11, 0)),
    )
    session.commit()
    for day in (date(2026, 9, 9), date(2026, 9, 10), date(2026, 9, 11)):
        factories.mark(session, pupil, day, "AM", "N")  # MIS still says N; the case is explained
        session.commit()
        run(engine, school.id, day)
    assert alerts(engine) == []


def test_half_term_inset_and_october_clock_change_are_not_school_days(engine, session, setup):
    school, pupil = setup
    # Thu 22 Oct (day 1), Fri 23 Oct (day 2); half-term 26-30 Oct with the clocks going back on the
    # 25th; Mon 2 Nov is an INSET day; Tue 3 Nov is day 3.
    absent(session, pupil, date(2026, 10, 22))
    absent(session, pupil, date(2026, 10, 23))
    day = date(2026, 10, 22)
    while day <= date(2026, 11, 2):
        run(engine, school.id, day)
        day += timedelta(days=1)
    assert alerts(engine) == []
    with Session(engine) as s:
        assert s.exec(select(AbsenceCase)).one().next_step_due == date(2026, 11, 3)
    absent(session, pupil, date(2026, 11, 3))
    summary = run(engine, school.id, date(2026, 11, 3))
    assert summary["alerts"] == 1
    made = alerts(engine)
    assert [a.data["day"] for a in made] == [3]
    # 14:00 in London on 3 Nov is 14:00 UTC (GMT after the change), not 13:00.
    assert made[0].created_at == clock.at_local(date(2026, 11, 3), AFTER_PM)
    assert made[0].created_at.hour == 14


def test_bank_holiday_is_skipped(engine, session, setup):
    school, pupil = setup
    absent(session, pupil, date(2027, 4, 29))  # Thu
    absent(session, pupil, date(2027, 4, 30))  # Fri
    run(engine, school.id, date(2027, 5, 3))  # Mon: early May bank holiday
    assert alerts(engine) == []
    absent(session, pupil, date(2027, 5, 4))  # Tue = day 3
    run(engine, school.id, date(2027, 5, 4))
    assert kinds(engine) == ["home_visit_requested"]


def test_am_present_pm_absent_day_counts_as_day_1(engine, session, setup):
    school, pupil = setup
    factories.mark(session, pupil, date(2026, 9, 7), "AM", "/")
    absent(session, pupil, date(2026, 9, 7), sessions=("PM",))
    absent(session, pupil, date(2026, 9, 8))
    run(engine, school.id, date(2026, 9, 8))
    assert alerts(engine) == []
    absent(session, pupil, date(2026, 9, 9))
    run(engine, school.id, date(2026, 9, 9))
    assert [a.data["day"] for a in alerts(engine)] == [3]
    assert alerts(engine)[0].data["first_session"] == "PM"


def test_pupil_seen_in_school_is_not_escalated_even_before_the_case_is_closed(engine, session, setup):
    school, pupil = setup
    absent(session, pupil, date(2026, 9, 7))
    absent(session, pupil, date(2026, 9, 8))
    factories.mark(session, pupil, date(2026, 9, 9), "AM", "L")  # arrived late on day 3
    session.commit()
    summary = run(engine, school.id, date(2026, 9, 9))
    assert alerts(engine) == [] and summary["seen"] == 1


def test_clock_down_for_a_day_raises_the_missed_step_first_and_nothing_twice(engine, session, setup):
    school, pupil = setup
    for day in (date(2026, 9, 7), date(2026, 9, 8), date(2026, 9, 9), date(2026, 9, 10)):
        absent(session, pupil, day)
        if day != date(2026, 9, 9):  # the clock is stopped all of Wednesday (day 3)
            run(engine, school.id, day)
    assert kinds(engine) == ["home_visit_requested", "home_visit_due"]
    run(engine, school.id, date(2026, 9, 10), time(15, 0))
    assert kinds(engine) == ["home_visit_requested", "home_visit_due"]


def test_safety_net_rearms_a_case_whose_step_is_overdue(engine, session, setup):
    school, pupil = setup
    for day in (date(2026, 9, 7), date(2026, 9, 8), date(2026, 9, 9)):
        absent(session, pupil, day)
    # A case whose step bookkeeping was never written (an earlier crash, an older version).
    case = session.exec(select(AbsenceCase)).one()
    case.next_step_due = date(2026, 9, 8)
    session.add(case)
    session.commit()
    summary = run(engine, school.id, date(2026, 9, 9))
    assert summary["overdue"] == 1 and summary["alerts"] == 1
    with Session(engine) as s:
        assert s.get(AbsenceCase, case.id).next_step_due == date(2026, 9, 10)


def test_ladder_is_the_snapshot_taken_when_the_case_opened(engine, session, setup):
    school, pupil = setup
    absent(session, pupil, date(2026, 9, 7))
    policy = session.get(SchoolPolicy, school.id)
    policy.escalation_ladder = [{"day": 2, "kind": "call_head", "title": "Call the head"}]
    session.add(policy)
    session.commit()
    for day in (date(2026, 9, 8), date(2026, 9, 9)):
        absent(session, pupil, day)
        run(engine, school.id, day)
    assert kinds(engine) == ["home_visit_requested"]


def test_vulnerable_pupil_has_a_shorter_ladder_and_social_worker_told_on_day_1(engine, session, setup):
    school, _ = setup
    policy = session.get(SchoolPolicy, school.id)
    policy.vulnerable_ladder = [
        {"day": 1, "kind": "home_visit_requested", "title": "Home visit today"},
        {"day": 2, "kind": "mash_referral", "title": "MASH referral"},
    ]
    session.add(policy)
    child = factories.pupil(
        session,
        school,
        first="Leo",
        last="Ward",
        has_social_worker=True,
        social_worker_email="sw@council.example",
        looked_after=True,
    )
    session.commit()
    absent(session, child, date(2026, 9, 7))
    run(engine, school.id, date(2026, 9, 7), time(9, 30))
    run(engine, school.id, date(2026, 9, 7))
    with Session(engine) as s:
        emails = s.exec(select(OutboxMessage).where(OutboxMessage.to_address == "sw@council.example")).all()
    assert len(emails) == 1 and "Leo Ward" in emails[0].body and emails[0].kind == "staff_email"
    assert kinds(engine) == ["home_visit_requested"]
    assert set(alerts(engine)[0].data["flags"]) >= {"social worker", "looked after"}
    absent(session, child, date(2026, 9, 8))
    run(engine, school.id, date(2026, 9, 8))
    assert kinds(engine) == ["home_visit_requested", "mash_referral"]


def test_unacted_alert_is_raised_again_then_emailed_to_the_dsl_once(engine, session, setup):
    school, pupil = setup
    for day in (date(2026, 9, 7), date(2026, 9, 8), date(2026, 9, 9)):
        absent(session, pupil, day)
    run(engine, school.id, date(2026, 9, 9), time(14, 0))
    with Session(engine) as s:  # the deliverer posted it
        a = s.exec(select(Alert)).one()
        a.delivered_at = clock.at_local(date(2026, 9, 9), time(14, 1))
        s.add(a)
        s.commit()
    run(engine, school.id, date(2026, 9, 9), time(15, 0))  # < 120 min: nothing
    assert alerts(engine)[0].raised_count == 1
    run(engine, school.id, date(2026, 9, 9), time(16, 1))
    run(engine, school.id, date(2026, 9, 9), time(16, 1))
    a = alerts(engine)[0]
    assert a.raised_count == 2 and a.delivered_at is None and a.dsl_emailed_at is None
    assert "Raised 2 times" in a.body
    run(engine, school.id, date(2026, 9, 9), time(18, 5))  # past 240 minutes
    run(engine, school.id, date(2026, 9, 9), time(18, 6))
    with Session(engine) as s:
        emails = s.exec(select(OutboxMessage).where(OutboxMessage.to_address == "dsl@oakfield.example")).all()
    assert len(emails) == 1 and "Amelia Khan" in emails[0].body
    assert alerts(engine)[0].raised_count == 3


def test_acted_alert_is_not_raised_again(engine, session, setup):
    school, pupil = setup
    jo = factories.staff(session, school, name="Jo Patel", role="pastoral")
    for day in (date(2026, 9, 7), date(2026, 9, 8), date(2026, 9, 9)):
        absent(session, pupil, day)
    run(engine, school.id, date(2026, 9, 9))
    alert = alerts(engine)[0]
    with Session(engine) as s:
        act(
            s,
            alert_id=alert.id,
            action="home_visit_no_answer",
            actor=Actor.of(jo),
            now=clock.at_local(date(2026, 9, 9), time(14, 30)),
        )
        s.commit()
    run(engine, school.id, date(2026, 9, 9), time(20, 0))
    a = alerts(engine)[0]
    assert a.raised_count == 1 and a.status == "open" and a.dsl_emailed_at is None
    with Session(engine) as s:
        assert s.exec(select(AbsenceCase)).one().status == "open"
        assert s.exec(select(CaseEvent).where(CaseEvent.kind == "home_visit_no_answer")).one()


def test_home_visit_child_seen_closes_the_case_and_stops_the_ladder(engine, session, setup):
    school, pupil = setup
    jo = factories.staff(session, school, name="Jo Patel", role="pastoral")
    for day in (date(2026, 9, 7), date(2026, 9, 8), date(2026, 9, 9)):
        absent(session, pupil, day)
    run(engine, school.id, date(2026, 9, 9))
    with Session(engine) as s:
        act(
            s,
            alert_id=alerts(engine)[0].id,
            action="home_visit_seen",
            actor=Actor.of(jo),
            now=clock.at_local(date(2026, 9, 9), time(15, 0)),
        )
        s.commit()
    absent(session, pupil, date(2026, 9, 10))  # still absent (e.g. ill at home), a new case opens
    run(engine, school.id, date(2026, 9, 10))
    with Session(engine) as s:
        first = s.exec(select(AbsenceCase).order_by(AbsenceCase.id)).first()
        assert first.status == "closed" and "home visit" in first.closed_reason
        action = s.exec(select(AlertAction)).one()
        assert action.actor_name == "Jo Patel" and action.action == "home_visit_seen"
    assert kinds(engine) == ["home_visit_requested"]
    assert alerts(engine)[0].status == "acted"


def test_no_contact_basis_counts_from_the_last_contact(engine, session, setup):
    school, pupil = setup
    policy = session.get(SchoolPolicy, school.id)
    policy.escalation_basis = "no_contact"
    session.add(policy)
    session.commit()
    absent(session, pupil, date(2026, 9, 7))
    absent(session, pupil, date(2026, 9, 8))
    case = session.exec(select(AbsenceCase)).one()
    session.add(
        CallLog(
            school_id=school.id,
            pupil_id=pupil.id,
            case_id=case.id,
            outcome="spoke",
            note="Mum will call back",
            at=clock.at_local(date(2026, 9, 8), time(11, 0)),
        )
    )
    session.commit()
    for day in (date(2026, 9, 9), date(2026, 9, 10)):
        absent(session, pupil, day)
        run(engine, school.id, day)
    assert alerts(engine) == []  # Wed, Thu are days 1 and 2 of no contact
    absent(session, pupil, date(2026, 9, 11))
    run(engine, school.id, date(2026, 9, 11))
    assert kinds(engine) == ["home_visit_requested"]
    assert alerts(engine)[0].data["contact"]["calls"][0]["outcome"] == "spoke"


def test_two_sweeps_at_once_on_postgres_raise_each_alert_once(pg_engine):
    with Session(pg_engine) as session:
        school = factories.school(session, dsl_email="dsl@oakfield.example")
        pupils = [factories.pupil(session, school, first=f"P{i}", last="Test") for i in range(8)]
        session.commit()
        for day in (date(2026, 9, 7), date(2026, 9, 8), date(2026, 9, 9)):
            for p in pupils:
                absent(session, p, day)
        school_id = school.id
    now = clock.at_local(date(2026, 9, 9), AFTER_PM)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(sweep(pg_engine, school_id, now))
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    made = alerts(pg_engine)
    assert len(made) == 8 and len({a.case_id for a in made}) == 8
    assert sum(r["alerts"] for r in results) == 8


@pytest.mark.parametrize(
    "flags",
    [
        {"has_social_worker": True, "social_worker_email": "sw@council.example"},
        {"child_protection": True, "social_worker_email": "sw@council.example"},
        {"looked_after": True, "social_worker_email": "sw@council.example"},
        {"has_yot_worker": True, "yot_worker_email": "yot@council.example"},
    ],
)
def test_vulnerable_pupils_get_a_day_1_dsl_alert_with_the_workers_contact_by_default(
    engine, session, setup, flags
):
    """Issue 12, item 2: no vulnerable ladder set, yet day 1 tells the DSL, day 3 is MASH."""
    school, ordinary = setup
    child = factories.pupil(session, school, first="Leo", last="Ward", **flags)
    session.commit()
    monday = date(2026, 9, 7)
    absent(session, child, monday, sessions=("AM",))
    absent(session, ordinary, monday, sessions=("AM",))
    run(engine, school.id, monday, time(9, 35))
    [alert] = alerts(engine)
    assert alert.pupil_id == child.id and alert.audience == "dsl" and alert.data["day"] == 1
    address = flags.get("social_worker_email") or flags["yot_worker_email"]
    assert address in alert.body and alert.data["workers"][0]["email"] == address
    with Session(engine) as s:  # the worker is still emailed too
        assert len(s.exec(select(OutboxMessage).where(OutboxMessage.to_address == address)).all()) == 1
    for day in (date(2026, 9, 8), date(2026, 9, 9)):
        absent(session, child, day)
        run(engine, school.id, day)
    assert kinds(engine) == ["vulnerable_day1", "home_visit_requested", "mash_referral"]
    assert [a.audience for a in alerts(engine)] == ["dsl", "pastoral", "dsl"]
    assert alerts(engine)[-1].severity == "urgent"
    # The worker's email is about the family, not contact with it: not in "Contact so far".
    assert [m["kind"] for m in alerts(engine)[-1].data["contact"]["messages"]] == []


def test_an_escalation_sweep_follows_the_pm_register_close(session, setup):
    """A vulnerable pupil absent from the afternoon register reaches the DSL 20 minutes after close."""
    from scheduler.schedule import school_slots

    school, _ = setup
    sweeps = {s.label for s in school_slots(session, school) if s.job == "escalation-sweep"}
    assert {"09:35", "14:05"} <= sweeps  # AM close 09:15 and PM close 13:45, plus twenty minutes
