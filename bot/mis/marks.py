"""The live register: session marks read from Wonde as they are taken.

From a few minutes before each register close until an hour after (``MIS_POLL_BEFORE_MINUTES``,
``MIS_POLL_AFTER_MINUTES``), every ``MIS_POLL_INTERVAL_SECONDS`` the poll job reads the marks
changed since the last read (``updated_after``) for every linked school in that window; register
close, the chase and the "register not taken" check read them once more just before they act.

What a read changes follows the register's one rule (``bot.register.service.take_marks``), and then:

- every open case of a pupil whose mark changed or arrived is brought in line at once
  (``reconcile_case``: N -> trip code explains it, present today closes it), exactly as a CSV
  re-import is at the next send or chase;
- an N that appears after its register closed (a class whose register was taken late) opens its
  case and messages the family then, not before (register close for just those pupils).

The HTTP calls happen before the transaction opens; a failed read changes nothing, records the
failure (``connection.record_failure``) and is retried from the same cursor next time.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from bot import clock
from bot.calendar import load_calendar
from bot.firstday.reconcile import reconcile_case
from bot.firstday.service import register_close
from bot.mis import wire
from bot.mis.client import MisError, WondeClient
from bot.mis.connection import (
    client_for,
    linked,
    linked_schools,
    read_state,
    record_failure,
    record_success,
    state,
)
from bot.policy import policy_for
from bot.register.service import Incoming, Taken, take_marks
from bot.settings import Settings
from bot.summary import JobSummary
from storage.db import lock_school, session_scope
from storage.models import AbsenceCase, Pupil, School

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=5)  # each read re-reads the last minutes: clocks differ; re-reading is harmless
POLL_WORKERS = 4  # schools read at once, one school per worker (Wonde asks for politeness)


def read_marks(
    engine: Engine,
    *,
    school: School,
    settings: Settings,
    now: datetime,
    client: WondeClient | None = None,
    late_pass: bool = True,
    since: datetime | None = None,
) -> JobSummary:
    """Read the marks changed since the last read and take them, in one transaction.

    ``late_pass``: also act on N marks that appeared after their register closed (register close
    itself turns it off: it is about to act on every N). ``since`` overrides the cursor (a first
    read of older marks). Raises ``MisError`` when Wonde cannot be read (the failure is recorded).
    """
    link = read_state(engine, school.id)
    client = client or client_for(school, settings, retries=1)
    if since is None:
        since = link.marks_cursor - OVERLAP if link.marks_cursor else _start_of_day(school, now)
    try:
        table, marks = _fetch(client, school=school, codes=link.codes, since=since)
    except MisError as exc:
        record_failure(engine, school=school, error=exc, settings=settings, now=now)
        raise
    if link.synced_at is not None and {m.student_id for m in marks} - _known_students(engine, school):
        _sync_newcomers(engine, school=school, settings=settings, now=now, client=client)
    with session_scope(engine) as session:
        lock_school(session, school.id)  # it may open cases and queue messages, as register close does
        pupils = dict(
            session.exec(
                select(Pupil.wonde_id, Pupil.id).where(
                    Pupil.school_id == school.id, Pupil.wonde_id.is_not(None)
                )
            ).all()
        )
        incoming = [
            Incoming(pupils[m.student_id], m.day, m.session, m.code, m.minutes_late)
            for m in marks
            if m.code is not None and m.student_id in pupils
        ]
        taken = take_marks(session, school_id=school.id, marks=incoming, source="mis", now=now)
        counts = {
            "marks_read": len(marks),
            **taken.counts(),
            "unknown_pupils": sum(1 for m in marks if m.student_id not in pupils),
            "no_mark": sum(1 for m in marks if m.code is None),
        }
        counts.update(
            after_marks(session, school=school, taken=taken, settings=settings, now=now, late_pass=late_pass)
        )
        _note_read(session, school=school, table=table, now=now)
    return JobSummary(counts=counts)


def _fetch(
    client: WondeClient, *, school: School, codes: dict | None, since: datetime
) -> tuple[dict, list[wire.SessionMark]]:
    """The marks Wonde changed since ``since``, decoded: (the code table used, the marks).

    The stored code table is used while it knows every code in the answer; a code the school added
    since the last read makes it read the table again. The HTTP calls happen here, before any
    transaction opens.
    """
    table = dict(codes or {}) or wire.code_table(client.attendance_codes())
    raw = client.session_marks(school.wonde_id, updated_after=since)
    if wire.code_ids(raw) - table.keys():
        table = wire.code_table(client.attendance_codes())  # a code added since the last read
    marks = [m for m in (wire.session_mark(r, table) for r in raw) if m is not None]
    return table, marks


def _note_read(session: Session, *, school: School, table: dict, now: datetime) -> None:
    """A good read: the cursor moves to ``now`` (never back), the code table it used is kept."""
    row = state(session, school.id)
    row.marks_cursor = max(now, row.marks_cursor) if row.marks_cursor else now
    row.marks_read_at = now
    if table != row.codes:
        row.codes, row.codes_read_at = table, now
    record_success(session, school=school, row=row, now=now)
    session.add(row)


def _known_students(engine: Engine, school: School) -> set[str]:
    with Session(engine) as session:
        return set(
            session.exec(
                select(Pupil.wonde_id).where(Pupil.school_id == school.id, Pupil.wonde_id.is_not(None))
            ).all()
        )


def _sync_newcomers(
    engine: Engine, *, school: School, settings: Settings, now: datetime, client: WondeClient
) -> None:
    """Marks of a pupil the bot does not know yet (admitted since last night's sync): sync now, so
    their register is not skipped (the cursor moves on after this read)."""
    from bot.mis.sync import sync_school

    try:
        sync_school(engine, school=school, settings=settings, now=now, client=client)
    except MisError as exc:  # their marks count as unknown this time; the rest are taken
        log.warning("mis: school %s: newcomers not synced: %s", school.id, exc)


def _start_of_day(school: School, now: datetime) -> datetime:
    today = clock.to_local(now, school.timezone).date()
    return clock.at_local(today, time(0, 0), school.timezone)


def after_marks(
    session: Session, *, school: School, taken: Taken, settings: Settings, now: datetime, late_pass: bool
) -> dict[str, int]:
    """Cases follow the register: reconcile changed pupils' open cases; message late registers' N."""
    today = clock.to_local(now, school.timezone).date()
    changed = {pupil_id for pupil_id, *_rest in taken.changes}
    settled = 0
    if changed:
        # A school has a few dozen open cases: read them all rather than a 1,000-id IN list.
        cases = session.exec(
            select(AbsenceCase).where(AbsenceCase.school_id == school.id, AbsenceCase.status == "open")
        ).all()
        settled = sum(
            1
            for case in cases
            if case.pupil_id in changed and reconcile_case(session, case=case, now=now, day=today)
        )
    out = {"cases_settled_by_mis": settled}
    if not late_pass or not load_calendar(session, school.id).is_school_day(today):
        return out
    policy = policy_for(session, school.id)
    for name, closes in (("AM", policy.am_close), ("PM", policy.pm_close)):
        if now <= clock.at_local(today, closes, school.timezone):
            continue  # register close has not happened yet: it will act on these marks itself
        late_n = {
            pupil_id
            for pupil_id, day, session_name, before, code in taken.changes
            if day == today and session_name == name and code == "N" and before != "N"
        }
        if late_n:
            summary = register_close(
                session, school=school, session_name=name, settings=settings, now=now, pupil_ids=late_n
            )
            out["late_cases_opened"] = out.get("late_cases_opened", 0) + summary.get("cases_opened")
            out["messages_queued"] = out.get("messages_queued", 0) + summary.get("messages_queued")
    return out


# --------------------------------------------------------------------------------------------------
# Jobs
# --------------------------------------------------------------------------------------------------


def in_window(session: Session, *, school: School, settings: Settings, now: datetime) -> bool:
    """Whether ``now`` is within the poll window around one of today's register closes."""
    today = clock.to_local(now, school.timezone).date()
    policy = policy_for(session, school.id)
    before = timedelta(minutes=settings.mis_poll_before_minutes)
    after = timedelta(minutes=settings.mis_poll_after_minutes)
    for closes in (policy.am_close, policy.pm_close):
        at = clock.at_local(today, closes, school.timezone)
        if at - before <= now <= at + after:
            return load_calendar(session, school.id).is_school_day(today)
    return False


def poll(
    engine: Engine, *, settings: Settings, now: datetime, clients: dict[int, WondeClient] | None = None
) -> JobSummary:
    """The clock's poll: read the marks of every linked school whose register window is open."""
    with Session(engine) as session:
        schools = linked_schools(session, settings)
        due = [s for s in schools if in_window(session, school=s, settings=settings, now=now)]
    if not schools:
        return JobSummary.skip("no school is linked to an MIS")
    if not due:
        return JobSummary.skip("no register window is open")
    return read_many(engine, schools=due, settings=settings, now=now, clients=clients)


def read_many(
    engine: Engine,
    *,
    schools: list[School],
    settings: Settings,
    now: datetime,
    clients: dict[int, WondeClient] | None = None,
) -> JobSummary:
    """Read several schools' marks, a few at a time; one school's failure does not stop the others."""

    def one(school: School) -> JobSummary:
        client = (clients or {}).get(school.id)
        for attempt in (1, 2):
            try:
                return read_marks(engine, school=school, settings=settings, now=now, client=client)
            except MisError as exc:
                log.warning("mis: marks of school %s not read: %s", school.id, exc)
                return JobSummary(counts={"schools_failed": 1})
            except (IntegrityError, OperationalError):
                # Register close read the same marks at the same moment: read again once.
                if attempt == 2:
                    log.exception("mis: marks of school %s not written", school.id)
                    return JobSummary(counts={"schools_failed": 1})
        raise AssertionError("unreachable")

    total = JobSummary(counts={"schools_read": 0, "schools_failed": 0})
    with ThreadPoolExecutor(max_workers=max(1, min(POLL_WORKERS, len(schools)))) as pool:
        for summary in pool.map(one, schools):
            if not summary.get("schools_failed"):
                summary = summary + JobSummary(counts={"schools_read": 1})
            total = total + summary
    return total


def refresh_before(
    engine: Engine, *, school: School, now: datetime, settings: Settings, late_pass: bool = True
) -> str | None:
    """Read the register just before a job acts on it; a note for the job's summary when it failed."""
    if not linked(school, settings):
        return None
    with Session(engine) as session:
        if not load_calendar(session, school.id).is_school_day(clock.to_local(now, school.timezone).date()):
            return None
    for attempt in (1, 2):
        try:
            read_marks(engine, school=school, settings=settings, now=now, late_pass=late_pass)
            return None
        except MisError as exc:
            link = read_state(engine, school.id)
            last = (
                f"as last read at {clock.to_local(link.marks_read_at, school.timezone):%H:%M}"
                if link.marks_read_at
                else "with no marks read from it yet today"
            )
            return f"the MIS could not be read ({exc}): acting on the register {last}"
        except (IntegrityError, OperationalError):
            if attempt == 2:
                return (
                    "the register could not be refreshed from the MIS (a concurrent read); "
                    "acting on it as stored"
                )
    return None
