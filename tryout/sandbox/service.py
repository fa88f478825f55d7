"""The sandbox's simulated clock, and the clock buttons that run the real jobs at that time.

Each school has its own simulated "now" (``SandboxClock``), stored in the database so every thread
of the web app sees the same one and it survives a restart. It starts on Monday 23 November 2026 at
08:45, the first school day after the sample registers end, and only moves forward:

- *register close now*: to the close of the next register not yet taken (AM or PM). The MIS
  stand-in (``tryout.sample.register.simulate_register``) writes that session's marks, then the real
  jobs run at that time in the order the clock runs them: ``register-close``, ``send-outbox`` (the
  local transports "deliver" into the outbox table), ``escalation-sweep``, ``deliver-alerts``;
- *next chase*: to the next chase time (first taking any register whose close it passes, as the
  clock would have), then ``chase``, ``send-outbox``, ``escalation-sweep``, ``deliver-alerts``;
- *next school day*: the statutory sweep for the day that ends, then 08:45 on the next school day
  of the calendar and the morning ``escalation-sweep``.

Jobs and services take ``now`` explicitly, so nothing here freezes time or rewrites timestamps: a
message queued at 09:00 simulated is stamped and due at 09:00 simulated, whatever the real date, and
the page reads as one timeline.
"""

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from twilio.request_validator import RequestValidator

from bot import clock
from bot.calendar import load_calendar
from bot.jobs import run_job
from bot.policy import policy_for
from bot.register.service import record_mark
from bot.settings import Settings
from storage.db import session_scope
from storage.models import AbsenceCase, Mark, Pupil, SandboxClock, School
from tryout.sample.register import simulate_register

START_DAY = date(2026, 11, 23)  # the first school day after the sample registers (Fri 20 Nov 2026)
DAY_START = time(8, 45)
STATUTORY_AFTER_PM_CLOSE = timedelta(minutes=60)  # as the clock's timetable (scheduler/schedule.py)
SANDBOX_NUMBER = "+447700900000"  # the number parents "text" when the school has none on file
SMS_PATH = "/twilio/sms"


@dataclass
class Step:
    """What a clock button did: the new simulated time and a few lines for the page."""

    now: datetime
    lines: list[str] = field(default_factory=list)
    results: dict = field(default_factory=dict)


# --------------------------------------------------------------------------------------------------
# The simulated clock
# --------------------------------------------------------------------------------------------------


def start_of(school: School) -> datetime:
    return clock.at_local(START_DAY, DAY_START, school.timezone)


def current(session: Session, *, school: School) -> datetime:
    """The school's simulated now (created at the start time on first use)."""
    row = session.get(SandboxClock, school.id)
    if row is not None:
        return row.now
    row = SandboxClock(school_id=school.id, now=start_of(school))
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:  # another thread created it first
        row = session.get(SandboxClock, school.id, populate_existing=True)
    return row.now


def move_to(session: Session, *, school: School, now: datetime) -> None:
    """Set the simulated now; never backwards (a register already taken stays taken)."""
    row = session.get(SandboxClock, school.id)
    if row is None:
        current(session, school=school)
        row = session.get(SandboxClock, school.id)
    if now > row.now:
        row.now = now
        session.add(row)
        session.flush()


def reset(session: Session, *, school: School, now: datetime | None = None) -> None:
    """Put the clock back to the start (or ``now``): for tests and a fresh demo database."""
    row = session.get(SandboxClock, school.id) or SandboxClock(school_id=school.id, now=start_of(school))
    row.now = now or start_of(school)
    session.add(row)
    session.flush()


# --------------------------------------------------------------------------------------------------
# Running the real jobs
# --------------------------------------------------------------------------------------------------


def _school(engine: Engine, school_id: int) -> School:
    with Session(engine, expire_on_commit=False) as s:
        school = s.get(School, school_id)
        if school is None:
            raise LookupError(f"no school {school_id}")
        s.expunge(school)
        return school


