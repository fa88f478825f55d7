"""``attendance-bot clock`` and ``attendance-bot jobs``: the clock process and running jobs by hand."""

import json
import signal

import click
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import clock as bot_clock
from bot import shutdown
from bot.jobs import JOBS, run_job
from bot.runtime import engine as get_engine
from bot.settings import get_settings
from bot.summary import JobSummary
from scheduler.schedule import all_slots, refused_schools
from scheduler.signals import call_stoppable
from storage.models import School


@click.command("clock")
def clock_command() -> None:
    """Run the clock process (register close, chases, sweeps, sending). One active clock at a time.

    In production a school whose alerts would reach nobody (no Slack channel, no Teams URL and no
    DSL / attendance lead email with SMTP) is not run, and is named; with no school left to run,
    the clock does not start.
    """
    from scheduler.clock import run_clock

    engine, settings = get_engine(), get_settings()
    with Session(engine) as session:
        refused = refused_schools(session, settings)
        total = len(session.exec(select(School.id)).all())
    for school, why in refused:
        click.echo(
            f"Refusing to run school {school.urn} {school.name}: its alerts would reach nobody ({why}).",
            err=True,
        )
    if refused and len(refused) == total:
        raise click.ClickException("No school has an alert route: the clock will not start.")
    run_clock(engine, settings)


@click.group()
def jobs() -> None:
    """List the clock's jobs or run one by hand (for one school or all, at a given time)."""


@jobs.command("list")
@click.option("--school", "urn", help="Only this school (URN).")
def list_jobs(urn: str | None) -> None:
    """Every job, and each school's timetable with the next run."""
    click.echo("Jobs:")
    for job in JOBS.values():
        scope = "per school" if job.per_school else "global"
        click.echo(f"  {job.name:<17} {scope:<10} {job.help}")
    now = bot_clock.now()
    with Session(get_engine()) as session:
        schools = {s.id: s for s in session.exec(select(School)).all()}
        slots = all_slots(session)
    click.echo("\nTimetable (school days only; times in the school's zone):")
    for slot in slots:
        school = schools[slot.school_id]
        if urn and school.urn != urn:
            continue
        nxt = slot.trigger().get_next_fire_time(None, now)
        local = bot_clock.to_local(nxt, school.timezone) if nxt else None
        click.echo(
            f"  {school.urn} {slot.job:<17} {slot.label:<6} {slot.days:<8} next {local:%a %d %b %H:%M}"
            if local
            else ""
        )


@jobs.command("run")
@click.argument("name", type=click.Choice(sorted(JOBS)))
@click.option("--school", "urn", help="School URN (default: every school).")
@click.option(
    "--session",
    "session_name",
    type=click.Choice(["am", "pm"], case_sensitive=False),
    default="am",
    show_default=True,
    help="For register-close and registers-missing.",
)
@click.option(
    "--now",
    "now_text",
    help="Run as if at this time, e.g. 2026-11-23T09:15:00+00:00 "
    "(a time without an offset is the school's local time).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summaries as JSON.")
@click.option(
    "--force", is_flag=True, help="For report-links: send on any school day, not only the first of a term."
)
def run(
    name: str, urn: str | None, session_name: str, now_text: str | None, as_json: bool, force: bool
) -> None:
    """Run job NAME now (or at --now) and say what it did."""
    engine = get_engine()
    schools = [_school_by_urn(engine, urn)] if urn else None
    tz = schools[0].timezone if schools else None
    try:
        now = bot_clock.parse_now(now_text, tz)
    except ValueError:
        raise click.BadParameter(f"'{now_text}' is not an ISO date-time", param_hint="--now") from None
    opts = _job_options(name, session_name=session_name, force=force)
    # A deploy's SIGTERM: finish the school in hand, start no other, say which are done.
    results = call_stoppable(
        lambda: run_job(name, engine, get_settings(), now=now, schools=schools, **opts), signal.SIGTERM
    )
    for school, summary in results:
        _echo_summary(name, school, summary, as_json=as_json)
    if JOBS[name].per_school and shutdown.requested():
        done = " ".join(school.urn for school, _ in results) or "none"
        raise click.ClickException(
            f"Stopped (SIGTERM). Schools done: {done}. Run the job again for the "
            "others (a school already done is not repeated)."
        )


def _school_by_urn(engine: Engine, urn: str) -> School:
    """The school with this URN, or a clear message saying how to add it."""
    with Session(engine) as session:
        school = session.exec(select(School).where(School.urn == urn)).first()
    if school is None:
        raise click.ClickException(
            f"No school with URN {urn}. Import it first (attendance-bot "
            "import schools FILE) or run attendance-bot demo-data."
        )
    return school


def _job_options(name: str, *, session_name: str, force: bool) -> dict:
    """The options to pass: ``--session`` and ``--force`` mean something to some jobs only, and the
    others are not given them."""
    opts = {}
    if "session_name" in JOBS[name].options:
        opts["session_name"] = session_name.upper()
    if name == "report-links" and force:
        opts["force"] = True
    return opts


def _echo_summary(name: str, school: School | None, summary: JobSummary, *, as_json: bool) -> None:
    """One line per school: readable, or one JSON object a script can parse."""
    if as_json:
        click.echo(
            json.dumps(
                {"school": school.urn if school else None, "job": name, "summary": summary.as_dict()},
                default=str,
            )
        )
    else:
        who = f"{school.urn} {school.name}" if school else "all schools"
        click.echo(f"{name} — {who}: {summary}")


def register(main: click.Group) -> None:
    main.add_command(clock_command)
    main.add_command(jobs)
