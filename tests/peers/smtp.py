"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, parsed with ``email``.

``smtp_peer()`` runs one; the ``smtp_server`` fixture (import it from ``tests.peers.fixtures``)
yields it. ``peer.reject(address)`` makes the server refuse that recipient with 550.
"""

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def envelope_to(self) -> list[str]:
        """The SMTP envelope recipients (RCPT TO), which may differ from the To header."""
        return self.rcpt_tos

    def part(self, content_type: str) -> str | None:
        for part in self.message.walk():
            if part.get_content_type() == content_type and not part.is_multipart():
                return part.get_content()
        return None


@dataclass
class SmtpPeer:
    host: str = "127.0.0.1"
    port: int = 0
    messages: list[ReceivedMail] = field(default_factory=list)
    rejected: dict[str, tuple[int, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reject(self, address: str, code: int = 550, text: str = "5.1.1 mailbox unavailable") -> None:
        self.rejected[address.lower()] = (code, text)

    # aiosmtpd handler hooks ----------------------------------------------------------------------

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        refused = self.rejected.get(address.lower())
        if refused:
            return f"{refused[0]} {refused[1]}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_peer() -> Iterator[SmtpPeer]:
    peer = SmtpPeer(port=_free_port())
    controller = Controller(peer, hostname=peer.host, port=peer.port)
    controller.start()
    try:
        yield peer
    finally:
        controller.stop()
