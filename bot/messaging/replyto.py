"""Per-message reply addresses on the school's mailbox: ``attendance+r123-k7f3xq2mba@school.example``.

Every email to a family carries one as its Reply-To when the bot reads the mailbox (IMAP settings):
a reply then names the very message it answers (and so the family and the cases), even from an
address we do not hold. The token is the outbox message id and an HMAC of it under ``SECRET_KEY``
in lower-case base32, so mail systems that fold the case of addresses keep it valid, and nobody can
make one up. Plus-addressing delivers it to the plain mailbox (Microsoft 365 and Google Workspace
do this by default).
"""

import base64
import hashlib
import hmac
import re

from bot.settings import Settings

_TOKEN = re.compile(r"^r(\d{1,12})-([a-z2-7]{10})$")


def _sig(settings: Settings, message_id: int) -> str:
    key = settings.secret_key.encode()
    digest = hmac.new(key, f"reply-to:{message_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:10]


def token(settings: Settings, message_id: int) -> str:
    return f"r{message_id}-{_sig(settings, message_id)}"


def address(settings: Settings, message_id: int) -> str:
    local, _, domain = settings.reply_mailbox.partition("@")
    return f"{local.split('+', 1)[0]}+{token(settings, message_id)}@{domain}"


def message_id_of(settings: Settings, raw: str) -> int | None:
    """The outbox message id a token names, or None when it is not one of ours (or was altered)."""
    m = _TOKEN.match((raw or "").strip().lower())
    if not m:
        return None
    message_id = int(m.group(1))
    return message_id if hmac.compare_digest(m.group(2), _sig(settings, message_id)) else None


def tokens_in(settings: Settings, addresses: list[str]) -> list[int]:
    """Outbox message ids named by any of these addresses' plus-part on our mailbox, first first."""
    local, _, domain = settings.reply_mailbox.lower().partition("@")
    local = local.split("+", 1)[0]
    pattern = re.compile(rf"{re.escape(local)}\+([a-z0-9-]+)@{re.escape(domain)}")
    found: list[int] = []
    for addr in addresses:
        for m in pattern.finditer((addr or "").lower()):
            message_id = message_id_of(settings, m.group(1))
            if message_id is not None and message_id not in found:
                found.append(message_id)
    return found
