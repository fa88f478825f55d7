"""``attendance-bot policy show|set|import|history``: a school's policy as a file (issue 12, policy).

Round trip, every setting taking effect where the bot reads it (the clock's timetable, the tiers,
the ladders a new case snapshots), bad input refused whole with every problem named, and an audit
row for every change. On SQLite and PostgreSQL, through the real CLI.
"""

from datetime import date, time

from click.testing import CliRunner
from sqlmodel import Session, select

from bot import clock
from bot.cli import main
from bot.jobs import JOBS, run_for_school
from bot.policy import policy_for
from storage.models import PolicyChange, Pupil, School, SchoolPolicy
from tests import factories as f


def cli(*args):
    return CliRunner().invoke(main, list(args))


def _school(engine):
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, urn="100001", name="Oakfield Primary", dsl_email="dsl@oakfield.example")
        s.commit()
        return school


def _policy(engine, school_id) -> SchoolPolicy:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(SchoolPolicy, school_id)


def test_show_then_import_changes_nothing_and_every_setting_is_documented(engine, settings_env, tmp_path):
    _school(engine)
    shown = cli("policy", "show", "--school", "100001")
    assert shown.exit_code == 0, shown.output
    for key in (
        "am_close",
        "pm_close",
        "chase_times",
        "contact_deadline_minutes",
        "email_mode",
        "priority_year_groups",
        "escalation_ladder",
        "vulnerable_ladder",
        "realert_after_minutes",
        "dsl_email_after_minutes",
        "urgent_realert_minutes",
        "n_to_o_school_days",
        "register_check_after_minutes",
        "thresholds",
        "tiers",
        "recode_roles",
        "dsl_mobile",
    ):
        assert f"\n{key}:" in shown.output, key
    path = tmp_path / "policy.yaml"
    path.write_text(shown.output, encoding="utf-8")
    again = cli("policy", "import", str(path), "--school", "100001", "--by", "Helen Carter")
    assert again.exit_code == 0 and "nothing changed" in again.output
    with Session(engine) as s:
        assert s.exec(select(PolicyChange)).all() == []


def test_danesgate_tiers_and_times_from_a_file_take_effect_and_are_audited(engine, settings_env, tmp_path):
    school = _school(engine)
    path = tmp_path / "danesgate.yaml"
    path.write_text(
        "# Danesgate's tiers and register times (unquoted times are times, not numbers)\n"
        "am_close: 9:20\n"
        "pm_close: 13:15\n"
        "chase_times: [10:30, 14:00]\n"
        "urgent_realert_minutes: 3\n"
        "dsl_mobile: 07700 900123\n"
        "tiers:\n"
        "  - {name: tier 1, min_percent: 90}\n"
        "  - {name: tier 2, min_percent: 70}\n"
        "  - {name: tier 3, min_percent: 20}\n"
        "  - {name: tier 4, min_percent: 0}\n"
        "vulnerable_ladder:\n"
        "  - {day: 1, kind: tell_key_worker, title: Tell the key worker, audience: dsl}\n"
        "  - {day: 2, kind: mash_referral, title: MASH referral, audience: dsl, severity: urgent}\n",
        encoding="utf-8",
    )
    result = cli(
        "policy", "import", str(path), "--school", "100001", "--by", "Kim Mower", "--now", "2026-11-23T16:00"
    )
    assert result.exit_code == 0, result.output
    policy = _policy(engine, school.id)
    assert (policy.am_close, policy.pm_close, policy.chase_times) == (
        time(9, 20),
        time(13, 15),
        ["10:30", "14:00"],
    )
    assert policy.urgent_realert_minutes == 3 and policy.vulnerable_ladder[0]["kind"] == "tell_key_worker"
    with Session(engine) as s:
        assert s.get(School, school.id).dsl_mobile == "+447700900123"
        [change] = s.exec(select(PolicyChange)).all()
        assert change.changed_by == "Kim Mower" and change.source == "import"
        assert change.at == clock.at_local(date(2026, 11, 23), time(16, 0))
        assert change.changes["am_close"] == {"from": "09:15", "to": "09:20"}
        # The clock's timetable follows the policy.
        from scheduler.schedule import school_slots

        slots = {(x.job, x.label): x.at for x in school_slots(s, s.get(School, school.id))}
        assert slots[("register-close", "AM")] == time(9, 20) and ("chase", "10:30") in slots
        # A pupil at 75% is in Danesgate's tier 2 after the statutory sweep.
        pupil = f.pupil(s, s.get(School, school.id), first="Tia")
        pupil_id = pupil.id
        from bot.typical_calendar import calendar_2026_27

        days = calendar_2026_27().school_days_between(date(2026, 11, 2), date(2026, 11, 13))
        for n, day in enumerate(days):  # 15 of 20 sessions: 75%
            f.mark(s, pupil, day, "AM", "/" if n % 2 else "O")
            f.mark(s, pupil, day, "PM", "\\")
        s.commit()
        row = s.get(School, school.id)
    friday = clock.at_local(date(2026, 11, 13), time(15))
    run_for_school(JOBS["statutory-sweep"], engine, school=row, now=friday, settings=f.settings())
    with Session(engine) as s:
        assert s.get(Pupil, pupil_id).tier == "tier 2"
    history = cli("policy", "history", "--school", "100001")
    assert "Kim Mower (import)" in history.output and "tiers" in history.output


