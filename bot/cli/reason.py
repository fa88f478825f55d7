"""``attendance-bot reason``: what the bot understands from a parent's reply (no network).

``attendance-bot reason TEXT`` (or ``--jsonl``) reads replies; ``attendance-bot reason train``
rebuilds the learned reader's model file from the labelled corpus.
"""

import json
import sys
from collections.abc import Callable
from datetime import date

import click

from bot import clock


def _today(value: str | None) -> date:
    if not value:
        return clock.to_local(clock.now()).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"'{value}' is not a date like 2026-11-23") from None


def _school_days(urn: str | None) -> Callable[[date], bool]:
    """The school's calendar from the database; without --school, the sample trust's 2026/27 one."""
    if urn is None:
        from bot.typical_calendar import calendar_2026_27

        return calendar_2026_27().is_school_day
    from sqlmodel import select

    from bot.calendar import load_calendar
    from bot.cli.importing import _engine
    from storage.db import session_scope
    from storage.models import School

    engine = _engine()
    try:
        with session_scope(engine) as s:
            school = s.exec(select(School).where(School.urn == urn)).first()
            if school is None:
                raise click.ClickException(f"no school with URN {urn}")
            calendar = load_calendar(s, school.id)
        if calendar.first_day is None:
            raise click.ClickException(f"school {urn} has no calendar: import its term dates first")
        return calendar.is_school_day
    finally:
        engine.dispose()


class _ReasonGroup(click.Group):
    """``reason TEXT`` reads a reply; ``reason train`` is a subcommand. Anything else is a reply."""

    def parse_args(self, ctx, args):
        if not args or args[0] not in self.commands:
            args = ["read", *args]
        return super().parse_args(ctx, args)


@click.group("reason", cls=_ReasonGroup)
def reason() -> None:
    """Read parents' replies (`reason TEXT`, `reason --jsonl`), or rebuild the model (`reason train`)."""


@reason.command("read")
@click.argument("text", required=False)
@click.option("--today", "today_text", help="The date the reply was received (YYYY-MM-DD).")
@click.option("--school", "urn", help="Use this school's calendar (its URN) for return dates.")
@click.option(
    "--jsonl",
    is_flag=True,
    help='Read lines {"text": ..., "today": ...} from stdin; print one JSON object per line.',
)
def read(text: str | None, today_text: str | None, urn: str | None, jsonl: bool) -> None:
    """Print the suggested code, return date, concern flag and confidence for TEXT as JSON.

    Return dates land on school days: the school's calendar with --school URN, otherwise a typical
    English 2026/27 calendar (the sample trust's: half-terms, Christmas, INSET days).

    \b
    Example:
      attendance-bot reason --today 2026-11-27 "she's got a temperature, back tomorrow"
      {"code": "I", "return_date": "2026-11-30", "concern": false, "confidence": 0.97}
    """
    from bot.replies.understand import understand

    school_day = _school_days(urn)
    if jsonl:
        for n, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                day = _today(item.get("today") or today_text)
                result = understand(str(item["text"]), day, is_school_day=school_day)
            except (ValueError, KeyError, TypeError, AttributeError, click.BadParameter) as exc:
                raise click.ClickException(f"line {n}: {exc}") from None
            click.echo(json.dumps(result.as_json(), ensure_ascii=False))
        return
    if text is None:
        raise click.UsageError("give the reply TEXT, or --jsonl to read lines from stdin")
    result = understand(text, _today(today_text), is_school_day=school_day)
    click.echo(json.dumps(result.as_json(), ensure_ascii=False))


@reason.command("train")
def train() -> None:
    """Rebuild the reader's model file from the labelled corpus (deterministic; about a minute)."""
    from bot.replies.reader.model import MODEL_PATH
    from bot.replies.reader.train import CORPUS_DIR
    from bot.replies.reader.train import train as run

    meta = run()
    click.echo(f"trained on {meta['lines']} lines from {CORPUS_DIR} -> {MODEL_PATH}")
    click.echo(f"corpus sha256 {meta['corpus_sha256']}; encoder {'on' if meta['encoder'] else 'off'}")


def register(main: click.Group) -> None:
    main.add_command(reason)
