"""A stand-in for the school's MIS at register close, for the sandbox and the scripted demo.

``simulate_register`` writes one session's register the way an MIS would when the register closes:
most pupils present, a few with a reason the office already has (illness, appointment), and a
handful with no reason (N), which is what sets the first-day response going.

It never touches a mark that is already there: a mark imported, simulated or amended earlier
stays as it is. Draws are made per pupil and day from a seed built from (school, day, seed), so the
same call gives the same register, and a pupil absent without a reason in the morning is usually
still absent without one in the afternoon.
"""

import random
from collections import Counter
from datetime import date, datetime

from sqlmodel import Session, select

from bot import codes
from bot.calendar import load_calendar
from bot.errors import UserError
from bot.register.service import record_mark
from storage.models import Mark, Pupil

REASON_KNOWN_RATE = 0.03  # illness or an appointment the office already knows about
LATE_RATE = 0.02
N_STAYS_FOR_PM = 0.85  # a pupil N in the morning is N in the afternoon too, most of the time


def _draws(school_id: int, day: date, seed: int, mis_id: str) -> random.Random:
    return random.Random(f"register:{school_id}:{day.isoformat()}:{seed}:{mis_id}")


def _am_code(rng: random.Random, n_rate: float) -> tuple[str, int | None]:
    r = rng.random()
    if r < n_rate:
        return "N", None
    if r < n_rate + REASON_KNOWN_RATE:
        return ("I" if rng.random() < 0.75 else "M"), None
    if r < n_rate + REASON_KNOWN_RATE + LATE_RATE:
        return "L", rng.randint(2, 20)
    return "/", None


def _pm_code(rng: random.Random, n_rate: float, am: str) -> str:
    """The afternoon follows the morning: same draw order as ``_am_code`` so both agree."""
    if am == "N":
        return "N" if rng.random() < N_STAYS_FOR_PM else "\\"
    if am in {"I", "G", "E", "R", "O"}:
        return am  # off for the day
    if am in codes.PRESENT_CODES or am in {"M", "U"}:
        return "N" if rng.random() < n_rate / 5 else "\\"  # went home at lunch without a word
    return "\\"


def simulate_register(
    session: Session,
    *,
    school_id: int,
    day: date,
    session_name: str,
    seed: int = 0,
    n_rate: float = 0.05,
    now: datetime,
) -> dict:
    """Write the register for one session as an MIS would at close (source "mis").

    Returns ``{"written": n, "kept": n, "codes": {code: n}, "n_pupil_ids": [...]}``: marks
    written, marks already there (left alone), the codes written, and the pupils now marked N.
    Raises ``UserError`` for a day the school's calendar says is not a school day.
    """
    name = session_name.strip().upper()
    if name not in {"AM", "PM"}:
        raise ValueError(f"session_name must be AM or PM, not {session_name!r}")
    calendar = load_calendar(session, school_id)
    if calendar.first_day is not None and not calendar.is_school_day(day):
        raise UserError(f"No register to take: {calendar.why_not(day)}.")
    pupils = session.exec(
        select(Pupil).where(Pupil.school_id == school_id, Pupil.on_roll).order_by(Pupil.mis_id)
    ).all()
    marks = {
        (m.pupil_id, m.session): m.code
        for m in session.exec(select(Mark).where(Mark.school_id == school_id, Mark.date == day)).all()
    }
    written: Counter[str] = Counter()
    kept = 0
    n_pupils = []
    for pupil in pupils:
        if (pupil.id, name) in marks:
            kept += 1
            continue
        rng = _draws(school_id, day, seed, pupil.mis_id)
        am, late = _am_code(rng, n_rate)
        if name == "AM":
            code, minutes = am, late
        else:
            code, minutes = _pm_code(rng, n_rate, marks.get((pupil.id, "AM"), am)), None
        record_mark(
            session,
            school_id=school_id,
            pupil_id=pupil.id,
            day=day,
            session_name=name,
            code=code,
            source="mis",
            minutes_late=minutes,
            now=now,
        )
        written[code] += 1
        if code == "N":
            n_pupils.append(pupil.id)
    return {"written": sum(written.values()), "kept": kept, "codes": dict(written), "n_pupil_ids": n_pupils}
