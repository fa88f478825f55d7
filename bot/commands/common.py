"""What every staff command needs: who is acting, the school's "today", and the school-day check."""

from datetime import date, datetime

from sqlmodel import Session

from bot import clock
from bot.actors import Actor
from bot.calendar import load_calendar
from bot.errors import UserError
from storage.models import School, Staff


def actor_of(staff: Staff) -> Actor:
    return Actor.of(staff)


def school_today(session: Session, school_id: int, *, now: datetime) -> date:
    """The school's date at ``now`` (in its own zone)."""
    school = session.get(School, school_id)
    return clock.to_local(now, school.timezone if school else None).date()


def check_school_day(session: Session, *, school_id: int, day: date, calendar=None) -> None:
    why = (calendar or load_calendar(session, school_id)).why_not(day)
    if why:
        raise UserError(f"{why}, not a school day. Pick a school day.")
