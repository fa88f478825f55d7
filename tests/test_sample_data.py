"""The sample trust: the committed CSVs are the generator's output, realistic, and load cleanly;
``simulate_register`` is deterministic and never overwrites a mark."""

import csv
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time

import pytest
from click.testing import CliRunner
from sqlalchemy import func
from sqlmodel import Session, select

from bot.attendance import tally
from bot.errors import UserError
from bot.phones import is_fictional, normalise_phone
from bot.typical_calendar import calendar_2026_27
from storage.models import CalendarEntry, Contact, Mark, Pupil, PupilContact, School, SchoolPolicy, Staff
from tests import factories
from tryout.sample.generate import DATA_DIR, generate
from tryout.sample.register import simulate_register

URNS = ("100001", "100002")
LANGUAGES = {"pl", "ro", "ur", "ar", "es", "pt", "lt"}


def rows(relative: str) -> list[dict]:
    with (DATA_DIR / relative).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_committed_files_are_the_generators_output(tmp_path):
    counts = generate(tmp_path)
    committed = sorted(p.relative_to(DATA_DIR) for p in DATA_DIR.rglob("*.csv"))
    assert committed == sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.csv"))
    for relative in committed:
        assert (tmp_path / relative).read_bytes() == (DATA_DIR / relative).read_bytes(), relative
    assert counts["100001/pupils.csv"] == 210 and counts["100002/pupils.csv"] == 250


def test_schools_and_people_look_like_a_real_trust():
    schools = {r["urn"]: r for r in rows("schools.csv")}
    assert schools["100001"]["name"] == "Oakfield Primary School" and schools["100001"]["am_close"] == "09:00"
    assert schools["100001"]["priority_year_groups"] == "6"
    assert schools["100002"]["name"] == "Riverside Academy" and schools["100002"]["am_close"] == "09:15"
    assert schools["100001"]["slack_pastoral_channel"] == "#oakfield-pastoral"

    oak, riv = rows("100001/pupils.csv"), rows("100002/pupils.csv")
    assert Counter(p["year_group"] for p in oak) == {str(y): 30 for y in range(7)}
    assert {p["class_name"] for p in oak} >= {"R Willow", "3 Maple", "6 Oak"}
    assert Counter(p["year_group"] for p in riv) == {str(y): 50 for y in range(7, 12)}
    assert "9RW" in {p["class_name"] for p in riv}
    for pupils in (oak, riv):
        fsm = sum(p["fsm"] == "Y" for p in pupils) / len(pupils)
        assert 0.12 <= fsm <= 0.28
        for flag in ("social_worker", "child_protection", "looked_after", "send_ehcp"):
            assert 1 <= sum(p[flag] == "Y" for p in pupils) <= len(pupils) // 10, flag
        assert all(p["social_worker_email"] for p in pupils if p["social_worker"] == "Y")
    assert sum(p["yot_worker"] == "Y" for p in riv) == 1

    mobiles: set[str] = set()
    for urn in URNS:
        links = rows(f"{urn}/contacts.csv")
        per_pupil = defaultdict(list)
        for link in links:
            per_pupil[link["pupil_mis_id"]].append(int(link["priority"]))
        assert all(sorted(p) == list(range(1, len(p) + 1)) and 1 <= len(p) <= 3 for p in per_pupil.values())
        contacts = {link["mis_id"]: link for link in links}
        assert len(contacts) < len(links)  # siblings share contacts
        languages = Counter(c["language"] for c in contacts.values())
        assert languages["en"] > len(contacts) * 0.6
        assert len(LANGUAGES & set(languages)) >= 6
        numbers = [normalise_phone(c["mobile"]) for c in contacts.values() if c["mobile"]]
        assert all(n and is_fictional(n) for n in numbers)
        assert not mobiles & set(numbers)  # no number shared between the schools
        mobiles |= set(numbers)
        assert sum(not c["mobile"] for c in contacts.values()) >= 3  # some email only
        assert all(c["mobile"] or c["email"] for c in contacts.values())
        assert sum(c["sms_opt_out"] == "Y" for c in contacts.values()) == 2
    assert len(mobiles) == len(set(mobiles))

    for urn in URNS:
        staff = rows(f"{urn}/staff.csv")
        assert Counter(s["role"] for s in staff) == {
            "headteacher": 1,
            "dsl": 1,
            "attendance_officer": 1,
            "pastoral": 2,
            "teacher": 3,
            "admin": 1,
        }
        domain = "oakfield.example" if urn == "100001" else "riverside.example"
        assert all(s["email"].endswith("@" + domain) and s["slack_user_id"].startswith("U0") for s in staff)


