"""A real IMAP server on loopback (Debian's dovecot) and an SMTP relay that delivers into it.

``dovecot_server()`` starts a throwaway dovecot from a config written into a fresh temporary
directory: IMAP on a free 127.0.0.1 port with plain authentication (any user name, password
``secret``), one Maildir per user under the directory, and LMTP on a unix socket for delivery. It
depends on nothing of the machine but the ``dovecot`` binary (``scripts/ensure-dovecot.sh``
installs Debian's ``dovecot-imapd`` and ``dovecot-lmtpd``). Each test takes a fresh user
(``new_user``), so tests never see each other's mail.

``mail_relay(dovecot, domain)`` is the mail system around it, an aiosmtpd server speaking real SMTP:
mail for ``domain`` (the school's mailbox, plus-addresses included) is delivered into dovecot over
LMTP; other mail is kept for the test to read (what families received), unless the address was made
to ``bounce``: then, like a real relay that accepted it and later failed, it is kept and a delivery
status notification (RFC 3464, Postfix's shape) goes back to the sender's mailbox.
"""

import email
import email.policy
import grp
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from aiosmtpd.controller import Controller

PASSWORD = "secret"
_FAKETIME_VARS = ("LD_PRELOAD", "FAKETIME", "DONT_FAKE_MONOTONIC", "FAKETIME_NO_CACHE")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Dovecot:
    host: str
    port: int
    lmtp: str  # the LMTP unix socket
    base: Path

    def new_user(self) -> str:
        return f"school{uuid.uuid4().hex[:10]}"

    def deliver(self, user: str, raw: bytes, *, mail_from: str = "") -> None:
        """Deliver one message into ``user``'s INBOX over LMTP (what the relay does)."""
        with smtplib.LMTP(self.lmtp) as lmtp:
            lmtp.sendmail(mail_from, [user], raw)


def _config(base: Path, port: int) -> str:
    run = base / "run"
    if os.geteuid() == 0:
        # Mail is never stored as root (dovecot refuses uid 0): the package's users run the login and
        # internal processes, and "nobody" owns the test Maildirs.
        owner = pwd.getpwnam("nobody")
        users = ""
    else:
        owner = pwd.getpwuid(os.geteuid())
        users = (
            f"default_internal_user = {owner.pw_name}\ndefault_login_user = {owner.pw_name}\n"
            f"default_internal_group = {grp.getgrgid(owner.pw_gid).gr_name}\n"
        )
    if os.geteuid() == 0:
        os.chown(base / "mail", owner.pw_uid, owner.pw_gid)
    return f"""# A throwaway dovecot for the attendance bot's tests (tests/peers/mailbox.py).
protocols = imap lmtp
listen = 127.0.0.1
base_dir = {run}
state_dir = {run}/state
instance_name = attendance-test-{port}
log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
{users}passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={base}/mail/%Ln
}}
mail_location = maildir:{base}/mail/%Ln/Maildir
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
}}
protocol lmtp {{
  auth_username_format = %Ln
}}
"""


