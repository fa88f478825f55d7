"""The MIS link in the clock's timetable and on the command line (against the Wonde stand-in)."""

from datetime import UTC, date, datetime, time

from click.testing import CliRunner
from sqlmodel import Session, select

from bot.settings import get_settings
from scheduler.schedule import interval_jobs, school_slots
from storage.models import Pupil
from tests import factories as f
from tests.peers.fixtures import wonde  # noqa: F401
from tests.peers.wonde_api import populate


def test_the_timetable_checks_registers_after_close_and_syncs_linked_schools_nightly(session):
    plain = f.school(session)
    linked = f.school(session, wonde_id="W7")
    session.commit()
    slots = {s.id: s for s in school_slots(session, plain)}
    assert slots[f"registers-missing:{plain.id}:AM"].at == time(9, 30)  # close 09:15 + 15
    assert slots[f"registers-missing:{plain.id}:PM"].opts == {"session_name": "PM"}
    assert not any(s.job == "mis-sync" for s in slots.values())
    nightly = [s for s in school_slots(session, linked) if s.job == "mis-sync"]
    assert len(nightly) == 1 and nightly[0].days == "mon-sun"
    assert time(2, 30) <= nightly[0].at < time(3, 30)  # spread over an hour, clear of 01:00-02:00
    assert interval_jobs(f.settings()) == {"mis-poll": 60, "mis-writeback": 30}


def test_the_poll_window_opens_before_close_and_shuts_an_hour_after(session):
    from bot.mis.marks import in_window

    school = f.school(session)
    session.commit()
    settings = f.settings()

    def at(hh_mm, day=date(2026, 11, 23)):
        return in_window(session, school=school, settings=settings, now=f.at(day, hh_mm))

    assert [at("09:09"), at("09:10"), at("10:15"), at("10:16"), at("13:40"), at("14:45")] == [
        False,
        True,
        True,
        False,
        True,
        True,
    ]
    assert not at("09:30", date(2026, 11, 21))  # a Saturday


def test_the_mis_commands_sync_read_and_report(engine, wonde, monkeypatch, db_url):
    populate(wonde, "W1", pupils=4)
    with Session(engine) as s:
        f.school(s, urn="100001", wonde_id="W1", mis_writeback=True)
        f.school(s, urn="100002")
        s.commit()
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("WONDE_API_BASE_URL", wonde.base_url)
    monkeypatch.setenv("WONDE_API_TOKEN", wonde.token)
    get_settings.cache_clear()
    from bot.cli import main

    runner = CliRunner()
    try:
        synced = runner.invoke(main, ["mis", "sync", "--school", "100001", "--now", "2026-11-23T02:30"])
        assert synced.exit_code == 0, synced.output
        assert "pupils new: 4" in synced.output and "sync: full" in synced.output
        wonde.now = datetime(2026, 11, 23, 9, 5, tzinfo=UTC)
        wonde.take_register("W1", date(2026, 11, 23), "AM", {"W1S00000": "N", "W1S00001": "/"})
        read = runner.invoke(main, ["mis", "read", "--now", "2026-11-23T09:10"])
        assert read.exit_code == 0 and "marks new: 2" in read.output, read.output
        status = runner.invoke(main, ["mis", "status"])
        assert "100001" in status.output and "write-back on" in status.output
        assert "register read: Mon 23 Nov 09:10" in status.output
        unlinked = runner.invoke(main, ["mis", "sync", "--school", "100002"])
        assert unlinked.exit_code != 0 and "not linked to Wonde" in unlinked.output
        check = runner.invoke(
            main,
            [
                "jobs",
                "run",
                "registers-missing",
                "--school",
                "100001",
                "--session",
                "am",
                "--now",
                "2026-11-23T09:30",
            ],
        )
        assert check.exit_code == 0 and "classes missing" in check.output, check.output
        wonde.mode = "down"
        failed = runner.invoke(main, ["mis", "read", "--school", "100001", "--now", "2026-11-23T09:31"])
        assert failed.exit_code == 1 and "not read: Wonde did not answer" in failed.output
    finally:
        get_settings.cache_clear()
    with Session(engine) as s:
        assert len(s.exec(select(Pupil)).all()) == 4
