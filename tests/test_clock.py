"""The clock: one active clock, each slot run once, missed slots caught up, DST-correct triggers."""

from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta

from freezegun import freeze_time
from sqlalchemy import text
from sqlmodel import Session, select

from bot import shutdown
from bot.alerts.deliver import deliver_pending
from bot.jobs import run_job
from bot.settings import load_settings
from handlers.health import problems as health_problems
from scheduler import lease
from scheduler.late import alert_late
from scheduler.runs import backoff, catch_up, missed_fire_times, run_key, run_slot
from scheduler.schedule import Slot, school_slots
from storage.models import Alert, JobRun, OutboxMessage
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
    slot = Slot(
        "register-close", school.id, "AM", datetime(2026, 1, 1, 9, 15).time(), opts={"session_name": "AM"}
    )
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
    times = missed_fire_times(
        slot, since=datetime(2026, 10, 22, 0, 0, tzinfo=UTC), until=datetime(2026, 10, 28, 0, 0, tzinfo=UTC)
    )
    # Thu 22 and Fri 23 Oct in BST (08:15 UTC); Mon 26 and Tue 27 in GMT (09:15 UTC).
    assert [t.astimezone(UTC).strftime("%a %H:%M") for t in times] == [
        "Thu 08:15",
        "Fri 08:15",
        "Mon 09:15",
        "Tue 09:15",
    ]


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
    slot = Slot(
        "register-close", school.id, "AM", datetime(2026, 1, 1, 9, 15).time(), opts={"session_name": "AM"}
    )
    fire = datetime(2026, 11, 23, 9, 15, tzinfo=UTC)

    with Session(engine) as s:  # the first clock claimed the slot and died before finishing
        s.add(
            JobRun(
                job_key=run_key(slot, fire),
                school_id=school.id,
                job=slot.job,
                slot=fire,
                started_at=fire,
                status="running",
            )
        )
        s.commit()
    # it may still be working
    assert run_slot(engine, settings, slot, fire, now=fire + timedelta(minutes=5)) is None
    assert catch_up(engine, settings, [slot], now=fire + timedelta(minutes=30), grace=timedelta(hours=1)) == 1
    with Session(engine) as s:
        assert s.exec(select(JobRun)).one().status == "done"
        assert len(s.exec(select(OutboxMessage)).all()) == 1


def test_a_late_firing_claims_the_slot_it_was_due_for(engine):
    """APScheduler may fire a minute late; the run is keyed by 09:15, so catch-up won't repeat it."""
    from scheduler.clock import Clock

    day = date(2026, 11, 23)
    school = _school_with_absence(engine, day)
    settings = load_settings(database_url="sqlite://")
    slot = Slot(
        "register-close", school.id, "AM", datetime(2026, 1, 1, 9, 15).time(), opts={"session_name": "AM"}
    )
    clock = Clock(engine, settings)
    clock.leader = True
    late = datetime(2026, 11, 23, 9, 16, 40, tzinfo=UTC)
    with freeze_time(late):
        clock._fire_slot(slot)
    with Session(engine) as s:
        run = s.exec(select(JobRun)).one()
        assert run.slot == datetime(2026, 11, 23, 9, 15, tzinfo=UTC) and run.status == "done"
    assert catch_up(engine, settings, [slot], now=late, grace=timedelta(hours=1)) == 0


# --------------------------------------------------------------------------------------------------
# Catch-up, retries and the operators' alert (issue 13, item 4)
# --------------------------------------------------------------------------------------------------

MON = date(2026, 11, 23)


def _am(school) -> Slot:
    return Slot("register-close", school.id, "AM", time(9, 15), opts={"session_name": "AM"})


@contextmanager
def failing_register_close(engine):
    """A real fault in the database: every insert of a case fails (as a full disk or a revoked grant
    would), until the block ends. The trigger outlives the test's rows, so it is always dropped."""
    pg = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        if pg:
            conn.execute(
                text(
                    "CREATE FUNCTION fail_cases() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER fail_cases BEFORE INSERT ON absencecase FOR EACH ROW "
                    "EXECUTE FUNCTION fail_cases()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER fail_cases BEFORE INSERT ON absencecase "
                    "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER fail_cases ON absencecase" if pg else "DROP TRIGGER fail_cases"))
            if pg:
                conn.execute(text("DROP FUNCTION fail_cases()"))


