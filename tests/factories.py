"""Small builders for test data. Each returns the row it made, flushed (it has an id)."""

from datetime import date, datetime, time
from functools import cache
from itertools import count

from sqlmodel import Session

from bot import clock
from bot.settings import Settings, load_settings
from bot.typical_calendar import SPANS_2026_27
from storage.models import CalendarEntry, Contact, Mark, Pupil, PupilContact, School, SchoolPolicy, Staff

_seq = count(1)
# When rows made by these builders say they were recorded: a fixed instant, never the real date.
RECORDED = datetime(2026, 9, 1, 12, 0, tzinfo=clock.zone("UTC"))


def at(day: date, hh_mm: str, tz: str | None = None) -> datetime:
    """The UTC instant of a school's wall-clock time: ``at(MON, "09:15")``."""
    return clock.at_local(day, time.fromisoformat(hh_mm), tz)


@cache
def settings() -> Settings:
    """Settings for services that need them (reply links); local transports, no accounts."""
    return load_settings(database_url="sqlite:///:memory:")


def school(session: Session, *, urn: str | None = None, name: str = "Oakfield Primary", **kw) -> School:
    row = School(urn=urn or f"1{next(_seq):05d}", name=name, **kw)
    session.add(row)
    session.flush()
    for span in SPANS_2026_27:
        session.add(
            CalendarEntry(
                school_id=row.id, kind=span.kind, start_date=span.start, end_date=span.end, name=span.name
            )
        )
    from bot.policy import DEFAULT_LADDER

    session.add(
        SchoolPolicy(
            school_id=row.id,
            am_close=time(9, 15),
            pm_close=time(13, 45),
            escalation_ladder=[dict(s) for s in DEFAULT_LADDER],
        )
    )
    session.flush()
    return row


def pupil(session: Session, school: School, *, first: str = "Amelia", last: str = "Khan", **kw) -> Pupil:
    n = next(_seq)
    kw.setdefault("year_group", 4)
    kw.setdefault("class_name", "4B")
    row = Pupil(
        school_id=school.id, mis_id=f"P{n}", upn=f"A{n:012d}"[:13], first_name=first, last_name=last, **kw
    )
    session.add(row)
    session.flush()
    return row


def contact(
    session: Session,
    school: School,
    *pupils: Pupil,
    first: str = "Sara",
    last: str = "Khan",
    mobile: str | None = "+447700900001",
    email: str | None = None,
    language: str = "en",
    priority: int = 1,
    relationship: str = "mother",
    **kw,
) -> Contact:
    row = Contact(
        school_id=school.id,
        mis_id=f"C{next(_seq)}",
        first_name=first,
        last_name=last,
        mobile=mobile,
        email=email,
        language=language,
        **kw,
    )
    session.add(row)
    session.flush()
    for p in pupils:
        session.add(
            PupilContact(
                school_id=school.id,
                pupil_id=p.id,
                contact_id=row.id,
                priority=priority,
                relationship=relationship,
            )
        )
    session.flush()
    return row


def staff(
    session: Session, school: School, *, name: str = "Jo Patel", role: str = "attendance_officer", **kw
) -> Staff:
    n = next(_seq)
    kw.setdefault("slack_user_id", f"U{n:06d}")
    row = Staff(school_id=school.id, staff_code=f"S{n}", name=name, role=role, **kw)
    session.add(row)
    session.flush()
    return row


def mark(session: Session, p: Pupil, day: date, session_name: str = "AM", code: str = "N") -> Mark:
    row = Mark(
        school_id=p.school_id, pupil_id=p.id, date=day, session=session_name, code=code, recorded_at=RECORDED
    )
    session.add(row)
    session.flush()
    return row


def mis_settings(peer, **kw) -> Settings:
    """Settings pointing the real Wonde client at a loopback stand-in (``tests.peers.wonde_api``).

    No retries by default, so a test of an outage never waits for a backoff: tests about retries
    build their own client with a recording ``sleep``.
    """
    kw.setdefault("mis_max_retries", 0)
    return load_settings(
        database_url="sqlite:///:memory:", wonde_api_base_url=peer.base_url, wonde_api_token=peer.token, **kw
    )
