"""The nightly ``privacy-purge`` job: one school, one ``now``, in the runner's transaction; safe to repeat."""

import logging
from datetime import datetime

from sqlmodel import Session

from bot.privacy.purge import purge
from bot.privacy.retention import RetentionRefused
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import School

log = logging.getLogger(__name__)


def privacy_purge_job(session: Session, *, school: School, now: datetime, settings: Settings) -> JobSummary:
    """Purge what the school's retention policy no longer allows to be kept.

    A policy the purge refuses (a register kept less than six years) stops this school's purge
    with the reason in the summary and an error in the log, so operators see it every night until
    it is fixed; the other schools' purges go on.
    """
    try:
        return JobSummary(counts=purge(session, school=school, now=now))
    except RetentionRefused as exc:
        log.error("privacy purge refused for school %s: %s", school.id, exc)
        return JobSummary.skip(f"refused: {exc}")