def test_registers_are_realistic():
    calendar = calendar_2026_27()
    expected_days = calendar.school_days_between(date(2026, 9, 3), date(2026, 11, 20))
    for urn in URNS:
        marks = rows(f"{urn}/marks.csv")
        days = sorted({date.fromisoformat(m["date"]) for m in marks})
        assert days == expected_days and days[0] == date(2026, 9, 3) and days[-1] == date(2026, 11, 20)
        codes = Counter(m["code"] for m in marks)
        assert "N" not in codes  # every N in the past has been resolved
        assert {"/", "\\", "L", "I", "M", "G", "O", "U", "R"} <= set(codes)
        assert all(m["minutes_late"] for m in marks if m["code"] == "L")
        assert {m["date"] for m in marks if m["code"] == "R"} == {"2026-11-09"}
        overall = tally(m["code"] for m in marks).percent
        assert 94.0 <= overall <= 96.0, overall
        by_pupil = defaultdict(list)
        for m in marks:
            by_pupil[m["pupil_mis_id"]].append(m)
        tallies = [tally(m["code"] for m in ms) for ms in by_pupil.values()]
        assert 3 <= sum(t.persistent for t in tallies) <= len(tallies) // 5
        assert 1 <= sum(t.severe for t in tallies) <= 2
        for ms in by_pupil.values():  # an illness runs over whole days, 1 to 3 at most in a row
            ill_days = sorted({date.fromisoformat(m["date"]) for m in ms if m["code"] == "I"})
            run = 1
            for a, b in zip(ill_days, ill_days[1:], strict=False):
                run = run + 1 if calendar.next_school_day(a) == b else 1
                assert run <= 6


def _counts(session: Session) -> dict[str, int]:
    return {
        model.__name__: session.exec(select(func.count()).select_from(model)).one()
        for model in (School, SchoolPolicy, CalendarEntry, Staff, Pupil, Contact, PupilContact, Mark)
    }


def test_demo_data_loads_the_trust_once(engine, settings_env):
    from bot.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["demo-data"])
    assert result.exit_code == 0, result.output
    assert "pupils: 210 created, 0 updated" in result.stdout
    assert "marks: 25500 created, 0 updated" in result.stdout
    with Session(engine) as s:
        counts = _counts(s)
        contacts = {(urn, r["mis_id"]) for urn in URNS for r in rows(f"{urn}/contacts.csv")}
        links = sum(len(rows(f"{urn}/contacts.csv")) for urn in URNS)
        assert counts == {
            "School": 2,
            "SchoolPolicy": 2,
            "CalendarEntry": 44,
            "Staff": 18,
            "Pupil": 460,
            "Contact": len(contacts),
            "PupilContact": links,
            "Mark": 46920,
        }
        oak = s.exec(select(School).where(School.urn == "100001")).one()
        policy = s.get(SchoolPolicy, oak.id)
        assert policy.am_close == time(9, 0) and policy.priority_year_groups == [6]
        assert s.exec(select(func.count()).select_from(Mark).where(Mark.code == "N")).one() == 0
        assert all(m.startswith("+447700900") for m in s.exec(select(Contact.mobile)).all() if m)

    refused = runner.invoke(main, ["demo-data"])
    assert refused.exit_code != 0 and "--force" in refused.output
    if engine.dialect.name == "sqlite":  # the re-import path is the same SQL on both; once is enough
        forced = runner.invoke(main, ["demo-data", "--force"])
        assert forced.exit_code == 0, forced.output
        assert "marks: 0 created, 0 updated, 25500 unchanged" in forced.stdout
        with Session(engine) as s:
            assert _counts(s) == counts


