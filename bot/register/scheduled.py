"""The register check job: "Register not taken" a few minutes after each register close."""

from datetime import datetime

from sqlmodel import Session

from bot.register.taken import registers_missing
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import School


def registers_missing_job(
    session: Session, *, school: School, now: datetime, settings: Settings, session_name: str = "AM"
) -> JobSummary:
    return registers_missing(session, school=school, session_name=session_name, settings=settings, now=now)
