"""Statutory thresholds concern pupils of compulsory school age (issue 12, statutory correctness).

A child is of compulsory school age from the start of the term after their fifth birthday. Two
Reception children of 2026/27: one born in August 2022 (not of compulsory school age all year) and
one born in September 2021 (from 1 January 2027). Both miss the same fortnight in December and the
same fortnight in January; a Year 2 child with the same absences is the control. Younger children are
still messaged and escalated. On SQLite and PostgreSQL.
"""

from datetime import date, time

import pytest
from sqlmodel import Session, select

from bot import clock
from bot.escalation.scheduled import escalation_sweep
from bot.firstday.service import register_close
from bot.importing.service import import_file
from bot.jobs import JOBS, run_for_school
from bot.policy import policy_for
from bot.pupils import compulsory_school_age_from, of_compulsory_school_age
from bot.reports import weekly
from bot.typical_calendar import calendar_2026_27
from storage.models import Alert, OutboxMessage, Pupil, School
from tests import factories as f

CAL = calendar_2026_27()
AUGUST_BORN, SEPTEMBER_BORN = date(2022, 8, 20), date(2021, 9, 10)


@pytest.mark.parametrize(
    ("born", "from_"),
    [
        (date(2021, 8, 15), date(2026, 9, 1)),  # five in August: from the autumn term
        (date(2021, 8, 31), date(2026, 9, 1)),
        (date(2021, 9, 1), date(2027, 1, 1)),  # five on the first day of term: from the next term
        (SEPTEMBER_BORN, date(2027, 1, 1)),
        (date(2021, 12, 31), date(2027, 1, 1)),
        (date(2022, 1, 1), date(2027, 4, 1)),
        (date(2022, 3, 31), date(2027, 4, 1)),
        (date(2022, 4, 1), date(2027, 9, 1)),
        (AUGUST_BORN, date(2027, 9, 1)),
        (date(2020, 2, 29), date(2025, 4, 1)),  # a leap-day birthday
    ],
)
def test_compulsory_school_age_starts_the_term_after_the_fifth_birthday(born, from_):
    assert compulsory_school_age_from(born) == from_


def _absent(s, pupil, start, end):
    for day in CAL.school_days_between(start, end):
        f.mark(s, pupil, day, "AM", "O")
        f.mark(s, pupil, day, "PM", "O")


def _present(s, pupil, start, end):
    for day in CAL.school_days_between(start, end):
        f.mark(s, pupil, day, "AM", "/")
        f.mark(s, pupil, day, "PM", "\\")


@pytest.fixture
def trio(engine):
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, attendance_lead_email="lead@oakfield.example", dsl_email="dsl@oakfield.example")
        kids = {
            "august": f.pupil(
                s,
                school,
                first="Ava",
                last="August",
                year_group=0,
                class_name="R Willow",
                date_of_birth=AUGUST_BORN,
            ),
            "september": f.pupil(
                s,
                school,
                first="Sam",
                last="September",
                year_group=0,
                class_name="R Willow",
                date_of_birth=SEPTEMBER_BORN,
            ),
            "year2": f.pupil(
                s,
                school,
                first="Yan",
                last="Two",
                year_group=2,
                class_name="2 Oak",
                date_of_birth=date(2019, 5, 5),
            ),
        }
        for p in kids.values():
            _present(s, p, date(2026, 11, 2), date(2026, 12, 4))
            _absent(s, p, date(2026, 12, 7), date(2026, 12, 18))  # ten school days before Christmas
        s.commit()
        return school, kids


def _sweep(engine, school_id, day):
    with Session(engine) as s:
        school = s.get(School, school_id)
    return run_for_school(
        JOBS["statutory-sweep"],
        engine,
        school=school,
        now=clock.at_local(day, time(15)),
        settings=f.settings(),
    )


def _alerts(engine, pupil):
    with Session(engine) as s:
        return sorted(a.kind for a in s.exec(select(Alert).where(Alert.pupil_id == pupil.id)).all())


