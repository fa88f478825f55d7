"""The signature check in front of Bolt, with reasons an operator can read in the log.

Slack signs ``v0:<timestamp>:<body>`` with the app's signing secret (slack_sdk's own
``SignatureVerifier`` computes it here); a timestamp more than 5 minutes from our clock is refused
so a captured request cannot be replayed.
"""

import hmac
import json
import re
import time
from collections.abc import Mapping
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

MAX_SKEW_SECONDS = 5 * 60
_TEAM = re.compile(r"^[A-Z0-9]{1,20}$")


def epoch_now() -> int:
    """The edge's reading of the clock, in Slack's unit (whole seconds since the epoch)."""
    return int(time.time())


def refusal(secret: str, body: bytes, headers: Mapping[str, str], *, now: int) -> str | None:
    """Why the request is refused (a short reason for the log), or None when it is Slack's."""
    stamp = headers.get("X-Slack-Request-Timestamp")
    signature = headers.get("X-Slack-Signature")
    if not stamp or not signature:
        return "missing timestamp or signature"
    if not stamp.strip().isdigit():
        return "timestamp is not a number"
    if abs(now - int(stamp)) > MAX_SKEW_SECONDS:
        return "timestamp more than 5 minutes from our clock"
    try:
        expected = SignatureVerifier(secret).generate_signature(timestamp=stamp.strip(), body=body)
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if not expected or not hmac.compare_digest(expected, signature):
        return "signature does not match"
    return None


def team_id(body: bytes) -> str:
    """The workspace the (unverified) request claims to come from, if it looks like a team id."""
    try:
        form = parse_qs(body.decode("utf-8"))
    except UnicodeDecodeError:
        return "?"
    team = (form.get("team_id") or [""])[0]
    if not team:
        try:
            team = _claimed_team(json.loads((form.get("payload") or [body])[0]))
        except ValueError:
            team = ""
    return team if isinstance(team, str) and _TEAM.match(team) else "?"


def _claimed_team(data) -> str:
    """``team_id`` (events) or ``team.id`` (interactive payloads)."""
    if not isinstance(data, dict):
        return ""
    team = data.get("team")
    return data.get("team_id") or (team.get("id", "") if isinstance(team, dict) else "")
