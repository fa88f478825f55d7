"""What every listener does after ``ack()``: run a command line as the Slack user, off the request
thread, and answer ephemerally through ``response_url``. Failures never reach the user as a trace."""

import html
import logging
import uuid
from collections.abc import Callable

from bot import clock
from bot.chat import blocks
from bot.commands import Who, results, run_as
from storage.db import session_scope

log = logging.getLogger(__name__)

SORRY = "Sorry, something went wrong (ref {ref}). Please try again or tell your administrator."


def submit(context, job: Callable[[], None]) -> None:
    """Run ``job`` on the work pool from the context (inline when there is none, as in unit tests)."""
    work = context.get("work") if hasattr(context, "get") else None
    if work is None:
        _guarded(job)
    else:
        work.submit(_guarded, job)


def _guarded(job: Callable[[], None]) -> None:
    try:
        job()
    except Exception:
        log.exception("slack work failed ref=%s", uuid.uuid4().hex[:8])


def who_from(body: dict) -> Who:
    """The Slack account behind a slash command, an action or an event payload (ids only)."""
    user = body.get("user")
    if isinstance(user, dict):
        team = user.get("team_id") or (body.get("team") or {}).get("id")
        return Who("slack", user.get("id", ""), team)
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    return Who("slack", body.get("user_id") or user or "", team)


def clean(text: str) -> str:
    """Slack escapes &, < and >; user mentions come as <@U123>."""
    return html.unescape(text or "").strip()


def run_and_respond(context, *, who: Who, line: str, respond, replace_original: bool = False) -> None:
    """Run ``line`` for ``who`` and answer ephemerally, replacing the original message when asked.

    "Now" is the moment Slack's request arrived, read once here at the edge.
    """
    engine = context["engine"]
    now = clock.now()

    def job() -> None:
        try:
            with session_scope(engine) as session:
                result = run_as(session, who=who, text=line, now=now)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("slack command failed ref=%s user=%s", ref, who.user_id)
            result = results.error(SORRY.format(ref=ref), ref=ref)
        message = blocks.command(result)
        respond(**message, response_type="ephemeral", replace_original=replace_original)

    submit(context, job)
