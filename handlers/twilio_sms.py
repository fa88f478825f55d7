"""``POST /twilio/sms``: a text from a parent (Twilio's inbound webhook).

The edge only verifies and parses. ``X-Twilio-Signature`` is checked with Twilio's own
``RequestValidator`` over the PUBLIC url Twilio called (``PUBLIC_BASE_URL`` + path + query: behind
a proxy the app sees an internal address) and every POST parameter; a forged, re-signed or
misdirected request gets 403 and nothing is written. The answer is an empty TwiML ``<Response/>``:
anything we say back to the parent is queued in the outbox by the service, so it is recorded,
retried and sent within the same rules as every other family message. Twilio carries no timestamp,
so replays are stopped by deduping on MessageSid in the service.
"""

import logging
import re
from datetime import datetime

from flask import Flask, Request, Response, request

from bot import clock
from bot.replies.service import receive_sms
from bot.settings import Settings
from handlers import deps
from handlers.twilio_signature import signature_ok

log = logging.getLogger(__name__)

PATH = "/twilio/sms"
SID = re.compile(r"[A-Za-z0-9]{2,64}")  # Twilio's ids: SM + 32 hex
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def received_at(settings: Settings, req: Request) -> datetime:
    """When the text arrived: now, or the sandbox page's simulated now (``X-Sandbox-Now``, ISO 8601).

    Sandbox only: the header is ignored unless ``settings.sandbox_on`` (never in production), and
    the request must still carry a valid Twilio signature.
    """
    raw = req.headers.get("X-Sandbox-Now")
    if raw and settings.sandbox_on:
        try:
            return clock.parse_now(raw)
        except ValueError:
            log.warning("twilio sms: bad X-Sandbox-Now ignored")
    return clock.now()


def twiml() -> Response:
    return Response(EMPTY_TWIML, status=200, content_type="text/xml; charset=utf-8")


def register(app: Flask) -> None:
    @app.post(PATH)
    def twilio_sms():
        settings = deps.settings()
        if not signature_ok(settings, request):
            log.warning("twilio sms: bad or missing signature")
            return Response("forbidden", status=403, content_type="text/plain")
        sid = request.form.get("MessageSid") or request.form.get("SmsSid")
        if not sid or not SID.fullmatch(sid):
            return Response("MessageSid missing or malformed", status=400, content_type="text/plain")
        with deps.db() as session:
            outcome = receive_sms(
                session,
                settings=settings,
                message_sid=sid,
                from_number=request.form.get("From", ""),
                to_number=request.form.get("To", ""),
                body=request.form.get("Body", ""),
                now=received_at(settings, request),
            )
        log.info("twilio sms %s: %s (inbound %s)", sid, outcome.status, outcome.inbound_ids)
        return twiml()
