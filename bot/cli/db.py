"""``attendance-bot db``: migrations."""

import click

from bot.settings import get_settings
from storage import migrate


@click.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command()
@click.option("--revision", default="head", show_default=True)
def upgrade(revision: str) -> None:
    """Create or upgrade the database to the latest schema."""
    url = get_settings().database_url
    migrate.upgrade(url, revision)
    click.echo(f"database at revision {migrate.current(url)}")


@db.command()
def current() -> None:
    """Show the database's schema revision."""
    click.echo(migrate.current(get_settings().database_url) or "empty (run: attendance-bot db upgrade)")


def register(main: click.Group) -> None:
    main.add_command(db)