def test_demo_data_needs_tables(tmp_path, monkeypatch):
    from bot.cli import main
    from bot.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["demo-data"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0 and "run attendance-bot db upgrade first" in result.output


# --------------------------------------------------------------------------------------------------
# simulate_register
# --------------------------------------------------------------------------------------------------

NOW = datetime(2026, 9, 8, 8, 20, tzinfo=UTC)  # when the MIS stand-in writes the registers
DAY = date(2026, 9, 8)


@pytest.fixture
def class_of_80(session):
    school = factories.school(session, urn="900001")
    pupils = [factories.pupil(session, school, first=f"Pupil{i}") for i in range(80)]
    session.commit()
    return school, pupils


def _codes(session, school_id, session_name="AM") -> dict[int, str]:
    marks = session.exec(
        select(Mark).where(Mark.school_id == school_id, Mark.date == DAY, Mark.session == session_name)
    ).all()
    return {m.pupil_id: m.code for m in marks}


def test_simulate_register_is_deterministic(session, class_of_80):
    school, pupils = class_of_80
    first = simulate_register(
        session, school_id=school.id, day=DAY, session_name="AM", seed=3, n_rate=0.1, now=NOW
    )
    codes = _codes(session, school.id)
    assert first["written"] == 80 and first["kept"] == 0
    assert sum(first["codes"].values()) == 80 and set(first["n_pupil_ids"]) == {
        p for p, c in codes.items() if c == "N"
    }
    assert 1 <= first["codes"].get("N", 0) <= 20
    assert first["codes"]["/"] > 50
    session.rollback()

    again = simulate_register(
        session, school_id=school.id, day=DAY, session_name="AM", seed=3, n_rate=0.1, now=NOW
    )
    assert again == first and _codes(session, school.id) == codes
    session.rollback()
    other = simulate_register(
        session, school_id=school.id, day=DAY, session_name="AM", seed=4, n_rate=0.1, now=NOW
    )
    assert _codes(session, school.id) != codes and other["written"] == 80
    assert all(m.source == "mis" for m in session.exec(select(Mark)).all())


def test_simulate_register_keeps_existing_marks_and_follows_the_morning(session, class_of_80):
    school, pupils = class_of_80
    factories.mark(session, pupils[0], DAY, "AM", "I")
    factories.mark(session, pupils[1], DAY, "PM", "M")
    session.commit()
    am = simulate_register(
        session, school_id=school.id, day=DAY, session_name="AM", seed=1, n_rate=0.15, now=NOW
    )
    assert am["kept"] == 1 and am["written"] == 79
    am_codes = _codes(session, school.id)
    assert am_codes[pupils[0].id] == "I"

    pm = simulate_register(
        session, school_id=school.id, day=DAY, session_name="PM", seed=1, n_rate=0.15, now=NOW
    )
    assert pm["kept"] == 1 and pm["written"] == 79
    pm_codes = _codes(session, school.id, "PM")
    assert pm_codes[pupils[1].id] == "M"  # already there: untouched
    assert pm_codes[pupils[0].id] == "I"  # off ill for the day
    n_am = [p for p, c in am_codes.items() if c == "N" and p != pupils[1].id]  # pupils[1] kept its M
    # The afternoon follows the morning: a morning N is N again or back in school, never another
    # code, and some stay away. (The draws depend on database ids, which differ from run to run, so
    # the share that stays is not pinned here; tryout.sample.register draws it at N_STAYS_FOR_PM.)
    assert n_am and {pm_codes[p] for p in n_am} <= {"N", "\\"}
    assert any(pm_codes[p] == "N" for p in n_am)
    assert (
        simulate_register(session, school_id=school.id, day=DAY, session_name="PM", seed=9, now=NOW)[
            "written"
        ]
        == 0
    )
    assert _codes(session, school.id, "PM") == pm_codes
    with pytest.raises(UserError, match="weekend"):
        simulate_register(session, school_id=school.id, day=date(2026, 9, 12), session_name="AM", now=NOW)