def run_jobs(
    engine: Engine, settings: Settings, *, school: School, at: datetime, jobs: list[tuple[str, dict]]
) -> dict:
    """Run jobs of the catalogue at the simulated ``at``; returns each job's summary (as a dict) by name."""
    out: dict = {}
    for name, opts in jobs:
        results = run_job(name, engine, settings, now=at, schools=[school], **opts)
        out[name] = results[0][1].as_dict() if results else {}
    return out


AFTER_STEP = [("send-outbox", {}), ("escalation-sweep", {}), ("deliver-alerts", {})]


def _taken(session: Session, *, school_id: int, day: date, session_name: str) -> bool:
    """A register is taken once every pupil on roll has a mark for that session."""
    marked = session.exec(
        select(func.count(Mark.id)).where(
            Mark.school_id == school_id, Mark.date == day, Mark.session == session_name
        )
    ).one()
    on_roll = session.exec(
        select(func.count(Pupil.id)).where(Pupil.school_id == school_id, Pupil.on_roll)
    ).one()
    return marked > 0 and marked >= on_roll


def _wall(value) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def _closes(session: Session, school: School) -> list[tuple[str, time]]:
    policy = policy_for(session, school.id)
    return [("AM", _wall(policy.am_close)), ("PM", _wall(policy.pm_close))]


def _outcome_lines(results: dict) -> list[str]:
    lines = []
    rc = results.get("register-close") or {}
    if rc.get("skipped"):
        lines.append(f"Register close skipped: {rc['skipped']}.")
    elif rc:
        lines.append(
            f"{rc.get('cases_opened', 0)} new absence cases, {rc.get('cases_extended', 0)} continued; "
            f"{rc.get('messages_queued', 0)} messages to families."
        )
    ch = results.get("chase") or {}
    if ch.get("skipped"):
        lines.append(f"Chase skipped: {ch['skipped']}.")
    elif ch:
        lines.append(
            f"Chased {ch.get('open_cases', 0)} open cases: {ch.get('messages_queued', 0)} messages, "
            f"{ch.get('moved_to_next_contact', 0)} moved to the next contact, "
            f"{ch.get('cases_closed', 0)} closed (seen in school)."
        )
    sent = results.get("send-outbox") or {}
    if sent.get("sent") or sent.get("failed") or sent.get("cancelled"):
        lines.append(
            f"Outbox: {sent.get('sent', 0)} delivered, {sent.get('cancelled', 0)} cancelled, "
            f"{sent.get('failed', 0)} failed."
        )
    esc = results.get("escalation-sweep") or {}
    if esc.get("alerts") or esc.get("reraised"):
        lines.append(f"Escalation: {esc.get('alerts', 0)} new alerts, {esc.get('reraised', 0)} re-raised.")
    st = results.get("statutory-sweep") or {}
    if st and not st.get("skipped"):
        done = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in st.items() if isinstance(v, int) and v)
        lines.append("Statutory sweep: " + (done or "nothing due."))
    return lines


def take_register(
    engine: Engine,
    settings: Settings,
    *,
    school_id: int,
    day: date,
    session_name: str,
    at: datetime,
    seed: int = 0,
    n_rate: float = 0.05,
) -> Step:
    """Close one register at ``at``: the MIS stand-in writes the marks, then the clock's jobs run."""
    school = _school(engine, school_id)
    with session_scope(engine) as s:
        move_to(s, school=school, now=at)
        kept_away = still_away(s, school_id=school_id, day=day, session_name=session_name, now=at)
        written = simulate_register(
            s, school_id=school_id, day=day, session_name=session_name, seed=seed, n_rate=n_rate, now=at
        )
    step = close_register(engine, settings, school_id=school_id, session_name=session_name, at=at)
    n = written["codes"].get("N", 0)
    n += kept_away
    head = (
        f"{session_name} register closed {clock.to_local(at, school.timezone):%a %d %b %H:%M}: "
        f"{written['written']} marks from the MIS, {n} new N."
    )
    return Step(now=at, lines=[head, *step.lines], results={"register": written, **step.results})