def _run(engine) -> JobRun:
    with Session(engine) as s:
        return s.exec(select(JobRun)).one()


def test_a_run_left_running_by_a_clock_without_the_lease_is_retried_at_once(engine):
    school = _school_with_absence(engine, MON)
    settings = load_settings(database_url="sqlite://")
    slot, fire = _am(school), f.at(MON, "09:15")
    assert lease.acquire(engine, "clock-a", now=fire)
    with Session(engine) as s:  # clock A claimed the slot, then was killed
        s.add(
            JobRun(
                job_key=run_key(slot, fire),
                school_id=school.id,
                job=slot.job,
                slot=fire,
                started_at=fire,
                status="running",
                holder="clock-a",
            )
        )
        s.commit()
    # While A's lease lasts, A may still be working: nobody else runs it.
    assert run_slot(engine, settings, slot, fire, now=fire + timedelta(seconds=10), holder="clock-b") is None
    # A's lease has run out (it is dead): the new leader runs the slot at once, not 15 minutes on.
    after = fire + lease.TTL + timedelta(seconds=1)
    assert lease.acquire(engine, "clock-b", now=after)
    assert catch_up(engine, settings, [slot], now=after, grace=timedelta(hours=1), holder="clock-b") == 1
    run = _run(engine)
    assert (run.status, run.holder, run.attempts) == ("done", "clock-b", 2)
    with Session(engine) as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1
    # B's own run, still going, is not B's to run twice.
    assert run_slot(engine, settings, slot, fire, now=after, holder="clock-b") is None


def test_a_failed_run_is_retried_with_backoff_while_within_its_grace(engine):
    school = _school_with_absence(engine, MON)
    settings = load_settings(database_url="sqlite://")
    slot, fire = _am(school), f.at(MON, "09:15")

    def tick(after: timedelta) -> int:
        return catch_up(engine, settings, [slot], now=fire + after, grace=timedelta(hours=1), holder="a")

    with failing_register_close(engine):
        assert tick(timedelta(0)) == 1
        run = _run(engine)
        assert (run.status, run.attempts, run.retry_at) == ("failed", 1, fire + timedelta(minutes=1))
        assert tick(timedelta(seconds=50)) == 0
        assert tick(timedelta(minutes=1)) == 1
        run = _run(engine)
        assert (run.status, run.attempts, run.retry_at) == ("failed", 2, fire + timedelta(minutes=3))
        assert tick(timedelta(minutes=2)) == 0
    # The fault is gone: the next try after the backoff completes the slot, once.
    assert tick(timedelta(minutes=3)) == 1
    assert tick(timedelta(minutes=20)) == 0
    run = _run(engine)
    assert (run.status, run.attempts, run.summary["cases_opened"]) == ("done", 3, 1)
    with Session(engine) as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1
    assert [backoff(settings, n).total_seconds() / 60 for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]


