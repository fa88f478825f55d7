"""``attendance-bot privacy export|purge --school URN``: subject access and the retention purge by hand.

``export`` writes everything the bot holds about one pupil of the school (``bot.privacy.export``)
for a subject-access request; the pupil is looked up in that school only. ``purge`` runs the
nightly retention purge now (or at ``--now``), with ``--dry-run`` to see the counts and change
nothing. Both print counts only, never a name or a message.
"""

import logging
from pathlib import Path

import click
from sqlmodel import Session, select

from bot import clock
from bot.errors import UserError
from bot.privacy import export as exporting
from bot.privacy.purge import KINDS, purge
from bot.privacy.retention import RetentionRefused
from bot.runtime import engine as runtime_engine
from storage.db import lock_school
from storage.models import School

log = logging.getLogger(__name__)


def _school(session: Session, urn: str) -> School:
    school = session.exec(select(School).where(School.urn == urn)).first()
    if school is None:
        raise click.ClickException(f"No school with URN {urn}.")
    return school


@click.group("privacy")
def privacy() -> None:
    """Retention purge and subject-access exports (see the README: Retention and subject access)."""


@privacy.command("export")
@click.option("--school", "urn", required=True, metavar="URN", help="The pupil's school (URN).")
@click.option("--pupil", "key", required=True, metavar="UPN_OR_ID", help="The pupil's UPN (or id).")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The file to write."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "zip"]),
    default=None,
    help="json (one document) or zip (one CSV per table); default: from --out's suffix, else json.",
)
@click.option("--now", "now_text", help="Date the export at this time (ISO).")
def export(urn: str, key: str, out: Path, fmt: str | None, now_text: str | None) -> None:
    """Everything the bot holds about one pupil, for a subject-access request."""
    fmt = fmt or ("zip" if out.suffix.lower() == ".zip" else "json")
    with Session(runtime_engine()) as session:
        school = _school(session, urn)
        now = clock.parse_now(now_text, school.timezone)
        try:
            pupil = exporting.find_pupil(session, school=school, key=key)
        except UserError as exc:
            raise click.ClickException(str(exc)) from None
        tables = exporting.pupil_tables(session, school=school, pupil=pupil)
        write = exporting.to_zip if fmt == "zip" else exporting.to_json
        out.write_bytes(write(school=school, pupil=pupil, now=now, tables=tables))
    log.info("privacy export: school %s pupil %s", school.id, pupil.id)
    click.echo(f"Exported pupil {pupil.id} of {school.name} to {out} ({fmt}):")
    for name, rows in tables.items():
        click.echo(f"  {name}: {len(rows)}")
    click.echo(
        "Review it before handing it over: messages about siblings name them, and safeguarding "
        "content may be exempt."
    )


@privacy.command("purge")
@click.option("--school", "urn", required=True, metavar="URN", help="The school (URN).")
@click.option("--dry-run", is_flag=True, help="Count what would be purged; change nothing.")
@click.option("--now", "now_text", help="Purge as at this time (ISO; default: now).")
def purge_(urn: str, dry_run: bool, now_text: str | None) -> None:
    """Remove or redact what the school's retention policy no longer allows to be kept."""
    with Session(runtime_engine(), expire_on_commit=False) as session:
        school = _school(session, urn)
        name, now = school.name, clock.parse_now(now_text, school.timezone)
        lock_school(session, school.id)
        try:
            counts = purge(session, school=school, now=now)
        except RetentionRefused as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        if dry_run:
            session.rollback()
        else:
            session.commit()
    verb = "would be purged (dry run, nothing changed)" if dry_run else "purged"
    click.echo(f"{name}: {sum(counts.values())} row(s) {verb}:")
    for kind in KINDS:
        click.echo(f"  {kind.replace('_', ' ')}: {counts[kind]}")


def register(main: click.Group) -> None:
    main.add_command(privacy)
