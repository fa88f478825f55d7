"""Which schools are linked to their MIS, the client for each, and the link's health.

A school is linked when it has a Wonde id (schools file, ``wonde_id``) and a token reads it
(``WONDE_API_TOKEN`` for the deployment, or its own in ``WONDE_SCHOOL_TOKENS``). Its
``MisConnection`` row keeps the cursors of the next delta reads and the state of the link.

An outage is recorded from its first failure (``failing_since``) and cleared by the next success.
Staff are told only if it lasts (``MIS_OUTAGE_ALERT_MINUTES``): a blip of a few minutes loses
nothing (reads catch up from their cursor, write-backs wait in their queue) and needs nobody.
When an outage they were told of ends, they are told that too.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import clock
from bot.alerts.service import raise_alert
from bot.mis.client import MisAccessDenied, MisError, WondeClient
from bot.settings import Settings
from storage.db import session_scope
from storage.models import MisConnection, School

log = logging.getLogger(__name__)

ClientFactory = Callable[[School], WondeClient]


def linked(school: School, settings: Settings) -> bool:
    return bool(school.wonde_id and settings.wonde_token_for(school.urn))


def linked_schools(session: Session, settings: Settings) -> list[School]:
    rows = session.exec(select(School).where(School.wonde_id.is_not(None)).order_by(School.id)).all()
    return [s for s in rows if linked(s, settings)]


def client_for(school: School, settings: Settings, *, retries: int | None = None, **kw) -> WondeClient:
    """The Wonde client for one school (its own token when it has one)."""
    token = settings.wonde_token_for(school.urn)
    if not school.wonde_id or not token:
        raise MisError(f"school {school.urn} is not linked to Wonde (set its wonde_id and a Wonde token)")
    return WondeClient(
        base_url=settings.wonde_api_base_url,
        token=token,
        timeout=settings.mis_timeout_seconds,
        max_retries=settings.mis_max_retries if retries is None else retries,
        max_wait=settings.mis_max_wait_seconds,
        page_size=settings.mis_page_size,
        **kw,
    )


def state(session: Session, school_id: int) -> MisConnection:
    row = session.get(MisConnection, school_id)
    if row is None:
        row = MisConnection(school_id=school_id, codes={}, outage_alerted=False)
        session.add(row)
        session.flush()
    return row


def read_state(engine: Engine, school_id: int) -> MisConnection:
    """A detached copy of the school's link state (creating the row on first use)."""
    with session_scope(engine) as session:
        return state(session, school_id)


def record_failure(
    engine: Engine, *, school: School, error: MisError, settings: Settings, now: datetime
) -> bool:
    """Note a failed call; raise the outage alert once it has lasted. Returns True if alerted now."""
    with session_scope(engine) as session:
        row = state(session, school.id)
        if row.failing_since is None:
            row.failing_since = now
        row.last_error = str(error)[:300]
        session.add(row)
        lasted = now - row.failing_since >= timedelta(minutes=settings.mis_outage_alert_minutes)
        if not lasted or row.outage_alerted:
            return False
        row.outage_alerted = True
        _outage_alert(session, school=school, row=row, error=error, now=now)
        log.warning("mis: school %s unreachable since %s", school.id, row.failing_since.isoformat())
        return True


def _outage_alert(
    session: Session, *, school: School, row: MisConnection, error: MisError, now: datetime
) -> None:
    since = clock.to_local(row.failing_since, school.timezone)
    if isinstance(error, MisAccessDenied):
        why = (
            "Wonde refuses the bot's access: the school's approval of the bot in Wonde may have been "
            "revoked, or the token changed. Ask the school's Wonde administrator to check the approval."
        )
    else:
        why = f"Wonde does not answer ({error})."
    body = (
        f"Since {since:%H:%M} on {since:%a %d %b} the bot cannot reach the school's MIS. {why}\n"
        "Nothing is lost: registers taken meanwhile are read when it answers again, and changes made "
        "in the bot wait in the write-back queue. Until then the bot only knows the register as it was "
        "last read: if this lasts past register close, import the register as CSV "
        "(attendance-bot import marks) so families are contacted."
    )
    raise_alert(
        session,
        school_id=school.id,
        key=f"mis-down:{school.id}:{row.failing_since.isoformat()}",
        kind="mis_unreachable",
        audience="attendance",
        severity="high",
        title=f"MIS unreachable since {since:%H:%M}",
        body=body,
        data={"actions": ["acknowledge"], "since": row.failing_since.isoformat()},
        now=now,
    )


def record_success(session: Session, *, school: School, row: MisConnection, now: datetime) -> None:
    """The link works again: close the outage (telling staff if they were told it was down)."""
    if row.failing_since is None:
        return
    if row.outage_alerted:
        since = clock.to_local(row.failing_since, school.timezone)
        raise_alert(
            session,
            school_id=school.id,
            key=f"mis-up:{school.id}:{row.failing_since.isoformat()}",
            kind="mis_reachable",
            audience="attendance",
            title="MIS reachable again",
            body=(
                f"The MIS answers again (it had not since {since:%H:%M} {since:%a %d %b}). "
                "The register has been read up to now and queued changes are being written back."
            ),
            data={"actions": ["acknowledge"]},
            now=now,
        )
    row.failing_since, row.last_error, row.outage_alerted = None, None, False
    session.add(row)