def still_away(session: Session, *, school_id: int, day: date, session_name: str, now: datetime) -> int:
    """Pupils whose absence nobody has explained stay away (N), so the escalation ladder can be seen.

    The MIS stand-in draws each day afresh; a child missing without a word is, more often than not,
    still missing the next morning, and that is the case the bot exists for.
    """
    rows = session.exec(
        select(AbsenceCase.pupil_id).where(AbsenceCase.school_id == school_id, AbsenceCase.status == "open")
    ).all()
    marked = set(
        session.exec(
            select(Mark.pupil_id).where(
                Mark.school_id == school_id, Mark.date == day, Mark.session == session_name
            )
        ).all()
    )
    count = 0
    for pupil_id in rows:
        if pupil_id not in marked:
            record_mark(
                session,
                school_id=school_id,
                pupil_id=pupil_id,
                day=day,
                session_name=session_name,
                code="N",
                source="mis",
                now=now,
            )
            count += 1
    return count


def close_register(
    engine: Engine, settings: Settings, *, school_id: int, session_name: str, at: datetime
) -> Step:
    """The clock's work at a register close (the marks are already written): jobs at ``at``."""
    school = _school(engine, school_id)
    with session_scope(engine) as s:
        move_to(s, school=school, now=at)
    results = run_jobs(
        engine,
        settings,
        school=school,
        at=at,
        jobs=[("register-close", {"session_name": session_name}), *AFTER_STEP],
    )
    return Step(now=at, lines=_outcome_lines(results), results=results)


def next_register(session: Session, *, school: School, now: datetime) -> tuple[date, str, datetime] | None:
    """The next register not yet taken, from today on: (day, AM|PM, when it closes or now if later)."""
    cal = load_calendar(session, school.id)
    day = cal.next_school_day(clock.to_local(now, school.timezone).date(), inclusive=True)
    closes = _closes(session, school)
    for _ in range(60):
        if day is None:
            return None
        for name, wall in closes:
            if not _taken(session, school_id=school.id, day=day, session_name=name):
                return day, name, max(clock.at_local(day, wall, school.timezone), now)
        day = cal.next_school_day(day)
    return None


def next_chase_time(session: Session, *, school: School, now: datetime) -> tuple[date, str, datetime] | None:
    """The next chase slot strictly after now on a school day: (day, "HH:MM", when)."""
    cal = load_calendar(session, school.id)
    slots = sorted(policy_for(session, school.id).chase_times or [])
    if not slots:
        return None
    day = cal.next_school_day(clock.to_local(now, school.timezone).date(), inclusive=True)
    for _ in range(60):
        if day is None:
            return None
        for slot in slots:
            at = clock.at_local(day, _wall(slot), school.timezone)
            if at > now:
                return day, slot, at
        day = cal.next_school_day(day)
    return None


def register_close_now(
    engine: Engine, settings: Settings, *, school_id: int, seed: int = 0, n_rate: float = 0.05
) -> Step:
    """The "register close now" button."""
    school = _school(engine, school_id)
    with session_scope(engine) as s:
        now = current(s, school=school)
        target = next_register(s, school=school, now=now)
    if target is None:
        return Step(now=now, lines=["No school day ahead in the calendar."])
    day, name, at = target
    return take_register(
        engine, settings, school_id=school_id, day=day, session_name=name, at=at, seed=seed, n_rate=n_rate
    )


def next_chase(engine: Engine, settings: Settings, *, school_id: int, seed: int = 0) -> Step:
    """The "next chase" button (taking any register the clock would have closed on the way)."""
    school = _school(engine, school_id)
    with session_scope(engine) as s:
        now = current(s, school=school)
        target = next_chase_time(s, school=school, now=now)
        closes = _closes(s, school)
    if target is None:
        return Step(now=now, lines=["No chase time ahead (the school has none, or the calendar ends)."])
    day, slot, at = target
    lines: list[str] = []
    for name, wall in closes:
        close_at = clock.at_local(day, wall, school.timezone)
        with Session(engine) as s:
            pending = close_at <= at and not _taken(s, school_id=school.id, day=day, session_name=name)
        if pending:
            lines += take_register(
                engine,
                settings,
                school_id=school_id,
                day=day,
                session_name=name,
                at=max(close_at, now),
                seed=seed,
            ).lines
    with session_scope(engine) as s:
        move_to(s, school=school, now=at)
    results = run_jobs(engine, settings, school=school, at=at, jobs=[("chase", {"slot": slot}), *AFTER_STEP])
    lines.append(f"Chase at {clock.to_local(at, school.timezone):%a %d %b %H:%M}.")
    return Step(now=at, lines=lines + _outcome_lines(results), results=results)


