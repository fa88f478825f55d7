"""``attendance-bot report weekly``: the weekly attendance report for one school, now or for a past week."""

import json
from datetime import date
from pathlib import Path

import click
from sqlmodel import select

from bot import clock
from bot.runtime import engine
from bot.settings import get_settings
from storage.db import session_scope
from storage.models import School


@click.group("report")
def report() -> None:
    """Attendance reports."""


@report.command("weekly")
@click.option("--school", "urn", required=True, help="The school's URN.")
@click.option("--week-ending", "week_ending", help="Any date in the week to report (default: this week).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Folder for the HTML and PNG.")
@click.option("--now", "now_text", help="Run as if at this time (ISO; school time if no offset).")
@click.option(
    "--post/--no-post",
    default=False,
    show_default=True,
    help="Also post it to the attendance channel. The clock's Friday job posts each week's "
    "report once; a week already posted is not posted again.",
)
def weekly_cmd(
    urn: str, week_ending: str | None, out_dir: str | None, now_text: str | None, post: bool
) -> None:
    """Build the weekly report and save it as HTML with a chart (posting only with --post).

    A week not finished yet is reported as far as it goes: the report says how many sessions it
    covers.
    """
    from bot.reports import weekly
    from bot.reports.scheduled import produce, reports_dir

    settings = get_settings()
    with session_scope(engine(settings)) as session:
        school = session.exec(select(School).where(School.urn == urn)).first()
        if school is None:
            raise click.ClickException(f"No school with URN {urn}.")
        now = clock.parse_now(now_text, school.timezone)
        try:
            local_today = clock.to_local(now, school.timezone).date()
            day = date.fromisoformat(week_ending) if week_ending else local_today
        except ValueError:
            raise click.BadParameter(f"'{week_ending}' is not a date like 2026-11-27") from None
        result = produce(
            session,
            school=school,
            week_ending=weekly.week_bounds(day)[1],
            out_dir=Path(out_dir) if out_dir else reports_dir(settings),
            now=now,
            post=post,
        )
    click.echo(json.dumps(result))


def register(main: click.Group) -> None:
    main.add_command(report)
