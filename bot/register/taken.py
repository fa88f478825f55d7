"""Whether a register was taken: which classes (registration groups) have no marks for a session.

Register close with no marks at all must not report "0 N marks" as if all were present: a register
not taken means nobody was checked and no family was messaged. ``no_register_warning`` says so in
register close's summary; ``registers_missing`` (a job a few minutes after each close) tells the
attendance officer once per class ("Register not taken: 4 Birch, AM"), or once for the whole school
when nothing at all came. It works the same whether marks come from Wonde or from a CSV import.
"""

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, func, or_
from sqlmodel import Session, select

from bot import clock
from bot.alerts.service import raise_alert
from bot.calendar import load_calendar
from bot.policy import policy_for
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import Mark, MisConnection, Pupil, School

NO_CLASS = "(no class)"


@dataclass
class Coverage:
    """Pupils expected at a session and how many have a mark, per class."""

    classes: dict[str, tuple[int, int]] = field(default_factory=dict)  # class -> (pupils, marked)

    @property
    def pupils(self) -> int:
        return sum(p for p, _ in self.classes.values())

    @property
    def marked(self) -> int:
        return sum(m for _, m in self.classes.values())

    @property
    def whole_missing(self) -> bool:
        return self.pupils > 0 and self.marked == 0

    @property
    def missing_classes(self) -> list[str]:
        return sorted(c for c, (pupils, marked) in self.classes.items() if pupils and not marked)


def coverage(session: Session, *, school_id: int, day: date, session_name: str) -> Coverage:
    """On-roll pupils admitted by ``day``, and their marks for the session, per class."""
    rows = session.exec(
        select(Pupil.class_name, func.count(Pupil.id), func.count(Mark.id))
        .join(
            Mark,
            and_(Mark.pupil_id == Pupil.id, Mark.date == day, Mark.session == session_name),
            isouter=True,
        )
        .where(
            Pupil.school_id == school_id,
            Pupil.on_roll == True,  # noqa: E712
            or_(Pupil.admission_date.is_(None), Pupil.admission_date <= day),
        )
        .group_by(Pupil.class_name)
    ).all()
    cov = Coverage()
    for name, pupils, marked in rows:
        key = name or NO_CLASS
        before = cov.classes.get(key, (0, 0))
        cov.classes[key] = (before[0] + pupils, before[1] + marked)
    return cov


def no_register_warning(session: Session, *, school: School, day: date, session_name: str) -> str | None:
    """The line register close prints when the session has no marks at all, else None."""
    cov = coverage(session, school_id=school.id, day=day, session_name=session_name)
    if not cov.whole_missing:
        return None
    return (
        f"no marks at all for the {session_name} register of {day:%a %d %b} ({cov.pupils} pupils on "
        "roll): nobody was checked or messaged. Has the register been taken? The bot reads it from "
        "the MIS when linked; otherwise import it (attendance-bot import marks) and run register "
        "close again."
    )


def registers_missing(
    session: Session, *, school: School, session_name: str, settings: Settings, now: datetime
) -> JobSummary:
    """Tell the attendance officer, once, of each class with no marks for the session (or of the
    whole register, in one alert, when no class has any)."""
    session_name = session_name.upper()
    day = clock.to_local(now, school.timezone).date()
    calendar = load_calendar(session, school.id)
    if not calendar.is_school_day(day):
        return JobSummary.skip(calendar.why_not(day))
    cov = coverage(session, school_id=school.id, day=day, session_name=session_name)
    if not cov.pupils:
        return JobSummary.skip("no pupils on roll")
    minutes = policy_for(session, school.id).register_check_after_minutes
    if cov.whole_missing:
        raised = _alert_whole_register(
            session, school=school, cov=cov, day=day, session_name=session_name, minutes=minutes, now=now
        )
    else:
        raised = sum(
            _alert_class(
                session,
                school=school,
                cov=cov,
                name=name,
                day=day,
                session_name=session_name,
                minutes=minutes,
                now=now,
            )
            for name in cov.missing_classes
        )
    missing = len(cov.classes) if cov.whole_missing else len(cov.missing_classes)
    return JobSummary(counts={"classes": len(cov.classes), "classes_missing": missing, "alerts": raised})


def _missing_key(school: School, day: date, session_name: str) -> str:
    """The alert key for a session's missing register: one alert per school, day and session (and class)."""
    return f"register-missing:{school.id}:{day.isoformat()}:{session_name}"


def _alert_whole_register(
    session: Session,
    *,
    school: School,
    cov: Coverage,
    day: date,
    session_name: str,
    minutes: int,
    now: datetime,
) -> int:
    """One urgent alert when no class has marks: nobody was checked, so no family was messaged."""
    body = (
        f"No class has a {session_name} mark for {day:%a %d %b}, {minutes} minutes after register close: "
        f"the bot has checked nobody ({cov.pupils} pupils on roll) and messaged no family. "
        + _where_marks_come_from(session, school=school)
    )
    _, created = raise_alert(
        session,
        school_id=school.id,
        key=_missing_key(school, day, session_name),
        kind="register_missing",
        audience="attendance",
        severity="high",
        title=f"No {session_name} register today: no class has marks",
        body=body,
        data={"actions": ["acknowledge"], "session": session_name, "date": day.isoformat()},
        now=now,
    )
    return int(created)


def _alert_class(
    session: Session,
    *,
    school: School,
    cov: Coverage,
    name: str,
    day: date,
    session_name: str,
    minutes: int,
    now: datetime,
) -> int:
    """One alert for a class whose register is not taken; its absent pupils wait until it is."""
    body = (
        f"{cov.classes[name][0]} pupils in {name} have no {session_name} mark for {day:%a %d %b}, {minutes} "
        f"minutes after register close. Absent pupils in {name} are checked and their families "
        "messaged as soon as the register is taken."
    )
    _, created = raise_alert(
        session,
        school_id=school.id,
        key=f"{_missing_key(school, day, session_name)}:{name}",
        kind="register_missing",
        audience="attendance",
        title=f"Register not taken: {name}, {session_name}",
        body=body,
        data={
            "actions": ["acknowledge"],
            "class_name": name,
            "session": session_name,
            "date": day.isoformat(),
        },
        now=now,
    )
    return int(created)


def _where_marks_come_from(session: Session, *, school: School) -> str:
    if school.wonde_id is None:
        return "Import the register (attendance-bot import marks) and run register close again."
    link = session.get(MisConnection, school.id)
    if link is not None and link.failing_since is not None:
        since = clock.to_local(link.failing_since, school.timezone)
        return (
            f"The bot cannot reach the MIS since {since:%H:%M}: the register may be taken but unread. "
            "If the MIS stays unreachable, import the register as CSV (attendance-bot import marks)."
        )
    return "Check that registers are being taken in the MIS: the bot reads them every minute for an hour."
