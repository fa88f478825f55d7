"""Teams without Azure: an outgoing webhook, ``POST /teams/messages``.

A channel member types ``@Attendance recode Amelia I ill``; Teams posts the activity here with
``Authorization: HMAC <base64>``, the HMAC-SHA256 of the raw body keyed with the base64-decoded
security token (``TEAMS_OUTGOING_WEBHOOK_SECRET``). A missing or wrong signature gets 401 and
changes nothing. The sender is mapped by ``from.aadObjectId`` to ``Staff.teams_user_id`` and the
same command core runs; the answer must come back within 5 seconds, so slow work answers
"still working" and posts its result to the school's Workflows channel when it finishes.
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
from datetime import datetime

from flask import Flask, jsonify, request

from bot import clock
from bot.chat.teams import teams_message
from bot.commands import Who, run_as, views
from bot.commands.identity import find_staff
from bot.settings import Settings
from handlers import deps
from storage.db import session_scope
from storage.models import Alert, School

log = logging.getLogger(__name__)

ANSWER_WITHIN_SECONDS = 4.0  # Teams gives up at 5
NOT_CONFIGURED = "Teams is not configured on this server: set TEAMS_OUTGOING_WEBHOOK_SECRET."
_AT = re.compile(r"<at>.*?</at>", re.I | re.S)
_TAG = re.compile(r"<[^>]+>")
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


def who_from(activity: dict) -> Who:
    sender = activity.get("from") or {}
    return Who("teams", sender.get("aadObjectId") or sender.get("id") or "")


def reply_for(result: views.CommandResult, card: dict | None = None) -> dict:
    """Short results as text; lists, timelines and choices as an Adaptive Card."""
    if card is None and not result.sections and not result.choices:
        return {"type": "message", "text": result.title}
    return teams_message(card or views.to_teams_card(result), text=result.title)


def _run(engine, who: Who, line: str, now: datetime) -> tuple[views.CommandResult, dict | None]:
    """Run the command; for an alert action, also the re-rendered alert card (the update in place)."""
    from bot.alerts.deliver import teams_card

    with session_scope(engine) as session:
        result = run_as(session, who=who, text=line, now=now)
        card = None
        if result.ok and result.alert_id:
            card = teams_card(session, session.get(Alert, result.alert_id))
    return result, card


def _workflow_for(session, who: Who) -> str | None:
    staff = find_staff(session, who)
    school = session.get(School, staff.school_id) if staff is not None else None
    return school.teams_workflow_url if school else None


def _post_late(future, workflow: str | None) -> None:
    """A command that missed the 5-second window: post its result to the school's channel."""

    def done(f):
        try:
            result, card = f.result()
        except Exception:
            log.exception("late Teams command failed")
            return
        if not workflow:
            return
        from bot.chat import teams

        try:
            teams.post(workflow, reply_for(result, card))
        except Exception:
            log.exception("late Teams result could not be posted")

    future.add_done_callback(done)


def register(app: Flask) -> None:
    settings: Settings = app.config["SETTINGS"]

    @app.post("/teams/messages")
    def teams_messages():
        secret = settings.teams_outgoing_webhook_secret
        if not secret:
            return jsonify({"type": "message", "text": NOT_CONFIGURED}), 503
        body = request.get_data(cache=False)
        if not signature_ok(body, request.headers.get("Authorization"), secret):
            log.warning("teams: bad or missing HMAC from %s", request.remote_addr)
            return jsonify({"error": "bad signature"}), 401
        try:
            activity = json.loads(body)
        except ValueError:
            return jsonify({"type": "message", "text": "I could not read that message."}), 400
        who, line = who_from(activity), command_text(activity)
        future = _pool.submit(_run, deps.engine(), who, line, clock.now())
        try:
            result, card = future.result(timeout=ANSWER_WITHIN_SECONDS)
        except FutureTimeout:
            with deps.db() as session:
                _post_late(future, _workflow_for(session, who))
            return jsonify(
                {
                    "type": "message",
                    "text": "Still working on that; the result will be posted in the channel.",
                }
            )
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("teams command failed ref=%s", ref)
            return jsonify({"type": "message", "text": f"Sorry, something went wrong (ref {ref})."})
        return jsonify(reply_for(result, card))
