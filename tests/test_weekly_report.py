"""The weekly report on SQLite and PostgreSQL: numbers, lists, chart, HTML, posting once; the CLI."""

import json
from datetime import date, time

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from bot import clock
from bot.jobs import JOBS, run_for_school
from bot.settings import load_settings
from bot.typical_calendar import calendar_2026_27
from storage.models import Alert, Mark, School
from tests import factories

CAL = calendar_2026_27()
FRIDAY = date(2026, 10, 16)


def fill(session, pupil, start, end, am="/", pm="\\"):
    for day in CAL.school_days_between(start, end):
        factories.mark(session, pupil, day, "AM", am)
        factories.mark(session, pupil, day, "PM", pm)


@pytest.fixture
def school(session):
    row = factories.school(session, urn="123456", name="Oakfield <Primary>")
    kids = [
        factories.pupil(session, row, first=f"Four{i}", last="Able", year_group=4, class_name="4B")
        for i in range(3)
    ]
    kids += [
        factories.pupil(session, row, first="Five", last="Good", year_group=5, class_name="5A"),
        factories.pupil(session, row, first="Rarely", last="Here", year_group=5, class_name="5A"),
    ]
    for p in kids:
        fill(session, p, date(2026, 9, 3), FRIDAY)
    # "Rarely Here" misses every Monday and Tuesday: 12 of 30 days → 60%, persistent not severe.
    session.commit()
    for m in session.exec(select(Mark).where(Mark.pupil_id == kids[-1].id)).all():
        if m.date.weekday() in (0, 1):
            m.code = "O"
            session.add(m)
    session.commit()
    return row


def run(engine, school_id, tmp_path, day=FRIDAY, at=time(14, 0)):
    """The statutory sweep, then the weekly-report job, as the clock runs them on a Friday."""
    now = clock.at_local(day, at)
    settings = load_settings(reports_dir=str(tmp_path))
    with Session(engine) as s:
        school = s.get(School, school_id)
    run_for_school(JOBS["statutory-sweep"], engine, school=school, now=now, settings=settings)
    return run_for_school(JOBS["weekly-report"], engine, school=school, now=now, settings=settings)


def test_weekly_report_numbers_lists_chart_and_posting_once(engine, school, tmp_path):
    result = run(engine, school.id, tmp_path)
    assert result["posted"] == 1 and result.details["week_ending"] == "2026-10-16"
    again = run(engine, school.id, tmp_path, at=time(15, 0))
    assert again["posted"] == 0
    with Session(engine) as s:
        [alert] = s.exec(select(Alert).where(Alert.kind == "weekly_report")).all()
    assert alert.audience == "attendance"
    summary = alert.data["summary"]
    assert summary["cup"]["name"] == "4B" and summary["cup"]["week_percent"] == 100.0
    # 5A this week: Five 10/10, Rarely 6/10 → 80%. Whole school: 46/50 = 92% this week.
    assert summary["whole"]["week_percent"] == 92.0
    assert summary["persistent"] == 1 and summary["severe"] == 0 and summary["lowest"] == 1
    assert summary["tier_changes"] == 5  # first sweep sets every pupil's tier
    png = tmp_path / "weekly-123456-2026-10-16.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (tmp_path / "weekly-123456-2026-10-16.html").read_text()
    assert "Oakfield &lt;Primary&gt;" in html  # escaped
    assert "Class cup: <strong>4B</strong>" in html
    assert "Rarely Here" in html and "60.0%" in html
    assert 'src="weekly-123456-2026-10-16.png"' in html
    assert alert.data["html_path"].endswith("weekly-123456-2026-10-16.html")


def test_report_cli_for_a_past_week(engine, school, tmp_path, settings_env):
    from bot.cli import main

    out = tmp_path / "out"
    result = CliRunner().invoke(
        main,
        [
            "report",
            "weekly",
            "--school",
            "123456",
            "--week-ending",
            "2026-10-07",
            "--out",
            str(out),
            "--no-post",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["week_ending"] == "2026-10-09" and data["posted"] is False
    assert (out / "weekly-123456-2026-10-09.html").exists()
    result = CliRunner().invoke(main, ["report", "weekly", "--school", "999999"])
    assert result.exit_code != 0 and "No school with URN 999999" in result.output


def test_report_by_hand_mid_week_posts_nothing_and_says_it_is_partial(engine, school, tmp_path, settings_env):
    """Issue 12, item 7: ``report weekly`` by hand does not use up the week's channel post, and a
    partial week says how many sessions it covers instead of "(5 school days)"."""
    from bot.cli import main

    wednesday = "2026-10-14T10:00"  # the AM register (09:15) has closed, the PM one has not
    result = CliRunner().invoke(
        main, ["report", "weekly", "--school", "123456", "--now", wednesday, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output.strip().splitlines()[-1])
    assert data["posted"] is False and "alert_id" not in data
    html = (tmp_path / "weekly-123456-2026-10-16.html").read_text()
    assert "partial week: 5 of 10 sessions, to Wed 14 Oct AM" in " ".join(html.split())
    assert "5 school days" not in html
    with Session(engine) as s:
        assert s.exec(select(Alert).where(Alert.kind == "weekly_report")).all() == []
    # The clock's Friday job still posts the week, once, as a full week.
    result = run(engine, school.id, tmp_path)
    assert result["posted"] == 1
    with Session(engine) as s:
        [alert] = s.exec(select(Alert).where(Alert.kind == "weekly_report")).all()
    assert "partial" not in alert.body
    html = (tmp_path / "weekly-123456-2026-10-16.html").read_text()
    assert "(5 school days)" in " ".join(html.split())
    # By hand with --post after the clock posted: nothing new is posted.
    again = CliRunner().invoke(
        main,
        [
            "report",
            "weekly",
            "--school",
            "123456",
            "--post",
            "--now",
            "2026-10-16T16:00",
            "--out",
            str(tmp_path),
        ],
    )
    assert json.loads(again.output.strip().splitlines()[-1])["posted"] is False
