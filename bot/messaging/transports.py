"""How a message leaves the building: SMS and email transports behind two small interfaces.

The sender only knows ``SmsTransport`` and ``EmailTransport``. Each ``send`` either returns a
``SendResult`` (the provider took the message) or raises one of:

- ``PermanentFailure``: sending again can never work (opted out, invalid number, no such mailbox).
  It counts against the family, who are then reached another way.
- ``TransientFailure``: this one recipient cannot take it now (a full mailbox); counts against the
  family's ``OUTBOX_MAX_ATTEMPTS``.
- ``ProviderFailure``: the provider itself is down, refusing, rate-limiting or misconfigured (5xx,
  connection refused, 401, Twilio 20429...). Every message would fail the same way, so it never
  counts against a family: the sender keeps retrying while the message is still worth sending.
- ``UnknownOutcome``: the request was written and no answer came (a read timeout). The provider
  has usually created the message, so it is not retried blindly: it is looked up first
  (``TwilioSms.find``) and resent at most once (``bot.messaging.sender``).

Settings choose the implementation: Twilio and SMTP when credentials are set, local transports
otherwise (the outbox table is then the record).

Nothing here logs a phone number, an address or a body.
"""

import logging
import smtplib
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from bot.settings import Settings

log = logging.getLogger(__name__)

LOOKUP_SKEW = timedelta(minutes=5)  # Twilio's clock against ours, when matching a looked-up text

# Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors).
PERMANENT_TWILIO_CODES = frozenset(
    {
        21211,  # invalid 'To' number
        21214,  # 'To' number cannot be reached
        21217,  # phone number does not appear to be valid
        21407,  # this phone number type does not support SMS
        21408,  # permission to send to this region is not enabled
        21421,  # phone number is invalid
        21610,  # recipient has replied STOP (opted out)
        21612,  # the 'To' number is not currently reachable via SMS
        21614,  # 'To' number is not a valid mobile number
        21617,  # body exceeds the 1600 character limit
        30003,  # unreachable destination handset
        30004,  # message blocked
        30005,  # unknown destination handset
        30006,  # landline or unreachable carrier
        30007,  # filtered as spam by the carrier
        30034,  # message from an unregistered number
    }
)
# Twilio codes that are the provider's side, not the family's: rate limits (20429, 14107, 30022),
# queue overflow (30001), account suspended (30002), an unknown error (30008). Retried, never
# rerouted; the operators are told (bot.messaging.health).
PROVIDER_TWILIO_CODES = frozenset({20429, 14107, 30001, 30002, 30008, 30022})
TRANSIENT_TWILIO_CODES = PROVIDER_TWILIO_CODES  # (the older name)


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it took the message.

    ``status`` is an outbox status: ``accepted`` (in the provider's queue, callbacks will follow),
    ``sent`` (handed on, nothing more will be heard) or ``delivered`` (local transports).
    """

    provider_id: str
    status: str


class DeliveryError(Exception):
    """The provider did not take the message. ``code`` is the provider's error code, if any."""

    permanent = False
    provider_wide = False  # the provider's trouble, not this recipient's: never the family's fault
    unknown = False  # the request may have reached the provider: look before sending again

    def __init__(self, message: str, *, code: str | int | None = None):
        super().__init__(message)
        self.code = None if code is None else str(code)


class PermanentFailure(DeliveryError):
    """Sending again cannot work (opted out, invalid number, mailbox unknown)."""

    permanent = True


class TransientFailure(DeliveryError):
    """Sending to this recipient again later may work (a full mailbox, a greylisting server)."""


class ProviderFailure(TransientFailure):
    """The provider is down, refusing or misconfigured: every message would fail alike."""

    provider_wide = True


class UnknownOutcome(DeliveryError):
    """The request went out and no answer came back: the provider may well have the message."""

    provider_wide = True
    unknown = True


class SmsTransport(Protocol):
    name: str

    def send(self, to: str, body: str, *, status_callback: str | None) -> SendResult: ...

    # Optional: ``find(to, body, *, since) -> SendResult | None`` looks a message up at the provider
    # (``TwilioSms.find``); a transport without it has its unknown messages resent once, unlooked.


class EmailTransport(Protocol):
    name: str

    def send(
        self,
        to: str,
        subject: str,
        body_text: str,
        body_html: str | None = None,
        *,
        reply_to: str | None = None,
    ) -> SendResult: ...


class VoiceTransport(Protocol):
    """Places an automated call; what it says is fetched from our webhooks (``handlers.twilio_voice``)."""

    name: str

    def call(self, to: str, *, message_id: int) -> SendResult: ...


@dataclass(frozen=True)
class Transports:
    sms: SmsTransport
    email: EmailTransport
    voice: "VoiceTransport" = field(default_factory=lambda: LocalVoice())


# --------------------------------------------------------------------------------------------------
# Local transports: no accounts, the outbox table is the record
# --------------------------------------------------------------------------------------------------


class LocalSms:
    """Delivers nothing; the message counts as delivered with a ``LOCAL-`` id (the sender logs ids)."""

    name = "local-sms"

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult:
        return SendResult(provider_id=f"LOCAL-{uuid.uuid4().hex}", status="delivered")


class LocalEmail:
    name = "local-email"

    def send(
        self,
        to: str,
        subject: str,
        body_text: str,
        body_html: str | None = None,
        *,
        reply_to: str | None = None,
    ) -> SendResult:
        return SendResult(provider_id=f"LOCAL-{uuid.uuid4().hex}", status="delivered")


class LocalVoice:
    """Rings nobody; the call counts as made (the outbox row carries what it would have said)."""

    name = "local-voice"

    def call(self, to: str, *, message_id: int) -> SendResult:
        return SendResult(provider_id=f"LOCAL-{uuid.uuid4().hex}", status="delivered")


# --------------------------------------------------------------------------------------------------
# Twilio
# --------------------------------------------------------------------------------------------------


def classify_twilio_error(exc: Exception) -> DeliveryError:
    """Map an exception from the twilio client to the family's failure, the provider's, or unknown."""
    from twilio.base.exceptions import TwilioRestException
    from urllib3.exceptions import ProtocolError, ReadTimeoutError

    if isinstance(exc, TwilioRestException):
        code = exc.code
        status = int(exc.status or 0)
        label = f"twilio {status} error {code}"
        if code in PROVIDER_TWILIO_CODES or status == 429 or status >= 500:
            return ProviderFailure(label, code=code or status)
        if code in PERMANENT_TWILIO_CODES:
            return PermanentFailure(label, code=code)
        if status in (401, 403):
            # Bad credentials: every message would fail the same way; keep them queued so a fixed
            # setting sends them (the operators are told the provider refuses us).
            return ProviderFailure(label, code=code or status)
        if code is None or 20000 <= code < 21000:
            # No Twilio code (a proxy, a wrong base URL) or an account-level one (20404 not found,
            # 20003 auth): nothing about the number, so never the family's failure.
            return ProviderFailure(label, code=code or status)
        if 400 <= status < 500:
            return PermanentFailure(label, code=code or status)
        return ProviderFailure(label, code=code or status)
    if isinstance(exc, ReadTimeoutError | ProtocolError):
        # Written, unanswered (or the connection dropped mid-answer): Twilio may have the message.
        return UnknownOutcome(f"twilio no answer: {type(exc).__name__}", code="no-answer")
    return ProviderFailure(f"twilio connection error: {type(exc).__name__}", code="connection")


class TwilioSms:
    """SMS through Twilio's Messages API with the official client.

    One client for all the sender's threads: its HTTP layer is a thread-safe urllib3 pool (see
    ``SenderHttpClient``), so connections are reused across messages.
    """

    name = "twilio"

    def __init__(self, settings: Settings, *, timeout: float | None = None, pool_size: int | None = None):
        self.account_sid = settings.twilio_account_sid
        self.auth_token = settings.twilio_auth_token
        self.messaging_service_sid = settings.twilio_messaging_service_sid
        self.from_number = settings.twilio_from_number
        self.validity_period = settings.sms_validity_seconds
        self.api_base_url = settings.twilio_api_base_url
        self.timeout = timeout or settings.twilio_timeout_seconds
        self.pool_size = pool_size or settings.sender_concurrency
        self._client = None
        self._lock = threading.Lock()

    def client(self):
        with self._lock:
            if self._client is None:
                from twilio.rest import Client

                from bot.messaging.twilio_http import SenderHttpClient

                http_client = SenderHttpClient(
                    self.api_base_url, timeout=self.timeout, maxsize=self.pool_size
                )
                self._client = Client(self.account_sid, self.auth_token, http_client=http_client)
            return self._client

    def create_params(self, to: str, body: str, status_callback: str | None) -> dict:
        params: dict = {"to": to, "body": body}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        else:
            params["from_"] = self.from_number
        if status_callback:
            params["status_callback"] = status_callback
        if self.validity_period:
            # Twilio accepts 1..36000 s (14400 by default here); an absence text is stale after hours.
            params["validity_period"] = max(1, min(int(self.validity_period), 36000))
        return params

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SendResult:
        try:
            message = self.client().messages.create(**self.create_params(to, body, status_callback))
        except Exception as exc:  # every failure is classified; nothing escapes unlabelled
            raise classify_twilio_error(exc) from exc
        # Twilio's first status is "queued" or "accepted" (messaging service): in the provider's
        # queue. Our "queued" means "not yet handed over", so the outbox records "accepted".
        return SendResult(provider_id=message.sid, status=_FIRST_STATUS.get(message.status, "accepted"))

    def find(
        self, to: str, body: str, *, since: datetime, exclude: frozenset[str] = frozenset()
    ) -> SendResult | None:
        """Did Twilio create this text after all? Its Messages list for the recipient, newest first.

        Asked before resending a text whose send had no answer. Matched on the exact body and a
        creation time from ``since`` (our queueing time, less a few minutes of clock skew);
        ``exclude`` holds the sids already attached to other outbox rows. The list is filtered by
        recipient only, not by ``DateSent``: a text still in Twilio's own queue has no send date
        yet and a ``DateSent>=`` filter would miss exactly the message we are looking for.
        """
        try:
            found = self.client().messages.list(to=to, limit=50)
        except Exception as exc:  # same classification as a send; a lookup never raises unlabelled
            raise classify_twilio_error(exc) from exc
        earliest = since - LOOKUP_SKEW
        for message in found:
            created = message.date_created
            if (
                message.body == body
                and message.sid not in exclude
                and message.direction != "inbound"
                and (created is None or created >= earliest)
            ):
                status = _FIRST_STATUS.get(message.status, "accepted")
                return SendResult(provider_id=message.sid, status=status)
        return None


# Twilio's status in the create response -> the outbox status recorded with it.
_FIRST_STATUS = {"sent": "sent", "delivered": "delivered", "undelivered": "undelivered", "failed": "failed"}


# --------------------------------------------------------------------------------------------------
# SMTP
# --------------------------------------------------------------------------------------------------


class SmtpEmail:
    """Email through an SMTP relay (stdlib ``smtplib``): multipart text + HTML.

    SMTP replies 4xx mean "try later" and 5xx mean "never"; a connection that fails is transient.
    One connection per message keeps failures independent (email volume is small: fallbacks and
    staff mail).
    """

    name = "smtp"

    def __init__(self, settings: Settings, *, timeout: float = 30.0):
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.sender = settings.smtp_from
        self.starttls = settings.smtp_starttls
        self.timeout = timeout

    def build(
        self, to: str, subject: str, body_text: str, body_html: str | None, reply_to: str | None = None
    ) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = to
        if reply_to:  # the per-message address on the school's mailbox (bot.messaging.replyto)
            msg["Reply-To"] = reply_to
        msg["Subject"] = subject
        domain = self.sender.rsplit("@", 1)[-1] if "@" in self.sender else None
        msg["Message-ID"] = make_msgid(domain=domain)
        msg.set_content(body_text)
        if body_html:
            msg.add_alternative(body_html, subtype="html")
        return msg

    def send(
        self,
        to: str,
        subject: str,
        body_text: str,
        body_html: str | None = None,
        *,
        reply_to: str | None = None,
    ) -> SendResult:
        msg = self.build(to, subject, body_text, body_html, reply_to)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0] if exc.recipients else None
            raise _smtp_failure("recipient refused", code, recipient=True) from exc
        except smtplib.SMTPResponseException as exc:
            raise _smtp_failure("smtp error", exc.smtp_code) from exc
        except smtplib.SMTPNotSupportedError as exc:
            # A setting to fix (SMTP_STARTTLS), not a bad address: keep the message queued.
            raise ProviderFailure("smtp server does not support STARTTLS") from exc
        except (smtplib.SMTPException, OSError) as exc:  # OSError covers timeouts and refusals
            raise ProviderFailure(f"smtp connection error: {type(exc).__name__}", code="connection") from exc
        if refused:
            code = next(iter(refused.values()))[0]
            raise _smtp_failure("recipient refused", code, recipient=True)
        return SendResult(provider_id=msg["Message-ID"].strip("<>")[:64], status="sent")