def test_thresholds_leave_out_pupils_below_compulsory_school_age(engine, trio):
    school, kids = trio
    assert not of_compulsory_school_age(kids["september"], date(2026, 12, 18))
    assert of_compulsory_school_age(kids["september"], date(2027, 1, 4))

    # 18 December: ten school days unauthorised. Only the Year 2 child is of compulsory school age.
    summary = _sweep(engine, school.id, date(2026, 12, 18))
    assert _alerts(engine, kids["year2"]) == ["la_unauthorised", "penalty_threshold"]
    assert _alerts(engine, kids["august"]) == [] and _alerts(engine, kids["september"]) == []
    assert summary["not_compulsory_age"] == 2

    # The same fortnight in January: the September-born child is now of compulsory school age and
    # only January's sessions count (a new run from 5 January, ten days: the local authority is told);
    # the August-born child stays out of every threshold all year.
    with Session(engine) as s:
        for p in kids.values():
            _absent(s, p, date(2027, 1, 5), date(2027, 1, 18))  # Mon 4 January is an INSET day
        s.commit()
    _sweep(engine, school.id, date(2027, 1, 18))
    with Session(engine) as s:
        sam = s.exec(select(Alert).where(Alert.pupil_id == kids["september"].id).order_by(Alert.kind)).all()
    assert [a.kind for a in sam] == ["la_unauthorised", "penalty_threshold"]
    la, penalty = sam
    assert la.data["run_start"] == "2027-01-05" and la.data["days"] == 10
    assert "20 unauthorised sessions since 01 Jan 2027" in penalty.body
    assert all(e["date"] >= "2027-01-05" for e in penalty.data["evidence"])
    assert _alerts(engine, kids["august"]) == []
    # The Year 2 child's run spans the holiday: twenty school days, whereabouts unknown -> CME too.
    assert "cme" in _alerts(engine, kids["year2"])

    # The weekly report's persistent-absence list: the September-born child (over January's
    # sessions), the Year 2 child, never the August-born child.
    with Session(engine) as s:
        report = weekly.build(
            s,
            school=s.get(School, school.id),
            policy=policy_for(s, school.id),
            cal=CAL,
            week_ending=date(2027, 1, 18),
        )
    names = {r["name"] for r in report["persistent"]}
    assert names == {"Sam September", "Yan Two"}
    sam_row = next(r for r in report["persistent"] if r["name"] == "Sam September")
    assert sam_row["absence_percent"] == 100.0


def test_younger_pupils_are_still_messaged_and_escalated(engine, trio):
    school, kids = trio
    ava = kids["august"]
    with Session(engine, expire_on_commit=False) as s:
        f.contact(s, s.get(School, school.id), s.get(Pupil, ava.id), first="Mum", mobile="+447700900555")
        s.commit()
    monday = date(2027, 1, 11)
    for n, day in enumerate((monday, date(2027, 1, 12), date(2027, 1, 13))):
        with Session(engine, expire_on_commit=False) as s:
            f.mark(s, s.get(Pupil, ava.id), day, "AM", "N")
            summary = register_close(
                s,
                school=s.get(School, school.id),
                session_name="AM",
                settings=f.settings(),
                now=f.at(day, "09:15"),
            )
            s.commit()
        if n == 0:
            assert summary["cases_opened"] == 1 and summary["messages_queued"] == 1
    with Session(engine, expire_on_commit=False) as s:
        escalation_sweep(
            s, school=s.get(School, school.id), now=f.at(date(2027, 1, 13), "14:00"), settings=f.settings()
        )
        s.commit()
        assert [m.to_address for m in s.exec(select(OutboxMessage)).all()] == ["+447700900555"]
    assert _alerts(engine, ava) == ["escalation"]


def test_date_of_birth_from_the_pupils_file_day_first_or_iso(session, tmp_path):
    school = f.school(session, urn="100009")
    path = tmp_path / "pupils.csv"
    path.write_text(
        "mis_id,first_name,last_name,year_group,DOB\n"
        "P1,Ava,August,R,20/08/2022\n"
        "P2,Sam,September,R,2021-09-10\n",
        encoding="utf-8",
    )
    result = import_file(
        session,
        kind="pupils",
        path_or_stream=str(path),
        school_urn="100009",
        now=f.at(date(2026, 9, 1), "12:00"),
    )
    assert not result.errors, result.errors
    pupils = session.exec(select(Pupil).where(Pupil.school_id == school.id)).all()
    born = {p.mis_id: p.date_of_birth for p in pupils}
    assert born == {"P1": AUGUST_BORN, "P2": SEPTEMBER_BORN}
