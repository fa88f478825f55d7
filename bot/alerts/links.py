"""Signed links that let the person an alert was emailed to act on it (``/a/<token>``).

A school with no Slack or Teams gets its alerts by email (``bot.alerts.routes``); the buttons Slack
would show are then a link to a small page. A link works for one alert and the one address it was
sent to, expires after ``ALERT_LINK_DAYS``, and carries only the alert id and that address (signed,
not encrypted: the page shows nothing the email did not already say).
"""

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from bot.errors import UserError
from bot.settings import Settings

SALT = "alert-link-v1"
ALERT_LINK_DAYS = 7


class AlertLinkInvalid(UserError):
    pass


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=SALT)


def alert_link(settings: Settings, *, alert_id: int, address: str) -> str:
    token = _serializer(settings).dumps({"a": alert_id, "to": address})
    return f"{settings.public_base_url.rstrip('/')}/a/{token}"


def read_alert_token(settings: Settings, token: str) -> tuple[int, str]:
    """(alert id, the address it was sent to), or ``AlertLinkInvalid`` with a message for staff."""
    try:
        data = _serializer(settings).loads(token, max_age=ALERT_LINK_DAYS * 86400)
    except SignatureExpired:
        raise AlertLinkInvalid(
            "This alert link has expired: act on the alert in the bot, or ask for it again."
        ) from None
    except BadSignature:
        raise AlertLinkInvalid("This alert link is not valid.") from None
    return int(data["a"]), str(data["to"])
