"""The clock: one active clock, each slot run once, missed slots caught up, DST-correct triggers."""

from datetime import UTC, date, datetime, timedelta

from freezegun import freeze_time
from sqlmodel import Session, select

from bot.settings import load_settings
from scheduler import lease
from scheduler.runs import catch_up, missed_fire_times, run_slot
from scheduler.schedule import Slot, school_slots
from storage.models import JobRun, OutboxMessage
from tests import factories as f


def _school_with_absence(engine, day):
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s)
        p = f.pupil(s, school)
        f.contact(s, school, p)
        f.mark(s, p, day, "AM", "N")
        s.commit()
        return school


def test_only_one_clock_holds_the_lease(engine):
    t0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert lease.acquire(engine, "clock-a", now=t0)
    assert not lease.acquire(engine, "clock-b", now=t0)
    assert lease.acquire(engine, "clock-a", now=t0)  # renewing
    t1 = t0 + timedelta(seconds=lease.TTL.total_seconds() + 1)
    assert lease.acquire(engine, "clock-b", now=t1)  # a dead clock's lease expires
    assert not lease.acquire(engine, "clock-a", now=t1)
    lease.release(engine, "clock-b", now=t1)  # a clean stop hands over at once
    assert lease.acquire(engine, "clock-a", now=t1 + timedelta(seconds=1))


def test_a_slot_runs_once_even_if_fired_twice(engine):
    day = date(2026, 11, 23)
    school = _school_with_absence(engine, day)
    slot = Slot("register-close", school.id, "AM", datetime(2026, 1, 1, 9, 15).time(),
                opts={"session_name": "AM"})
    fire = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
    settings = load_settings(database_url="sqlite://")
    first = run_slot(engine, settings, slot, fire, now=fire)
    second = run_slot(engine, settings, slot, fire, now=fire + timedelta(seconds=2))
    assert first["messages_queued"] == 1 and second is None
    with Session(engine) as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1
        run = s.exec(select(JobRun)).one()
        assert run.status == "done" and run.summary["cases_opened"] == 1


def test_clock_down_then_back_catches_up_within_grace(engine):
    day = date(2026, 11, 23)
    school = _school_with_absence(engine, day)
    settings = load_settings(database_url="sqlite://")
    with Session(engine) as s:
        slots = [sl for sl in school_slots(s, s.get(type(school), school.id)) if sl.job == "register-close"]
    back_at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # down at 09:15, back at 10:00
    ran = catch_up(engine, settings, slots, now=back_at, grace=timedelta(hours=1))
    assert ran == 1
    assert catch_up(engine, settings, slots, now=back_at, grace=timedelta(hours=1)) == 0
    with Session(engine) as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1
    # Beyond the grace period nothing is replayed.
    later = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert catch_up(engine, settings, slots, now=later, grace=timedelta(minutes=30)) == 0


def test_triggers_are_wall_clock_in_the_school_zone_across_dst():
    slot = Slot("register-close", 1, "AM", datetime(2026, 1, 1, 9, 15).time())
    times = missed_fire_times(slot, since=datetime(2026, 10, 22, 0, 0, tzinfo=UTC),
                              until=datetime(2026, 10, 28, 0, 0, tzinfo=UTC))
    # Thu 22 and Fri 23 Oct in BST (08:15 UTC); Mon 26 and Tue 27 in GMT (09:15 UTC).
    assert [t.astimezone(UTC).strftime("%a %H:%M") for t in times] == [
        "Thu 08:15", "Fri 08:15", "Mon 09:15", "Tue 09:15"]


def test_school_timetable_comes_from_policy(session):
    school = f.school(session)
    slots = school_slots(session, school)
    jobs = {(s.job, s.label) for s in slots}
    assert ("register-close", "AM") in jobs and ("register-close", "PM") in jobs
    assert ("chase", "11:00") in jobs and ("chase", "14:30") in jobs
    assert any(s.job == "statutory-sweep" for s in slots)
    assert [s.days for s in slots if s.job == "weekly-report"] == ["fri"]
    assert all(not (1 <= s.at.hour < 2) for s in slots)  # nothing in the DST changeover hour


def test_a_run_left_running_by_a_dead_clock_is_retried_by_catch_up(engine):
    day = date(2026, 11, 23)
    school = _school_with_absence(engine, day)
    settings = load_settings(database_url="sqlite://")
    slot = Slot("register-close", school.id, "AM", datetime(2026, 1, 1, 9, 15).time(),
                opts={"session_name": "AM"})
    fire = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)
    from scheduler.runs import run_key

    with Session(engine) as s:  # the first clock claimed the slot and died before finishing
        s.add(JobRun(job_key=run_key(slot, fire), school_id=school.id, job=slot.job, slot=fire,
                     started_at=fire, status="running"))
        s.commit()
    # it may still be working
    assert run_slot(engine, settings, slot, fire, now=fire + timedelta(minutes=5)) is None
    assert catch_up(engine, settings, [slot], now=fire + timedelta(minutes=30),
                    grace=timedelta(hours=1)) == 1
    with Session(engine) as s:
        assert s.exec(select(JobRun)).one().status == "done"
        assert len(s.exec(select(OutboxMessage)).all()) == 1


def test_a_late_firing_claims_the_slot_it_was_due_for(engine):
    """APScheduler may fire a minute late; the run is keyed by 09:15, so catch-up won't repeat it."""
    from scheduler.clock import Clock

    day = date(2026, 11, 23)
    school = _school_with_absence(engine, day)
    settings = load_settings(database_url="sqlite://")
    slot = Slot("register-close", school.id, "AM", datetime(2026, 1, 1, 9, 15).time(),
                opts={"session_name": "AM"})
    clock = Clock(engine, settings)
    clock.leader = True
    late = datetime(2026, 11, 23, 9, 16, 40, tzinfo=UTC)
    with freeze_time(late):
        clock._fire_slot(slot)
    with Session(engine) as s:
        run = s.exec(select(JobRun)).one()
        assert run.slot == datetime(2026, 11, 23, 9, 15, tzinfo=UTC) and run.status == "done"
    assert catch_up(engine, settings, [slot], now=late, grace=timedelta(hours=1)) == 0
