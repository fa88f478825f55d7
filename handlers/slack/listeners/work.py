"""What every listener does after ``ack()``: run a command line as the Slack user, off the request
thread, and answer ephemerally through ``response_url``. Failures never reach the user as a trace."""

import html
import logging
import uuid
from collections.abc import Callable
from dataclasses import astuple

from slack_sdk.webhook import WebhookClient

from bot.commands import Who, run_as, views
from storage.db import engine_for, session_scope

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

    With worker processes in the context and a ``response_url`` to answer to, the work runs in one
    of them (see ``handlers/slack/work_processes.py``); otherwise on the work threads."""
    processes = context.get("processes") if hasattr(context, "get") else None
    response_url = getattr(respond, "response_url", None)
    if processes is not None and response_url:
        url = context["engine"].url.render_as_string(hide_password=False)
        try:
            processes.submit(answer_in_process, url, astuple(who), line, response_url, replace_original)
            return
        except Exception as exc:  # e.g. a daemonic web process may not start children: use the threads
            log.warning("slack work processes unavailable (%s); using threads", type(exc).__name__)
    engine = context["engine"]

    def job() -> None:
        message = _answer(engine, who, line)
        respond(**message, response_type="ephemeral", replace_original=replace_original)

    submit(context, job)


def answer_in_process(
    database_url: str, who: tuple, line: str, response_url: str, replace_original: bool
) -> None:
    """The job a worker process runs: plain arguments in, the answer posted to ``response_url``."""
    try:
        message = _answer(engine_for(database_url), Who(*who), line)
        WebhookClient(response_url).send(
            **message, response_type="ephemeral", replace_original=replace_original
        )
    except Exception:
        log.exception("slack work failed ref=%s user=%s", uuid.uuid4().hex[:8], who[1])


def _answer(engine, who: Who, line: str) -> dict:
    """The command's answer as a Slack message; a failure becomes the friendly message with a ref."""
    try:
        with session_scope(engine) as session:
            result = run_as(session, who=who, text=line)
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("slack command failed ref=%s user=%s", ref, who.user_id)
        result = views.error(SORRY.format(ref=ref), ref=ref)
    return views.to_slack(result)