@contextmanager
def dovecot_server(timeout: float = 20.0) -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not Path(binary).exists():
        raise RuntimeError(
            "Debian's dovecot-imapd and dovecot-lmtpd are required for the mailbox tests: "
            "run scripts/ensure-dovecot.sh (make test does)"
        )
    base = Path(tempfile.mkdtemp(prefix="attendance-dovecot-"))
    base.chmod(0o755)
    (base / "mail").mkdir()
    (base / "run" / "state").mkdir(parents=True)
    port = _free_port()
    conf = base / "dovecot.conf"
    conf.write_text(_config(base, port))
    # Dovecot keeps real time even when the suite runs under libfaketime (the date guard).
    env = {k: v for k, v in os.environ.items() if k not in _FAKETIME_VARS}
    proc = subprocess.Popen(
        [binary, "-F", "-c", str(conf)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    server = Dovecot("127.0.0.1", port, str(base / "run" / "lmtp"), base)
    try:
        deadline = time.monotonic() + timeout
        while not (_answers(port) and Path(server.lmtp).exists()):
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (base / "dovecot.log").read_text() if (base / "dovecot.log").exists() else ""
                err = proc.stderr.read().decode(errors="replace") if proc.poll() is not None else ""
                raise RuntimeError(f"dovecot did not start: {err}\n{log}")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(base, ignore_errors=True)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            return s.recv(64).startswith(b"* OK")
    except OSError:
        return False


@dataclass
class Sent:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class MailRelay:
    dovecot: Dovecot
    domain: str
    users: dict[str, str]  # local part on ``domain`` -> dovecot user
    port: int = 0
    sent: list[Sent] = field(default_factory=list)  # what left for the outside world
    bouncing: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def bounce(self, address: str) -> None:
        """Accept mail for ``address`` now, then return a delivery failure to its sender (5.1.1)."""
        self.bouncing.add(address.lower())

    def send(self, message: EmailMessage) -> None:
        """A family's mail program sending through its provider to us: real SMTP to this relay."""
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as smtp:
            smtp.send_message(message)

    def _local_user(self, address: str) -> str | None:
        local, _, domain = address.lower().partition("@")
        return self.users.get(local.split("+", 1)[0]) if domain == self.domain else None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        local = [r for r in envelope.rcpt_tos if self._local_user(r)]
        for rcpt in local:
            with smtplib.LMTP(self.dovecot.lmtp) as lmtp:
                lmtp.sendmail(envelope.mail_from, [rcpt], envelope.content)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        remote = [r for r in envelope.rcpt_tos if r not in local]
        if remote:
            with self._lock:
                self.sent.append(Sent(envelope.mail_from, remote, parsed))
        for rcpt in remote:
            if rcpt.lower() in self.bouncing and self._local_user(envelope.mail_from):
                dsn = delivery_failure(envelope.mail_from, rcpt, parsed)
                with smtplib.LMTP(self.dovecot.lmtp) as lmtp:
                    lmtp.sendmail("", [envelope.mail_from], dsn)
        return "250 Message accepted for delivery"


@contextmanager
def mail_relay(dovecot: Dovecot, *, domain: str, users: dict[str, str]) -> Iterator[MailRelay]:
    relay = MailRelay(dovecot=dovecot, domain=domain, users=users, port=_free_port())
    controller = Controller(relay, hostname="127.0.0.1", port=relay.port)
    controller.start()
    try:
        yield relay
    finally:
        controller.stop()


def delivery_failure(to: str, failed: str, original: EmailMessage) -> bytes:
    """A delivery status notification the way Postfix writes one (RFC 3464)."""
    boundary = f"dsn-{uuid.uuid4().hex}"
    headers = "".join(
        f"{k}: {v}\n"
        for k, v in original.items()
        if k.lower() in ("from", "to", "subject", "message-id", "reply-to", "date")
    )
    return (
        f"From: MAILER-DAEMON@relay.example (Mail Delivery System)\n"
        f"To: {to}\n"
        f"Subject: Undelivered Mail Returned to Sender\n"
        f"Date: {formatdate()}\n"
        f"Message-ID: {make_msgid(domain='relay.example')}\n"
        f"Auto-Submitted: auto-replied\n"
        f"MIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\n'
        f"\n--{boundary}\n"
        f"Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n"
        f"This is the mail system at host relay.example.\n\nI'm sorry to have to inform you that your "
        f"message could not be delivered to one or more recipients.\n\n<{failed}>: host mx.example said: "
        f"550 5.1.1 <{failed}>: Recipient address rejected: User unknown\n"
        f"\n--{boundary}\n"
        f"Content-Description: Delivery report\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; relay.example\nArrival-Date: {formatdate()}\n\n"
        f"Final-Recipient: rfc822; {failed}\nOriginal-Recipient: rfc822;{failed}\nAction: failed\n"
        f"Status: 5.1.1\nRemote-MTA: dns; mx.example\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected: User unknown\n"
        f"\n--{boundary}\n"
        f"Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n"
        f"{headers}"
        f"\n--{boundary}--\n"
    ).encode()
