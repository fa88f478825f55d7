"""``attendance-bot import``: a school's CSV files (the sample trust's ``demo-data`` lives in ``tryout``).

It goes through ``bot.importing.import_file``: a file with any bad row imports nothing, and every bad
row is listed with its line number so the office can fix the file and try again.
"""

import sys
from datetime import datetime
from pathlib import Path

import click
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from bot import clock
from bot.errors import UserError
from bot.importing import ImportResult, import_file
from bot.importing.formats import FORMATS
from bot.settings import get_settings
from storage.db import make_engine, session_scope


def _engine() -> Engine:
    engine = make_engine(get_settings().database_url)
    if not inspect(engine).has_table("school"):
        engine.dispose()
        raise click.ClickException("The database has no tables: run attendance-bot db upgrade first.")
    return engine


class _Progress:
    """A one-line counter on stderr for big files (the terminal only; quiet when piped)."""

    def __init__(self, label: str):
        self.label = label
        self.shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total < 2000 or not sys.stderr.isatty():
            return
        click.echo(f"\r{self.label}: {stage} {done}/{total} rows", nl=False, err=True)
        self.shown = True

    def end(self) -> None:
        if self.shown:
            click.echo("", err=True)


def _report(result: ImportResult, source: str, *, dry_run: bool = False) -> None:
    for warning in result.warnings:
        click.echo(f"{source}: warning: {warning}", err=True)
    if result.ok:
        if dry_run:
            click.echo(f"dry run, nothing changed; the import would give {result.summary()}")
            for line in result.changes:
                click.echo(f"  {line}")
            if result.changes_total > len(result.changes):
                click.echo(f"  ... and {result.changes_total - len(result.changes)} more changes")
            return
        click.echo(result.summary())
        return
    n = len(result.errors)
    click.echo(f"{source}: {n} problem{'s' if n != 1 else ''}, nothing imported:", err=True)
    for error in result.errors:
        click.echo(f"  {error}", err=True)


def _import_one(
    session, *, kind: str, path: Path, school_urn: str | None, now: datetime, mapping: tuple[str, ...] = ()
) -> ImportResult:
    progress = _Progress(f"{kind} ({path.name})")
    try:
        return import_file(
            session,
            kind=kind,
            path_or_stream=path,
            school_urn=school_urn,
            progress=progress,
            mapping=mapping,
            now=now,
        )
    finally:
        progress.end()


@click.command("import")
@click.argument("kind", type=click.Choice(list(FORMATS), case_sensitive=False))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--school", "school_urn", metavar="URN", help="URN of the school the file belongs to (not for schools)."
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="COLUMN=FIELD",
    help='Which column holds which field, e.g. --map "Person ID=mis_id" (repeat as needed).',
)
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change; change nothing.")
def import_command(
    kind: str, file: Path, school_urn: str | None, mapping: tuple[str, ...], dry_run: bool
) -> None:
    """Import a CSV FILE of KIND (schools, pupils, contacts, staff, marks, calendar).

    All or nothing: a file with any bad row imports nothing and every bad row is listed with its
    line number. Importing a file again updates rows by their ids; it never makes duplicates.
    SIMS, Arbor and Bromcom export headers (Adno, Legal Surname, Reg, DOB...) are understood, and
    a register with one column per session. Formats: docs/csv-formats.md.
    """
    kind = kind.lower()
    engine = _engine()
    try:
        with session_scope(engine) as session:
            result = _import_one(
                session, kind=kind, path=file, school_urn=school_urn, now=clock.now(), mapping=mapping
            )
            if dry_run or not result.ok:
                session.rollback()
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    _report(result, file.name, dry_run=dry_run)
    if not result.ok:
        sys.exit(1)


def register(main: click.Group) -> None:
    main.add_command(import_command)