def start_day(engine: Engine, settings: Settings, *, school_id: int, day: date) -> Step:
    """Morning of ``day``: 08:45 on the simulated clock and the morning escalation sweep."""
    school = _school(engine, school_id)
    at = clock.at_local(day, DAY_START, school.timezone)
    with session_scope(engine) as s:
        move_to(s, school=school, now=at)
    results = run_jobs(
        engine, settings, school=school, at=at, jobs=[("escalation-sweep", {}), ("deliver-alerts", {})]
    )
    return Step(
        now=at, lines=[f"Good morning: {day:%A %d %B %Y}, 08:45.", *_outcome_lines(results)], results=results
    )


def end_day(engine: Engine, settings: Settings, *, school_id: int) -> Step:
    """After the afternoon register: the statutory sweep for the simulated day (if a school day)."""
    school = _school(engine, school_id)
    with session_scope(engine) as s:
        now = current(s, school=school)
        today = clock.to_local(now, school.timezone).date()
        is_school_day = load_calendar(s, school.id).is_school_day(today)
        pm_close = _closes(s, school)[1][1]
    if not is_school_day:
        return Step(now=now)
    at = max(clock.at_local(today, pm_close, school.timezone) + STATUTORY_AFTER_PM_CLOSE, now)
    with session_scope(engine) as s:
        move_to(s, school=school, now=at)
    results = run_jobs(
        engine,
        settings,
        school=school,
        at=at,
        jobs=[("statutory-sweep", {}), ("send-outbox", {}), ("deliver-alerts", {})],
    )
    return Step(now=at, lines=_outcome_lines(results), results=results)


def next_school_day(engine: Engine, settings: Settings, *, school_id: int) -> Step:
    """The "next school day" button: end the day (statutory sweep), then the next morning."""
    ended = end_day(engine, settings, school_id=school_id)
    school = _school(engine, school_id)
    with Session(engine) as s:
        day = load_calendar(s, school_id).next_school_day(clock.to_local(ended.now, school.timezone).date())
    if day is None:
        return Step(now=ended.now, lines=[*ended.lines, "The calendar has no later school day."])
    started = start_day(engine, settings, school_id=school_id, day=day)
    return Step(
        now=started.now,
        lines=[*ended.lines, *started.lines],
        results={"end": ended.results, "start": started.results},
    )


# --------------------------------------------------------------------------------------------------
# A parent's text, as Twilio would post it
# --------------------------------------------------------------------------------------------------


def inbound_sms_params(*, settings: Settings, from_number: str, to_number: str, body: str) -> dict[str, str]:
    """The form Twilio posts to the inbound-SMS webhook for one text."""
    sid = "SM" + secrets.token_hex(16)
    return {
        "ToCountry": "GB",
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": "GB",
        "To": to_number,
        "ToZip": "",
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": settings.twilio_account_sid or "AC" + "0" * 32,
        "From": from_number,
        "ApiVersion": "2010-04-01",
    }


def sms_url(settings: Settings) -> str:
    """The public url Twilio signs (the app checks against ``PUBLIC_BASE_URL`` + path)."""
    return settings.public_base_url.rstrip("/") + SMS_PATH


def sign(settings: Settings, params: dict[str, str]) -> str:
    """``X-Twilio-Signature`` for these params, with the token the app validates against."""
    return RequestValidator(settings.inbound_sms_token).compute_signature(sms_url(settings), params)


def school_number(school: School) -> str:
    from bot.replies.service import e164

    return e164(school.phone) if school.phone else SANDBOX_NUMBER