def _smtp_failure(what: str, code: int | None, *, recipient: bool = False) -> DeliveryError:
    """5xx: never (but authentication is a setting to fix); 4xx: later, the recipient's (a full
    mailbox) when the server said so of the recipient, else the relay's (421 service unavailable)."""
    if code is not None and 500 <= int(code) < 600:
        if int(code) in (530, 534, 535):  # authentication: a setting to fix, not a bad address
            return ProviderFailure(f"{what} ({code})", code=code)
        return PermanentFailure(f"{what} ({code})", code=code)
    if recipient:
        return TransientFailure(f"{what} ({code})", code=code)
    return ProviderFailure(f"{what} ({code})", code=code)


def transports_for(settings: Settings) -> Transports:
    """Twilio and SMTP when their settings are present; local transports otherwise."""
    sms: SmsTransport = LocalSms() if settings.sms_is_local else TwilioSms(settings)
    email: EmailTransport = LocalEmail() if settings.email_is_local else SmtpEmail(settings)
    voice: VoiceTransport = LocalVoice() if settings.sms_is_local else TwilioVoice(settings, sms)
    return Transports(sms=sms, email=email, voice=voice)


# --------------------------------------------------------------------------------------------------
# Twilio Programmable Voice (automated calls to families)
# --------------------------------------------------------------------------------------------------

