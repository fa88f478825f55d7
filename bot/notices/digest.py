"""The morning digest: half an hour after the morning register closes, each school's attendance
channel gets one post with the morning's counts (``morning-digest`` job).

- **N marks**: pupils the morning register marked N (those staff have recoded since still count);
- **explained by notices**: of them, how many families had already told us (bot.notices);
- **messaged**: how many of them got a first-day or follow-up message;
- **cannot reach**: families with no channel at all;
- **reported absent but present**: the notices listed as discrepancies this morning;
- **registers not taken**: classes with no morning mark at all (``registers_not_taken``).

It is an ``attendance`` alert like the weekly report, keyed per school and day: a re-run, or a
second clock, posts nothing more.
"""

from datetime import date, datetime, time, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, select

from bot import clock
from bot.alerts.service import raise_alert
from bot.calendar import load_calendar
from bot.notices.service import covering
from bot.register.taken import coverage
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import AbsenceCase, Alert, Mark, MarkAmendment, MessageCase, OutboxMessage, Pupil, School

DIGEST_AFTER_MINUTES = 30
FIRST_MESSAGES = ("first_day", "expected_back", "still_absent")


def registers_not_taken(session: Session, *, school_id: int, day: date, session_name: str) -> list[str]:
    """Classes with pupils on roll (admitted by ``day``) and not one mark for the session: every class
    when the whole register is missing (``bot.register.taken.coverage``, as the register check)."""
    cov = coverage(session, school_id=school_id, day=day, session_name=session_name)
    return sorted(cov.classes) if cov.whole_missing else cov.missing_classes


def counts(session: Session, *, school: School, day: date, session_name: str = "AM") -> dict:
    """The morning's numbers (see the module docstring), from the stored facts alone."""
    start = clock.at_local(day, time(0, 0), school.timezone)
    end = start + timedelta(days=1)
    now_n = (
        select(Mark.pupil_id)
        .join(Pupil, Pupil.id == Mark.pupil_id)
        .where(
            Mark.school_id == school.id,
            Mark.date == day,
            Mark.session == session_name,
            Mark.code == "N",
            Pupil.on_roll.is_(True),
        )
    )
    recoded = select(MarkAmendment.pupil_id).where(
        MarkAmendment.school_id == school.id,
        MarkAmendment.date == day,
        MarkAmendment.session == session_name,
        MarkAmendment.original_code == "N",
    )
    n_pupils = sorted(set(session.exec(now_n).all()) | set(session.exec(recoded).all()))
    covered = covering(session, pupil_ids=n_pupils, day=day, session_name=session_name)
    messaged = session.exec(
        select(func.count(func.distinct(AbsenceCase.pupil_id)))
        .join(MessageCase, MessageCase.case_id == AbsenceCase.id)
        .join(OutboxMessage, OutboxMessage.id == MessageCase.message_id)
        .where(
            AbsenceCase.school_id == school.id,
            OutboxMessage.kind.in_(FIRST_MESSAGES),
            OutboxMessage.created_at >= start,
            OutboxMessage.created_at < end,
            or_(AbsenceCase.first_date == day, AbsenceCase.last_absent_date == day),
        )
    ).one()

    def alerts(kind: str) -> int:
        return session.exec(
            select(func.count(Alert.id)).where(
                Alert.school_id == school.id,
                Alert.kind == kind,
                Alert.created_at >= start,
                Alert.created_at < end,
            )
        ).one()

    return {
        "n_marks": len(n_pupils),
        "explained_by_notices": len(covered),
        "messaged": int(messaged or 0),
        "cannot_reach": alerts("cannot_reach_family"),
        "reported_absent_but_present": alerts("notice_discrepancy"),
        "registers_not_taken": registers_not_taken(
            session, school_id=school.id, day=day, session_name=session_name
        ),
    }


def morning_digest(session: Session, *, school: School, now: datetime, settings: Settings) -> JobSummary:
    """Post the morning's counts to the attendance channel, once per school and day."""
    day = clock.to_local(now, school.timezone).date()
    calendar = load_calendar(session, school.id)
    if not calendar.is_school_day(day):
        return JobSummary.skip(calendar.why_not(day))
    c = counts(session, school=school, day=day)
    missing = c["registers_not_taken"]
    lines = [
        f"N marks: {c['n_marks']}",
        f"Explained by the family before or at register close: {c['explained_by_notices']}",
        f"Families messaged: {c['messaged']}",
        f"Families we cannot reach: {c['cannot_reach']}",
        f"Reported absent but marked present: {c['reported_absent_but_present']}",
        f"Registers not taken: {len(missing)}" + (f" ({', '.join(missing[:12])})" if missing else ""),
    ]
    alert, created = raise_alert(
        session,
        school_id=school.id,
        key=f"digest:{school.id}:{day.isoformat()}",
        kind="morning_digest",
        title=f"Morning register {day:%a %d %b}: {c['n_marks']} N, {c['explained_by_notices']} already "
        f"explained, {c['messaged']} messaged",
        body="\n".join(lines),
        audience="attendance",
        severity="normal",
        data={
            "counts": {**c, "registers_not_taken": len(missing)},
            "classes_not_taken": missing,
            "actions": [],
        },
        now=now,
    )
    numbers = {k: (len(v) if isinstance(v, list) else v) for k, v in c.items()}
    return JobSummary(counts={**numbers, "posted": int(created)}, details={"alert_id": str(alert.id)})
