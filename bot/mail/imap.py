"""The school's mailbox over IMAP (stdlib ``imaplib``): list unseen mail, fetch it, mark it seen.

Everything is by UID, and every fetch is a ``BODY.PEEK``, so reading never marks a message seen on
its own: the service marks it only after what it said is stored (``bot.mail.service``). A
connection dropped in between leaves it unseen, and the next poll finds it already recorded.
Passwords and addresses never reach the log.
"""

import contextlib
import imaplib
import re
import ssl
from email.parser import BytesHeaderParser

from bot.settings import Settings

_UID = re.compile(rb"UID (\d+)")


class MailboxError(Exception):
    """The mailbox could not be reached or refused us; the message says which setting to check."""


class Mailbox:
    """One IMAP session on the configured mailbox; use it as a context manager."""

    def __init__(self, settings: Settings, *, timeout: float = 30.0):
        self.settings = settings
        self.timeout = timeout
        self.conn: imaplib.IMAP4 | None = None

    def __enter__(self) -> "Mailbox":
        s = self.settings
        try:
            if s.imap_ssl:
                context = ssl.create_default_context()
                self.conn = imaplib.IMAP4_SSL(
                    s.imap_host, s.imap_port, ssl_context=context, timeout=self.timeout
                )
            else:
                self.conn = imaplib.IMAP4(s.imap_host, s.imap_port, timeout=self.timeout)
            self.conn.login(s.imap_username, s.imap_password or "")
            typ, _ = self.conn.select(_quote(s.imap_mailbox))
        except (OSError, imaplib.IMAP4.error) as exc:
            self._close()
            raise MailboxError(
                f"cannot open the mailbox ({type(exc).__name__}): check IMAP_HOST, IMAP_PORT, "
                "IMAP_SSL, IMAP_USERNAME and IMAP_PASSWORD"
            ) from None
        if typ != "OK":
            self._close()
            raise MailboxError(f"the mailbox has no folder {s.imap_mailbox!r} (IMAP_MAILBOX)")
        return self

    def __exit__(self, *exc) -> None:
        self._close()

    def _close(self) -> None:
        if self.conn is None:
            return
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            self.conn.logout()
        self.conn = None

    def unseen(self) -> list[bytes]:
        """UIDs of the messages not yet marked seen, oldest first."""
        typ, data = self.conn.uid("SEARCH", None, "UNSEEN")
        if typ != "OK":
            raise MailboxError("the mailbox refused the search for unseen mail")
        return [uid for uid in (data[0] or b"").split() if uid.isdigit()]

    def message_ids(self, uids: list[bytes]) -> dict[bytes, str | None]:
        """Each message's Message-ID header, read without fetching the bodies."""
        if not uids:
            return {}
        which = b",".join(uids).decode()
        typ, data = self.conn.uid("FETCH", which, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        if typ != "OK":
            raise MailboxError("the mailbox refused to fetch headers")
        found: dict[bytes, str | None] = {}
        for item in data:
            if isinstance(item, tuple) and (m := _UID.search(item[0])):
                header = BytesHeaderParser().parsebytes(item[1]).get("Message-ID")
                found[m.group(1)] = " ".join(str(header).split()) if header else None
        return found

    def fetch(self, uid: bytes) -> bytes:
        """The whole message, without marking it seen."""
        typ, data = self.conn.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
        for item in data or []:
            if typ == "OK" and isinstance(item, tuple):
                return item[1]
        raise MailboxError(f"the mailbox returned no message for uid {uid.decode()}")

    def mark_seen(self, uid: bytes) -> None:
        typ, _ = self.conn.uid("STORE", uid.decode(), "+FLAGS", "(\\Seen)")
        if typ != "OK":
            raise MailboxError("the mailbox refused to mark a message seen")


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
