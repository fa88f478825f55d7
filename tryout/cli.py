"""The demo kit's commands: ``demo-data`` (load the sample trust), ``demo`` (a scripted week) and
``run-local`` (the bot with the sandbox on this machine).

This package imports the product and the product never imports it (tests/test_architecture.py):
its commands reach ``attendance-bot`` through the ``attendance_bot.commands`` entry point.
"""

import sys

import click
from sqlmodel import select

from bot import clock
from bot.cli.importing import _engine, _import_one, _report
from bot.errors import UserError
from storage.db import session_scope
from storage.models import School
from tryout.sample import sample_files


@click.command("demo-data")
@click.option("--force", is_flag=True, help="Load even if the database already has schools (updates them).")
def demo_data(force: bool) -> None:
    """Load the sample trust (Oakfield Primary, Riverside Academy) into the database.

    Two fictional schools with pupils, families, staff, the 2026/27 calendar and registers from
    Thu 3 Sep to Fri 20 Nov 2026. Mobiles are in the Ofcom drama range, so no real phone is texted.
    """
    engine = _engine()
    try:
        with session_scope(engine) as session:
            if session.exec(select(School)).first() is not None and not force:
                raise click.ClickException(
                    "The database already has schools; demo-data only loads into an empty database. "
                    "Use --force to load it anyway (existing sample rows are updated, not duplicated)."
                )
            failed = False
            now = clock.now()
            for kind, path, urn in sample_files():
                where = f"{urn}/{path.name}" if urn else path.name
                click.echo(f"loading {where} ...", err=True)
                result = _import_one(session, kind=kind, path=path, school_urn=urn, now=now)
                _report(result, where)
                if not result.ok:
                    failed = True
                    break
            if failed:
                session.rollback()
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        engine.dispose()
    if failed:
        click.echo("demo-data: nothing loaded.", err=True)
        sys.exit(1)
    click.echo("demo-data: sample trust loaded (Oakfield Primary School 100001, Riverside Academy 100002).")


def register(main: click.Group) -> None:
    from tryout import demo, local

    main.add_command(demo_data)
    demo.register(main)
    local.register(main)
