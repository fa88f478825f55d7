"""``attendance-bot mis``: the link to each school's MIS through Wonde, by hand.

``sync`` and ``read`` do at once what the clock does nightly and around register close; ``status``
shows each linked school's cursors, health and write-back queue; ``writeback`` sends the queue now.
"""

from datetime import datetime

import click
from sqlalchemy import func
from sqlmodel import Session, select

from bot import clock
from bot.mis.client import MisError
from bot.mis.connection import linked, linked_schools
from bot.mis.marks import read_marks
from bot.mis.sync import sync_school
from bot.mis.writeback import send_due
from bot.runtime import engine as runtime_engine
from bot.settings import get_settings
from storage.models import MisConnection, MisWriteback, School


def _schools(session: Session, urn: str | None) -> list[School]:
    settings = get_settings()
    if urn:
        school = session.exec(select(School).where(School.urn == urn)).first()
        if school is None:
            raise click.ClickException(f"No school with URN {urn}.")
        if not linked(school, settings):
            raise click.ClickException(
                f"School {urn} is not linked to Wonde: set its wonde_id (schools file) and WONDE_API_TOKEN "
                "(or its own token in WONDE_SCHOOL_TOKENS). See the README, 'Connecting the MIS'."
            )
        return [school]
    schools = linked_schools(session, settings)
    if not schools:
        raise click.ClickException("No school is linked to Wonde (no wonde_id with a token).")
    return schools


def _now(text: str | None, tz: str | None) -> datetime:
    try:
        return clock.parse_now(text, tz)
    except ValueError:
        raise click.BadParameter(f"'{text}' is not an ISO date-time", param_hint="--now") from None


@click.group("mis")
def mis() -> None:
    """The MIS link through Wonde: sync, read the register, write back, status."""


@mis.command("sync")
@click.option("--school", "urn", help="School URN (default: every linked school).")
@click.option("--full", is_flag=True, help="Read everything, not only what changed since the last sync.")
@click.option("--now", "now_text", help="Run as if at this time (ISO; local time without an offset).")
def sync_command(urn: str | None, full: bool, now_text: str | None) -> None:
    """Sync pupils, contacts, classes, year groups and staff from the MIS now."""
    engine = runtime_engine()
    with Session(engine) as session:
        schools = _schools(session, urn)
    failed = False
    for school in schools:
        try:
            summary = sync_school(
                engine, school=school, settings=get_settings(), full=full, now=_now(now_text, school.timezone)
            )
            click.echo(f"{school.urn} {school.name}: {summary}")
        except MisError as exc:
            failed = True
            click.echo(f"{school.urn} {school.name}: not synced: {exc}", err=True)
    if failed:
        raise SystemExit(1)


@mis.command("read")
@click.option("--school", "urn", help="School URN (default: every linked school).")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Read marks changed since this day (a first read of older marks), not since the last.",
)
@click.option("--now", "now_text", help="Run as if at this time (ISO; local time without an offset).")
def read_command(urn: str | None, since, now_text: str | None) -> None:
    """Read the register (session marks) from the MIS now and act on it as the clock would."""
    engine = runtime_engine()
    with Session(engine) as session:
        schools = _schools(session, urn)
    failed = False
    for school in schools:
        now = _now(now_text, school.timezone)
        start = clock.at_local(since.date(), datetime.min.time(), school.timezone) if since else None
        try:
            summary = read_marks(engine, school=school, settings=get_settings(), now=now, since=start)
            click.echo(f"{school.urn} {school.name}: {summary}")
        except MisError as exc:
            failed = True
            click.echo(f"{school.urn} {school.name}: not read: {exc}", err=True)
    if failed:
        raise SystemExit(1)


@mis.command("writeback")
@click.option("--now", "now_text", help="Run as if at this time (ISO).")
def writeback_command(now_text: str | None) -> None:
    """Send the changes waiting for the MIS now."""
    summary = send_due(runtime_engine(), settings=get_settings(), now=_now(now_text, None))
    click.echo(f"write-back: {summary}")


@mis.command("status")
@click.option("--school", "urn", help="School URN (default: every linked school).")
def status_command(urn: str | None) -> None:
    """Each linked school: last sync, last register read, the link's health, the write-back queue."""
    with Session(runtime_engine()) as session:
        for school in _schools(session, urn):
            link = session.get(MisConnection, school.id)
            queue = dict(
                session.exec(
                    select(MisWriteback.status, func.count())
                    .where(MisWriteback.school_id == school.id)
                    .group_by(MisWriteback.status)
                ).all()
            )

            def when(value: datetime | None, tz: str = school.timezone) -> str:
                return f"{clock.to_local(value, tz):%a %d %b %H:%M}" if value else "never"

            click.echo(
                f"{school.urn} {school.name} (Wonde {school.wonde_id}, write-back "
                f"{'on' if school.mis_writeback else 'off'})"
            )
            click.echo(
                f"  synced: {when(link.synced_at if link else None)}; register read: "
                f"{when(link.marks_read_at if link else None)}"
            )
            if link and link.failing_since:
                click.echo(f"  UNREACHABLE since {when(link.failing_since)}: {link.last_error}")
            counts = ", ".join(f"{n} {status}" for status, n in sorted(queue.items()))
            click.echo("  write-back: " + (counts or "nothing yet"))


def register(main: click.Group) -> None:
    main.add_command(mis)
