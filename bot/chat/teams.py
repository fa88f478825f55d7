"""Posting Adaptive Cards to a Teams channel through a Workflows webhook ("Send webhook alerts to a
channel"). No Azure app is needed; the school pastes the workflow's URL into its settings.

Workflows accept ``{"type": "message", "attachments": [card]}`` with Adaptive Card version 1.5 or
lower and about 28 KB at most; 202 means accepted, not yet shown.
"""

import json
import re
import urllib.error
import urllib.request

from bot.errors import UserError

MAX_BYTES = 28 * 1024
TEAMS_CARD_VERSION = "1.5"


_MARKUP = re.compile(r"([\\*_\[\]`~])")  # bold, italic, links, code, strike (and the escape itself)
_BLOCK = re.compile(r"^([ \t]*)([-+#>])", re.M)  # list items, headings, quotes at a line's start
_ORDERED = re.compile(r"^([ \t]*\d+)([.)])", re.M)  # "1." starting a line is a numbered list


class TeamsPostError(RuntimeError):
    pass


def teams_escape(text: str) -> str:
    """Backslash-escape the Markdown that Adaptive Card TextBlocks and FactSets render, so a parent's
    ``[click](http://evil.example)`` or ``*bold*`` is shown as typed (as ``slack_escape`` does for
    Slack). Bare addresses are still linked by Teams itself, as they are by Slack."""
    text = _MARKUP.sub(r"\\\1", text)
    text = _BLOCK.sub(r"\1\\\2", text)
    return _ORDERED.sub(r"\1\\\2", text)


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
