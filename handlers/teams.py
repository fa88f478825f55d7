"""Teams without Azure: an outgoing webhook, ``POST /teams/messages``.

A channel member types ``@Attendance recode Amelia I ill``; Teams posts the activity here with
``Authorization: HMAC <base64>``, the HMAC-SHA256 of the raw body keyed with the base64-decoded
security token. Microsoft gives each outgoing webhook its own token, scoped to one team, so a trust
lists one per school (``TEAMS_SCHOOL_SECRETS``, by URN): the token that verifies the body names the
school, and only that school's staff are recognised through it (``TEAMS_OUTGOING_WEBHOOK_SECRET``
is the one-school shortcut). A missing or wrong signature gets 401 and changes nothing. An
activity whose ``timestamp`` is more than 5 minutes from our clock is refused (400), and one whose
id was already answered is not run again: a captured request cannot be replayed.

The sender is mapped by ``from.aadObjectId`` to ``Staff.teams_user_id`` and the same command core
runs, in its shared-channel view (the answer shows in the channel thread: DSL-only alerts are left
out even for the DSL). The answer must come back within 5 seconds. Slow work answers "still
working"; when it finishes, the school's Workflows channel is told only that it is ready (never its
content), and the requester's next identical command gets it at once (``teams_memory.py``).
"""

import base64
import binascii
import hashlib
import hmac
import html
import json
import logging
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta

from flask import Flask, jsonify, request

from bot import clock
from bot.chat import cards
from bot.chat.message import CommandResult
from bot.chat.teams import teams_escape, teams_message
from bot.commands import Who, run_as
from bot.commands.identity import find_staff
from bot.settings import Settings
from handlers import deps
from handlers.teams_memory import SeenActivities, SlowAnswers, answer_key
from storage.db import session_scope
from storage.models import Alert, School

log = logging.getLogger(__name__)

ANSWER_WITHIN_SECONDS = 4.0  # Teams gives up at 5
NOT_CONFIGURED = (
    "Teams is not configured on this server: set TEAMS_SCHOOL_SECRETS (one webhook token per "
    "school) or TEAMS_OUTGOING_WEBHOOK_SECRET."
)
_AT = re.compile(r"<at>.*?</at>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Teams sends 7 digits of seconds' fraction; Python reads 6
MAX_SKEW = timedelta(minutes=5)
STILL_WORKING = (
    "Still working on that. I'll say in the channel when it is ready (without the answer): "
    "then send the same command again to see it."
)
READY = "{name}: the answer to your command is ready. Send the same command again within 5 minutes to see it."
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="teams-work")


def signature_ok(body: bytes, header: str | None, secret: str) -> bool:
    """Constant-time check of ``Authorization: HMAC <base64>`` over the raw body."""
    if not header or not header.startswith("HMAC "):
        return False
    try:
        key = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        log.error("TEAMS_OUTGOING_WEBHOOK_SECRET is not base64")
        return False
    expected = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), header[5:].strip().encode())


def sign(body: bytes, secret: str) -> str:
    """The header Teams would send (for tests and tools)."""
    key = base64.b64decode(secret)
    return "HMAC " + base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def command_text(activity: dict) -> str:
    """The typed words, without the bot's mention and the HTML Teams wraps them in."""
    text = activity.get("text") or ""
    text = _AT.sub(" ", text)
    text = _TAG.sub(" ", text.replace("<br>", " ").replace("<br/>", " "))
    return " ".join(html.unescape(text).replace("\xa0", " ").split())


def who_from(activity: dict, *, school_urn: str | None = None) -> Who:
    sender = activity.get("from") or {}
    return Who("teams", sender.get("aadObjectId") or sender.get("id") or "", team_id=school_urn)


def reply_for(result: CommandResult, card: dict | None = None) -> dict:
    """Short results as text; lists, timelines and choices as an Adaptive Card."""
    if card is None and not result.sections and not result.choices:
        return {"type": "message", "text": teams_escape(result.title)}
    return teams_message(card or cards.command(result), text=teams_escape(result.title))


