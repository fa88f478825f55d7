"""Checking ``X-Twilio-Signature`` on Twilio's webhooks (inbound SMS, status callbacks).

Twilio signs the PUBLIC url it called (behind a proxy the app sees an internal address, so the url
is rebuilt from ``PUBLIC_BASE_URL`` + path + query) and every POST parameter, with the account's
auth token and, when its signature-settings header says so, SHA-256 instead of SHA-1.
"""

from flask import Request
from twilio.request_validator import SIGNATURE_SETTINGS_HEADER, RequestValidator, get_signature_algorithm

from bot.settings import Settings


def public_url(settings: Settings, req: Request) -> str:
    """The url Twilio signed: the configured public base, then this path and its query string."""
    url = settings.public_base_url.rstrip("/") + req.path
    if req.query_string:
        url += "?" + req.query_string.decode("latin-1")
    return url


def signature_ok(settings: Settings, req: Request) -> bool:
    signature = req.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    algorithm = get_signature_algorithm(req.headers.get(SIGNATURE_SETTINGS_HEADER))
    validator = RequestValidator(settings.inbound_sms_token)
    # request.form is a MultiDict: a repeated parameter is signed with every value.
    return validator.validate(public_url(settings, req), req.form, signature, algorithm=algorithm)
