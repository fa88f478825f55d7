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


# The outer layers' command groups, declared in pyproject.toml (``attendance_bot.commands``) so that
# ``bot`` never imports ``handlers``, ``scheduler`` or the demo kit (``tryout``: ``demo``,
# ``demo-data``, ``run-local``). Each must be there: a stale install or a renamed module stops the
# CLI with a message instead of silently losing ``serve``, ``clock`` or ``run-local``.
OUTER_COMMANDS = {"web", "clock", "tryout"}


def _register() -> None:
    """Add every command group: ours by plain imports, the outer layers' through entry points."""
    from importlib.metadata import entry_points

    from bot.cli import (
        alerts,
        db,
        export,
        importing,
        letters,
        links,
        mis,
        outbox,
        policy,
        privacy,
        reason,
        report,
    )

    for module in (
        db,
        importing,
        reason,
        outbox,
        alerts,
        report,
        policy,
        letters,
        links,
        mis,
        export,
        privacy,
    ):
        module.register(main)
    found = {ep.name: ep for ep in entry_points(group="attendance_bot.commands")}
    missing = OUTER_COMMANDS - found.keys()
    if missing:
        raise SystemExit(
            f"attendance-bot is not installed properly: the {', '.join(sorted(missing))} "
            "commands are not declared. Reinstall it (pip install -e .)."
        )
    for name in sorted(found):
        found[name].load()(main)


_register()
