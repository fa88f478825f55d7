"""``attendance-bot letters``: stage letters due for staff to review and print. Nothing is sent."""

from datetime import date, datetime
from pathlib import Path

import click
from sqlmodel import select

from bot import clock
from bot.runtime import engine
from bot.settings import get_settings
from storage.db import session_scope
from storage.models import School


def _school(session, urn: str) -> School:
    school = session.exec(select(School).where(School.urn == urn)).first()
    if school is None:
        raise click.ClickException(f"No school with URN {urn}.")
    return school


def _today(value: str | None, school: School, now: datetime) -> date:
    if not value:
        return clock.to_local(now, school.timezone).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date like 2026-11-27") from None


@click.group("letters")
def letters() -> None:
    """Stage letters (attendance below 96%, below 90%, improvement) for staff to review."""


@letters.command("list")
@click.option("--school", "urn", required=True, help="The school's URN.")
@click.option("--today", "today_text", help="As of this date (YYYY-MM-DD).")
def list_cmd(urn: str, today_text: str | None) -> None:
    """List the letters due (not yet prepared this school year)."""
    from bot.letters.service import TYPES, due

    with session_scope(engine(get_settings())) as session:
        school = _school(session, urn)
        items = due(session, school=school, today=_today(today_text, school, clock.now()))
        if not items:
            click.echo("No letters due.")
        for item in items:
            click.echo(f"{item.percent:5.1f}%  {item.class_name:<6} {item.pupil_name:<30} {TYPES[item.kind]}")


@letters.command("render")
@click.option("--school", "urn", required=True, help="The school's URN.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Folder for the letters.")
@click.option("--today", "today_text", help="As of this date (YYYY-MM-DD).")
@click.option("--pdf/--no-pdf", default=True, show_default=True, help="Also write each letter as PDF.")
def render_cmd(urn: str, out_dir: str | None, today_text: str | None, pdf: bool) -> None:
    """Write each due letter in the family's language, with an English copy for the school's file,
    as printable HTML and PDF (for review, signing and sending by hand)."""
    from bot.letters.service import render_due

    settings = get_settings()
    with session_scope(engine(settings)) as session:
        school = _school(session, urn)
        folder = Path(out_dir) if out_dir else Path(settings.reports_dir) / "letters"
        now = clock.now()
        paths = render_due(
            session,
            school=school,
            today=_today(today_text, school, now),
            out_dir=folder,
            actor="cli",
            now=now,
            pdf=pdf,
        )
    for p in paths:
        click.echo(str(p))
    kinds = "HTML and PDF" if pdf else "HTML"
    click.echo(
        f"{len(paths)} letter(s) written to {folder} ({kinds}; in the family's language, with an "
        "English copy for the school's file); review, sign and send them by hand."
    )


def register(main: click.Group) -> None:
    main.add_command(letters)
