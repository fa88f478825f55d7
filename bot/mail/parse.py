"""Reading one email from the mailbox: who sent it, which of our messages it answers, what it says,
and whether it is a bounce or an automatic reply.

- **Message-ID** keys the email (``key``): read twice (an IMAP reconnect, a second poll before the
  \\Seen flag was stored), it is recorded once. An email without one is keyed by a hash of its bytes.
- **Reply addresses**: every recipient header is searched for our plus-address
  (``bot.messaging.replyto``): To, Cc, Delivered-To, X-Original-To, Envelope-To.
- **Bounces** are delivery status notifications (RFC 3464, ``multipart/report;
  report-type=delivery-status``): the failed recipients with their status ("5.1.1") and the
  returned message's Message-ID and Reply-To, which name the outbox row that failed.
- **Automatic replies** (out of office, RFC 3834 ``Auto-Submitted``) are never read as a reason:
  "I'm away until Monday 5th" must not become a return date.
"""

import email
import email.policy
import hashlib
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr

from bot.mail.quotes import html_text, new_text

_RETURNED = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to", "x-envelope-to")
_AUTO_SUBJECTS = (
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "out of office",
    "odpowiedź automatyczna",
    "respuesta automática",
    "réponse automatique",
    "resposta automática",
    "răspuns automat",
    "abwesenheitsnotiz",
)


@dataclass(frozen=True)
class Bounce:
    """What a delivery status notification says failed."""

    status: str | None  # the first failed recipient's status, e.g. "5.1.1"
    diagnostic: str
    recipients: list[str]
    original_message_id: str | None  # the bounced email's Message-ID (our provider id)
    original_reply_to: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Incoming:
    key: str  # "mid:<sha1 of the Message-ID>" or "raw:<sha1 of the bytes>" (InboundMessage.provider_id)
    message_id: str | None
    sender: str  # the From address, lower-case
    recipients: list[str]
    subject: str
    text: str  # the family's new words only
    auto_reply: bool = False
    bounce: Bounce | None = None


def key_for(message_id: str | None, raw: bytes = b"") -> str:
    if message_id:
        return "mid:" + hashlib.sha1(message_id.strip().strip("<>").lower().encode()).hexdigest()
    return "raw:" + hashlib.sha1(raw).hexdigest()


def parse(raw: bytes) -> Incoming:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    message_id = _clean_id(msg.get("Message-ID"))
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    recipients = [
        addr.lower()
        for _, addr in getaddresses([str(v) for name in RECIPIENT_HEADERS for v in (msg.get_all(name) or [])])
        if addr
    ]
    subject = " ".join(str(msg.get("Subject", "")).split())
    bounce = _bounce(msg)
    return Incoming(
        key=key_for(message_id, raw),
        message_id=message_id,
        sender=sender,
        recipients=recipients,
        subject=subject,
        text="" if bounce else _text(msg, subject),
        auto_reply=bounce is None and _is_auto(msg, subject),
        bounce=bounce,
    )


def _clean_id(value) -> str | None:
    text = " ".join(str(value or "").split())
    return text or None


def _text(msg: EmailMessage, subject: str) -> str:
    """The new words: the plain part (else the HTML one) without quotes; else the subject's words."""
    body = msg.get_body(preferencelist=("plain",))
    text = ""
    if body is not None:
        text = new_text(_content(body))
    else:
        html = msg.get_body(preferencelist=("html",))
        if html is not None:
            text = new_text(html_text(_content(html)))
    if text:
        return text
    # Nothing written in the body: some people answer in the subject line. Our own subject, quoted
    # back after "Re:", is not their words.
    words = subject
    while words.lower().startswith(("re:", "aw:", "odp:", "rv:", "sv:", "fw:", "fwd:")):
        words = words.split(":", 1)[1].strip()
    return "" if not words or words.lower() != subject.lower() else words


def _content(part: Message) -> str:
    try:
        return part.get_content()
    except (LookupError, UnicodeDecodeError):  # an unknown or wrong charset: keep what can be read
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def _is_auto(msg: Message, subject: str) -> bool:
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return True
    if msg.get("X-Autoreply") or msg.get("X-Autorespond") or msg.get("X-Auto-Response-Suppress"):
        return True
    if str(msg.get("Precedence", "")).strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return True
    return subject.lower().startswith(_AUTO_SUBJECTS)


def _bounce(msg: EmailMessage) -> Bounce | None:
    """The delivery failure a DSN reports, or None (not a DSN, or only a delay)."""
    if msg.get_content_type() != "multipart/report" or msg.get_param("report-type") != "delivery-status":
        return None
    failed, status, diagnostic = [], None, ""
    original_id, reply_to = None, []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            for block in _status_blocks(part):
                action = str(block.get("Action", "")).strip().lower()
                code = str(block.get("Status", "")).strip()
                if action == "failed" or code.startswith("5"):
                    failed.append(_address(block.get("Final-Recipient") or block.get("Original-Recipient")))
                    status = status or code or None
                    diagnostic = diagnostic or " ".join(str(block.get("Diagnostic-Code", "")).split())
        elif ctype in _RETURNED and original_id is None:
            original = _returned(part)
            if original is not None:
                original_id = _clean_id(original.get("Message-ID"))
                addresses = getaddresses(original.get_all("Reply-To") or [])
                reply_to = [addr.lower() for _, addr in addresses if addr]
    if not failed:
        return None  # "delayed": the provider keeps trying; nothing has failed yet
    return Bounce(
        status=status,
        diagnostic=diagnostic,
        recipients=[r for r in failed if r],
        original_message_id=original_id,
        original_reply_to=reply_to,
    )


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    chunks = text.replace("\r\n", "\n").split("\n\n")
    return [email.message_from_string(chunk) for chunk in chunks if chunk.strip()]


def _returned(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    if isinstance(payload, str):
        return email.message_from_string(payload)
    return None


def _address(value) -> str:
    """``rfc822; sara@example.org`` -> ``sara@example.org``."""
    text = str(value or "")
    return text.split(";", 1)[-1].strip().strip("<>").lower()
