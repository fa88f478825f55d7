"""The clock's mailbox job (global: one mailbox for the deployment, its own short transactions)."""

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.mail.service import read_mailbox
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import School


def read_mailbox_job(
    engine: Engine, *, school: School | None = None, now: datetime, settings: Settings
) -> JobSummary:
    """Read families' email replies and bounces (every ``IMAP_POLL_SECONDS``; skipped without IMAP)."""
    return read_mailbox(engine, settings=settings, now=now)
