"""``attendance-bot reason``: what the bot understands from a parent's reply (no network)."""

import json
import sys
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


@click.command("reason")
@click.argument("text", required=False)
@click.option("--today", "today_text", help="The date the reply was received (YYYY-MM-DD).")
@click.option("--jsonl", is_flag=True,
              help='Read lines {"text": ..., "today": ...} from stdin; print one JSON object per line.')
def reason(text: str | None, today_text: str | None, jsonl: bool) -> None:
    """Print the suggested code, return date, concern flag and confidence for TEXT as JSON.

    \b
    Example:
      attendance-bot reason --today 2026-11-27 "she's got a temperature, back tomorrow"
      {"code": "I", "return_date": "2026-11-30", "concern": false, "confidence": 0.9}
    """
    from bot.replies.understand import understand

    if jsonl:
        for n, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                result = understand(str(item["text"]), _today(item.get("today") or today_text))
            except (ValueError, KeyError, click.BadParameter) as exc:
                raise click.ClickException(f"line {n}: {exc}") from None
            click.echo(json.dumps(result.as_json(), ensure_ascii=False))
        return
    if text is None:
        raise click.UsageError("give the reply TEXT, or --jsonl to read lines from stdin")
    click.echo(json.dumps(understand(text, _today(today_text)).as_json(), ensure_ascii=False))


def register(main: click.Group) -> None:
    main.add_command(reason)