def sent_at(activity: dict) -> datetime | None:
    """The activity's own ``timestamp`` (UTC), or None when it is missing or unreadable."""
    raw = activity.get("timestamp")
    if not isinstance(raw, str):
        return None
    try:
        at = datetime.fromisoformat(_FRACTION.sub(r"\1", raw.strip()).replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def too_far(activity: dict, *, now: datetime) -> str | None:
    """Why the activity's time is refused (stale, future or missing), or None when it is fine."""
    at = sent_at(activity)
    if at is None:
        return "The message has no readable timestamp, so it was not run."
    if at < now - MAX_SKEW:
        return "The message is more than 5 minutes old, so it was not run (a replay?). Please type it again."
    if at > now + MAX_SKEW:
        return "The message is dated more than 5 minutes ahead of this server's clock, so it was not run."
    return None


def activity_key(activity: dict) -> str | None:
    """Activity ids are unique within a conversation."""
    ident = activity.get("id")
    if not ident:
        return None
    return f"{(activity.get('conversation') or {}).get('id', '')}|{ident}"


def _run(engine, who: Who, line: str, now: datetime) -> tuple[CommandResult, dict | None]:
    """Run the command in its shared-channel view; for an alert action, also the re-rendered card."""
    from bot.alerts.view import alert_view

    with session_scope(engine) as session:
        result = run_as(session, who=who, text=line, now=now, shared=True)
        card = None
        if result.ok and result.alert_id:
            card = cards.alert(alert_view(session, session.get(Alert, result.alert_id)))
    return result, card


def _ready_notice(session, who: Who) -> tuple[str | None, str]:
    """The school's Workflows URL and the content-free "ready" line for this requester."""
    staff = find_staff(session, who)
    school = session.get(School, staff.school_id) if staff is not None else None
    name = staff.name if staff is not None else "Someone"
    return (school.teams_workflow_url if school else None), READY.format(name=teams_escape(name))


def _when_ready(future, answers: SlowAnswers, key, workflow: str | None, notice: str) -> None:
    """A command that missed the window: keep its answer for the requester and tell the channel
    only that it is ready. The answer itself never goes to the channel."""

    def done(f):
        answers.finished(key, now=clock.now())
        if f.exception() is not None:
            log.error("late Teams command failed: %s", type(f.exception()).__name__)
        if not workflow:
            return
        from bot.chat import teams

        try:
            teams.post(workflow, {"type": "message", "text": notice})
        except Exception:
            log.exception("Teams 'ready' notice could not be posted")

    future.add_done_callback(done)


def _answer(future) -> tuple:
    """The JSON answer for a finished command (a failure gets a reference, never a trace)."""
    try:
        result, card = future.result(timeout=0)
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("teams command failed ref=%s", ref)
        return jsonify({"type": "message", "text": f"Sorry, something went wrong (ref {ref})."}), 200
    return jsonify(reply_for(result, card)), 200


def _run_or_collect(app: Flask, who: Who, line: str, now: datetime):
    """Collect a kept answer to the same command, or run it, waiting up to the answer window."""
    answers: SlowAnswers = app.config["TEAMS_SLOW_ANSWERS"]
    key = answer_key(who.user_id, line)
    engine = deps.engine()
    future, started = answers.join_or_start(key, lambda: _pool.submit(_run, engine, who, line, now), now=now)
    try:
        future.result(timeout=ANSWER_WITHIN_SECONDS)
    except FutureTimeout:
        if started:
            with deps.db() as session:
                workflow, notice = _ready_notice(session, who)
            _when_ready(future, answers, key, workflow, notice)
        return jsonify({"type": "message", "text": STILL_WORKING}), 200
    except Exception:
        pass  # reported by _answer
    answers.collect(key)
    return _answer(future)


def register(app: Flask) -> None:
    settings: Settings = app.config["SETTINGS"]
    app.config["TEAMS_SEEN"] = seen = SeenActivities()
    app.config["TEAMS_SLOW_ANSWERS"] = SlowAnswers()

    @app.post("/teams/messages")
    def teams_messages():
        secrets = settings.teams_secrets()
        if not secrets:
            return jsonify({"type": "message", "text": NOT_CONFIGURED}), 503
        body = request.get_data(cache=False)
        header = request.headers.get("Authorization")
        signer = next((urn or "" for urn, secret in secrets if signature_ok(body, header, secret)), None)
        if signer is None:
            log.warning("teams: bad or missing HMAC from %s", request.remote_addr)
            return jsonify({"error": "bad signature"}), 401
        try:
            activity = json.loads(body)
        except ValueError:
            return jsonify({"type": "message", "text": "I could not read that message."}), 400
        if not isinstance(activity, dict):
            return jsonify({"type": "message", "text": "I could not read that message."}), 400
        now = clock.now()
        refused = too_far(activity, now=now)
        if refused:
            log.warning("teams: activity refused (%s)", "stale or future timestamp")
            return jsonify({"type": "message", "text": refused}), 400
        key = activity_key(activity)
        if key is None:
            return jsonify({"type": "message", "text": "The message has no id, so it was not run."}), 400
        if not seen.first_time(key, now=now):
            log.warning("teams: activity already answered; replay ignored")
            return jsonify({"type": "message", "text": "Already answered; not run again."}), 409
        who = who_from(activity, school_urn=signer or None)
        return _run_or_collect(app, who, command_text(activity), now)
