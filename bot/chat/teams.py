"""Posting Adaptive Cards to a Teams channel through a Workflows webhook ("Send webhook alerts to a
channel"). No Azure app is needed; the school pastes the workflow's URL into its settings.

Workflows accept ``{"type": "message", "attachments": [card]}`` with Adaptive Card version 1.5 or
lower and about 28 KB at most; 202 means accepted, not yet shown.
"""

import json
import urllib.error
import urllib.request

from bot.errors import UserError

MAX_BYTES = 28 * 1024
TEAMS_CARD_VERSION = "1.5"


class TeamsPostError(RuntimeError):
    pass


def teams_message(card: dict, *, text: str | None = None) -> dict:
    """The message envelope Teams accepts (outgoing-webhook replies and Workflows webhooks alike)."""
    msg: dict = {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }
    if text:
        msg["text"] = text
    return msg


def encode(message: dict) -> bytes:
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(body) > MAX_BYTES:
        raise UserError(f"The Teams card is too large ({len(body)} bytes; the limit is {MAX_BYTES}).")
    return body


def post(url: str, message: dict, *, timeout: float = 10.0) -> int:
    """POST the message; returns the HTTP status (2xx) or raises ``TeamsPostError``."""
    req = urllib.request.Request(
        url, data=encode(message), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URL is the school's setting
            return resp.status
    except urllib.error.HTTPError as exc:
        raise TeamsPostError(f"Teams workflow answered {exc.code}") from None
    except (urllib.error.URLError, TimeoutError) as exc:
        raise TeamsPostError(f"Teams workflow unreachable: {exc.__class__.__name__}") from None