# Our webhooks (handlers/twilio_voice.py); the message id in the path tells them which call it is,
# even before the sender has stored the CallSid (Twilio can ask for the script within a second).
VOICE_ANSWER_PATH = "/twilio/voice/{message_id}/answer"
VOICE_STATUS_PATH = "/twilio/voice/status"
# Twilio's status events for a call, each sent to VOICE_STATUS_PATH.
VOICE_STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]


class TwilioVoice:
    """Calls through Twilio's Calls API, with the same account (and the same client) as the texts.

    ``machine_detection="DetectMessageEnd"``: Twilio waits until an answering machine's greeting has
    ended before asking for the script, so a message left on it is heard whole (``AnsweredBy``
    tells the answer webhook a person from a machine). ``time_limit`` bounds a call that goes wrong.
    """

    name = "twilio-voice"

    def __init__(self, settings: Settings, sms: "TwilioSms"):
        self.from_number = settings.voice_from_number
        self.base_url = settings.public_base_url.rstrip("/")
        self.ring_seconds = settings.call_ring_seconds
        self.client = sms.client  # one client, one connection pool

    def create_params(self, to: str, message_id: int) -> dict:
        return {
            "to": to,
            "from_": self.from_number,
            "url": self.base_url + VOICE_ANSWER_PATH.format(message_id=message_id),
            "method": "POST",
            "status_callback": self.base_url + VOICE_STATUS_PATH,
            "status_callback_method": "POST",
            "status_callback_event": VOICE_STATUS_EVENTS,
            "machine_detection": "DetectMessageEnd",
            "timeout": self.ring_seconds,
            "time_limit": 600,
        }

    def call(self, to: str, *, message_id: int) -> SendResult:
        if not self.from_number:
            # A setting to fix, not a family to blame: keep the call queued until attempts run out.
            raise ProviderFailure("no caller id: set TWILIO_VOICE_FROM_NUMBER (or TWILIO_FROM_NUMBER)")
        try:
            call = self.client().calls.create(**self.create_params(to, message_id))
        except Exception as exc:  # every failure is classified; nothing escapes unlabelled
            raise classify_twilio_error(exc) from exc
        return SendResult(provider_id=call.sid, status="accepted")