def test_a_late_register_close_is_reported_to_the_operators_once_and_closed_when_done(engine):
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, dsl_email="dsl@oakfield.example", attendance_lead_email="lead@oakfield.example")
        p = f.pupil(s, school)
        f.contact(s, school, p)
        f.mark(s, p, MON, "AM", "N")
        s.commit()
    settings = load_settings(database_url="sqlite://", ops_email="ops@trust.example")
    slot, fire = _am(school), f.at(MON, "09:15")
    with failing_register_close(engine):
        catch_up(engine, settings, [slot], now=fire, grace=timedelta(hours=1), holder="a")
        assert alert_late(engine, settings, [slot], now=fire + timedelta(minutes=19)) == 0
        assert alert_late(engine, settings, [slot], now=fire + timedelta(minutes=20)) == 1
        assert alert_late(engine, settings, [slot], now=fire + timedelta(minutes=40)) == 0  # once per slot
    with Session(engine) as s:
        [alert] = s.exec(select(Alert)).all()
        assert (alert.audience, alert.kind, alert.status) == ("ops", "slot_late", "open")
        assert alert.title == f"Register close AM at 09:15 has not completed for school {school.urn}"
        assert "failed after 1 tries" in alert.body
        _facts, found = health_problems(s, now=fire + timedelta(minutes=21))
        assert alert.title in found
    # Delivered to the operators only: no school address, no chat.
    deliver_pending(engine, settings=settings, now=fire + timedelta(minutes=21))
    with Session(engine) as s:
        mails = s.exec(select(OutboxMessage).where(OutboxMessage.channel == "email")).all()
        assert [m.to_address for m in mails] == ["ops@trust.example"]
        assert s.exec(select(Alert)).one().delivered_at is not None
    # The fault is fixed; the next catch-up runs the slot and the alert is closed (off /healthz).
    assert (
        catch_up(
            engine, settings, [slot], now=fire + timedelta(minutes=25), grace=timedelta(hours=1), holder="a"
        )
        == 1
    )
    with Session(engine) as s:
        assert s.exec(select(Alert)).one().status == "closed"
        _facts, found = health_problems(s, now=fire + timedelta(minutes=26))
        assert not any("Register close" in p for p in found)
    assert alert_late(engine, settings, [slot], now=fire + timedelta(minutes=45)) == 0


def test_a_register_close_on_a_non_school_day_is_not_reported(engine):
    school = _school_with_absence(engine, MON)
    settings = load_settings(database_url="sqlite://")
    saturday_slot = Slot(
        "register-close", school.id, "AM", time(9, 15), days="mon-sun", opts={"session_name": "AM"}
    )
    assert alert_late(engine, settings, [saturday_slot], now=f.at(date(2026, 11, 28), "10:00")) == 0
    assert alert_late(engine, settings, [saturday_slot], now=f.at(MON, "10:00")) == 1


def test_a_stopped_clock_marks_its_unfinished_run_interrupted_and_hands_over_at_once(engine):
    from scheduler.clock import Clock

    school = _school_with_absence(engine, MON)
    settings = load_settings(database_url="sqlite://", clock_stop_grace_seconds=0)
    slot, fire = _am(school), f.at(MON, "09:15")
    clock = Clock(engine, settings)
    try:
        with freeze_time(fire):
            clock.heartbeat()
            assert clock.leader
            with Session(engine) as s:  # its register close was still running when SIGTERM came
                s.add(
                    JobRun(
                        job_key=run_key(slot, fire),
                        school_id=school.id,
                        job=slot.job,
                        slot=fire,
                        started_at=fire,
                        status="running",
                        holder=clock.holder,
                    )
                )
                s.commit()
            assert clock.stop()
            assert shutdown.requested()
            assert _run(engine).status == "interrupted"
            assert lease.acquire(engine, "standby", now=fire + timedelta(seconds=1))  # no wait for the TTL
    finally:
        shutdown.clear()
    assert (
        catch_up(
            engine,
            settings,
            [slot],
            now=fire + timedelta(seconds=2),
            grace=timedelta(hours=1),
            holder="standby",
        )
        == 1
    )
    assert (_run(engine).status, _run(engine).holder) == ("done", "standby")
    with Session(engine) as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1


def test_nothing_new_starts_once_a_stop_is_requested(engine):
    school = _school_with_absence(engine, MON)
    settings = load_settings(database_url="sqlite://")
    shutdown.request()
    try:
        grace = timedelta(hours=1)
        assert catch_up(engine, settings, [_am(school)], now=f.at(MON, "09:20"), grace=grace) == 0
        assert run_job("register-close", engine, settings, now=f.at(MON, "09:15"), session_name="AM") == []
    finally:
        shutdown.clear()
    with Session(engine) as s:
        assert s.exec(select(JobRun)).all() == [] and s.exec(select(OutboxMessage)).all() == []
