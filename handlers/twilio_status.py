"""``POST /twilio/status``: Twilio's delivery reports for the messages we sent.

The signature (``X-Twilio-Signature``) is checked over the PUBLIC url Twilio called (behind a proxy
the app sees an internal address, so the url is rebuilt from ``PUBLIC_BASE_URL``) and every POST
parameter; a forged request gets 403 and writes nothing. Twilio retries nothing useful on errors,
so an unknown MessageSid is answered 200 and ignored.

The url the sender gives each text names its outbox row (``?outbox=<id>``); the signature covers
it, so the id can be trusted to find a message whose provider id was never stored.
"""

import logging

from flask import Flask, request

from bot import clock
from bot.messaging.status import record_status
from handlers import deps
from handlers.twilio_signature import signature_ok

log = logging.getLogger(__name__)

PATH = "/twilio/status"


def register(app: Flask) -> None:
    @app.post(PATH)
    def twilio_status():
        settings = deps.settings()
        if not signature_ok(settings, request):
            log.warning("twilio status: bad signature")
            return "forbidden", 403
        sid = request.form.get("MessageSid") or request.form.get("SmsSid")
        status = request.form.get("MessageStatus") or request.form.get("SmsStatus")
        if not sid or not status:
            return "", 200
        outbox = request.args.get("outbox", "")
        with deps.db() as session:
            record_status(
                session,
                provider_id=sid,
                provider_status=status,
                error_code=request.form.get("ErrorCode") or None,
                outbox_id=int(outbox) if outbox.isdigit() else None,
                now=clock.now(),
            )
        return "", 200
