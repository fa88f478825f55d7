"""The ``attendance-bot`` command line.

Each command group lives in its own module and is added here; every command reads the settings
once, so a bad setting stops it with a message naming the setting.
"""

import logging
import sys

import click

from bot.settings import SettingsError, get_settings


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="attendance-bot")
def main() -> None:
    """Attendance bot: first-day absence messages, parent replies, staff commands, escalation.

    Settings come from the environment or a .env file (see the README). With no accounts set, the
    bot uses SQLite and local transports: messages land in the outbox (`attendance-bot outbox`).
    """
    logging.basicConfig(
        level=getattr(logging, get_settings().log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    # Library chatter (every job added, every migration context) drowns what operators need.
    for noisy in ("apscheduler", "alembic.runtime.migration", "waitress.queue"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _register() -> None:
    """Add every command group: ours, and those the outer layers (HTTP app, clock) declare.

    The outer layers register through the ``attendance_bot.commands`` entry point so that ``bot``
    never imports ``handlers`` or ``scheduler``.
    """
    from importlib.metadata import entry_points

    from bot.cli import db

    main.add_command(db.db)
    for optional in ("importing", "reason", "outbox", "report", "demo", "letters", "local"):
        try:
            module = __import__(f"bot.cli.{optional}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != f"bot.cli.{optional}":
                raise
            continue
        module.register(main)
    for ep in entry_points(group="attendance_bot.commands"):
        ep.load()(main)


_register()
