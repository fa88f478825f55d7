"""``attendance-bot export amendments``: the register's amendments as CSV, to update the MIS by hand."""

import sys
from pathlib import Path

import click
from sqlmodel import Session, select

from bot.register.export import amendments, write_csv
from bot.runtime import engine as runtime_engine
from storage.models import School


@click.group("export")
def export() -> None:
    """Export records as CSV."""


@export.command("amendments")
@click.option("--school", "urn", required=True, metavar="URN", help="The school (URN).")
@click.option(
    "--since",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Amendments made on or after this day (YYYY-MM-DD, the school's time).",
)
@click.option(
    "--not-written-back",
    is_flag=True,
    help="Only the bot's changes the MIS does not have yet (not written back, or refused).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (UTF-8 with a byte-order mark, for Excel) instead of the screen.",
)
def export_amendments(urn: str, since, not_written_back: bool, out: Path | None) -> None:
    """Every amendment of a mark since a day: the session, the original and the new code, the
    reason, who made it and when, and whether it reached the MIS."""
    with Session(runtime_engine()) as session:
        school = session.exec(select(School).where(School.urn == urn)).first()
        if school is None:
            raise click.ClickException(f"No school with URN {urn}.")
        rows = amendments(session, school=school, since=since.date(), not_written_back=not_written_back)
    if out is None:
        n = write_csv(rows, school=school, out=sys.stdout)
    else:
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            n = write_csv(rows, school=school, out=handle)
    click.echo(f"{n} amendment{'s' if n != 1 else ''} exported" + (f" to {out}" if out else ""), err=True)


def register(main: click.Group) -> None:
    main.add_command(export)
