"""Signed reply links for the parent reply page.

A link works for one case and one contact, expires after ``REPLY_LINK_DAYS``, and carries only
ids (signed, not encrypted: the ids reveal nothing without the database).
"""

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bot.errors import UserError
from bot.settings import Settings

SALT = "reply-link-v1"
_INSTEAD = "Please reply to the school's text or call the school office."


class LinkInvalid(UserError):
    pass


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=SALT)


def make_token(settings: Settings, *, case_id: int, contact_id: int | None) -> str:
    return _serializer(settings).dumps({"c": case_id, "p": contact_id})


def reply_link(settings: Settings, *, case_id: int, contact_id: int | None) -> str:
    base = settings.public_base_url.rstrip("/")
    return f"{base}/r/{make_token(settings, case_id=case_id, contact_id=contact_id)}"


def read_token(settings: Settings, token: str) -> tuple[int, int | None]:
    """(case_id, contact_id) from a token, or ``LinkInvalid`` with a message for the parent."""
    try:
        data = _serializer(settings).loads(token, max_age=settings.reply_link_days * 86400)
    except SignatureExpired:
        raise LinkInvalid(f"This link has expired. {_INSTEAD}") from None
    except BadSignature:
        raise LinkInvalid(f"This link is not valid. {_INSTEAD}") from None
    return int(data["c"]), data.get("p")