def test_bad_input_is_refused_whole_with_every_problem_named(engine, settings_env, tmp_path):
    school = _school(engine)
    before = _policy(engine, school.id).model_dump()
    path = tmp_path / "bad.yaml"
    path.write_text(
        "am_close: 14:00\n"
        "chase_times: [8:00, 25:00]\n"
        "escalation_ladder:\n"
        "  - {day: 3, kind: Home Visit, title: ''}\n"
        "  - {day: 3, kind: visit, title: Visit, audience: everyone, text: 'day {days}'}\n"
        "tiers: [{name: a, min_percent: 90}]\n"
        "thresholds: {penalty_sessions: -1, foo: 2}\n"
        "recode_roles: [janitor]\n"
        "dsl_mobile: 0113 496 0123\n"
        "colour: blue\n",
        encoding="utf-8",
    )
    result = cli("policy", "import", str(path), "--school", "100001", "--by", "Helen Carter")
    assert result.exit_code == 1
    for problem in (
        "'25:00' is not a time",
        "kind must be a short name",
        "a title is required",
        "audience (who is told)",
        "no other {...} placeholder",
        "same school day",
        "needs at least two tiers",
        "penalty_sessions: -1 is out of range",
        "unknown threshold 'foo'",
        "not janitor",
        "dsl_mobile: '0113 496 0123' is not a mobile",
        "unknown setting 'colour'",
        "am_close (14:00) must be before pm_close",
    ):
        assert problem in result.output, problem
    assert _policy(engine, school.id).model_dump() == before
    with Session(engine) as s:
        assert s.exec(select(PolicyChange)).all() == []
        assert s.get(School, school.id).dsl_mobile is None

    assert (
        "not valid YAML (line 1"
        in cli("policy", "set", "--school", "100001", "--by", "x", "tiers", "[unclosed").output
    )
    assert cli("policy", "set", "--school", "100001", "--by", "x", "n_to_o_school_days", "7").exit_code == 1
    assert "No school with URN 999999" in cli("policy", "show", "--school", "999999").output


def test_set_one_setting_and_a_threshold(engine, settings_env):
    school = _school(engine)
    assert (
        cli(
            "policy", "set", "--school", "100001", "--by", "Jo Patel", "thresholds.penalty_sessions", "8"
        ).exit_code
        == 0
    )
    assert (
        cli(
            "policy", "set", "--school", "100001", "--by", "Jo Patel", "realert_after_minutes", "60"
        ).exit_code
        == 0
    )
    with Session(engine) as s:
        policy = policy_for(s, school.id)
        assert policy.thresholds["penalty_sessions"] == 8 and policy.realert_after_minutes == 60
        changes = s.exec(select(PolicyChange).order_by(PolicyChange.id)).all()
    assert [list(c.changes) for c in changes] == [["thresholds"], ["realert_after_minutes"]]
    assert all(c.changed_by == "Jo Patel" and c.source == "set" for c in changes)
