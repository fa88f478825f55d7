"""Email replies are read (issue 15), against a REAL IMAP server on loopback (Debian's dovecot, started
by the test session) with every message delivered by SMTP: the bot's own emails leave through its
SMTP transport, families' replies come through the same relay, bounces come back as a relay would
send them. Both databases; every job runs at a fixed ``now``."""

import imaplib
from datetime import date

import pytest
import requests
from sqlmodel import Session, select

from bot.firstday.scheduled import send_outbox
from bot.firstday.service import register_close
from bot.mail.imap import Mailbox, MailboxError
from bot.mail.service import read_mailbox
from bot.settings import load_settings
from storage.models import AbsenceCase, Alert, InboundMessage, OutboxMessage
from tests import factories as f
from tests.peers.fixtures import dovecot  # noqa: F401
from tests.peers.mailbox import PASSWORD, mail_relay

MON, WED = date(2026, 11, 23), date(2026, 11, 25)
DOMAIN = "oakfield.example"


@pytest.fixture
def mail(dovecot, db_url):
    """A fresh school mailbox, the relay around it, and settings pointing the bot at both."""
    user = dovecot.new_user()
    with mail_relay(dovecot, domain=DOMAIN, users={user: user}) as relay:
        settings = load_settings(
            database_url=db_url,
            secret_key="email-replies-secret-" + "x" * 16,
            public_base_url="https://bot.oakfield.example",
            smtp_host="127.0.0.1",
            smtp_port=relay.port,
            smtp_starttls=False,
            smtp_from=f"{user}@{DOMAIN}",
            imap_host=dovecot.host,
            imap_port=dovecot.port,
            imap_ssl=False,
            imap_username=user,
            imap_password=PASSWORD,
        )
        yield relay, settings, user


def _unseen(dovecot, user) -> list[bytes]:
    conn = imaplib.IMAP4(dovecot.host, dovecot.port)
    try:
        conn.login(user, PASSWORD)
        conn.select("INBOX")
        return conn.uid("SEARCH", None, "UNSEEN")[1][0].split()
    finally:
        conn.logout()


def _school_with_emailed_family(engine, settings, *, second_contact=False, email="sara@example.org"):
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, name="Oakfield Primary")
        amelia = f.pupil(s, school, first="Amelia", last="Khan")
        sara = f.contact(s, school, amelia, first="Sara", last="Khan", mobile=None, email=email, priority=1)
        omar = (
            f.contact(s, school, amelia, first="Omar", last="Khan", mobile="+447700900502", priority=2)
            if second_contact
            else None
        )
        f.mark(s, amelia, MON, "AM", "N")
        register_close(s, school=school, session_name="AM", settings=settings, now=f.at(MON, "09:15"))
        s.commit()
    send_outbox(engine, now=f.at(MON, "09:16"), settings=settings)
    return school, amelia, sara, omar


def _reply_to(relay, address: str):
    sent = [m for m in relay.sent if address in m.rcpt_tos]
    assert sent, [m.rcpt_tos for m in relay.sent]
    return sent[-1].message


def _family_reply(original, text: str, *, sender="Sara Khan <sara@example.org>"):
    from email.message import EmailMessage
    from email.utils import make_msgid

    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = original["Reply-To"]
    reply["Subject"] = f"Re: {original['Subject']}"
    reply["Message-ID"] = make_msgid(domain="example.org")
    reply["In-Reply-To"] = original["Message-ID"]
    reply["References"] = original["Message-ID"]
    quoted = "\n".join(f"> {line}" for line in original.get_content().splitlines())
    reply.set_content(
        f"{text}\n\nSara\nSent from my iPhone\n\nOn Mon, 23 Nov 2026 at 09:16, "
        f"Oakfield Primary <{original['From']}> wrote:\n{quoted}\n"
    )
    return reply


def test_an_email_reply_in_a_thread_with_quoted_text_is_understood_and_explains_the_case(
    engine, mail, dovecot
):
    relay, settings, user = mail
    _school, amelia, sara, _ = _school_with_emailed_family(engine, settings)
    first_day = _reply_to(relay, "sara@example.org")
    assert first_day["Reply-To"].startswith(f"{user}+r") and first_day["Reply-To"].endswith(f"@{DOMAIN}")
    assert "we have not had a reason" in first_day.get_content()  # quoted back below: must not be read

    relay.send(_family_reply(first_day, "She has flu, back on Wednesday."))
    summary = read_mailbox(engine, settings=settings, now=f.at(MON, "10:02"))

    assert summary["replies"] == 1 and summary["failed"] == 0
    with Session(engine) as s:
        case = s.exec(select(AbsenceCase)).one()
        assert (case.status, case.suggested_code, case.return_date) == ("explained", "I", WED)
        inbound = s.exec(select(InboundMessage)).one()
        assert inbound.channel == "email" and inbound.contact_id == sara.id
        assert inbound.body == "She has flu, back on Wednesday.\n\nSara"  # no quote, no signature
        alert = s.exec(select(Alert).where(Alert.kind == "reply")).one()
        assert alert.case_id == case.id and alert.data["suggested_code"] == "I"
        thanks = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "thanks")).one()
        assert (thanks.channel, thanks.to_address) == ("email", "sara@example.org")
        assert "Amelia" in thanks.body and thanks.subject == "Oakfield Primary: thank you"
    assert _unseen(dovecot, user) == []  # marked seen once stored


def test_a_bounce_fails_the_email_and_moves_the_family_to_the_next_contact(engine, mail, dovecot):
    relay, settings, user = mail
    relay.bounce("sara@nowhere.example")
    _school, _amelia, _sara, omar = _school_with_emailed_family(
        engine, settings, second_contact=True, email="sara@nowhere.example"
    )
    with Session(engine) as s:
        email = s.exec(select(OutboxMessage).where(OutboxMessage.channel == "email")).one()
        assert email.status == "sent"  # SMTP took it; the failure comes later, by mail

    summary = read_mailbox(engine, settings=settings, now=f.at(MON, "09:20"))
    assert summary["bounces"] == 1
    with Session(engine) as s:
        email = s.get(OutboxMessage, email.id)
        assert (email.status, email.error_code) == ("undelivered", "5.1.1") and "bounced" in email.error

    send_outbox(engine, now=f.at(MON, "09:21"), settings=settings)  # reroute after the sending pass
    with Session(engine) as s:
        text = s.exec(select(OutboxMessage).where(OutboxMessage.channel == "sms")).one()
        assert text.contact_id == omar.id and text.kind == "first_day" and text.status == "delivered"
        assert s.get(OutboxMessage, email.id).rerouted
    assert _unseen(dovecot, user) == []
    assert read_mailbox(engine, settings=settings, now=f.at(MON, "09:22"))["read"] == 0


class _DropsBeforeSeen(Mailbox):
    """The connection drops after the reply is stored and before \\Seen reaches the server."""

    def mark_seen(self, uid):
        raise MailboxError("connection reset by peer")


def test_the_same_email_read_twice_after_an_imap_reconnect_is_recorded_once(engine, mail, dovecot):
    relay, settings, user = mail
    _school_with_emailed_family(engine, settings)
    relay.send(_family_reply(_reply_to(relay, "sara@example.org"), "Amelia has a temperature, sorry."))

    dropping = _DropsBeforeSeen(settings)
    first = read_mailbox(engine, settings=settings, now=f.at(MON, "10:00"), mailbox=dropping)
    assert "connection reset" in first.details["error"]
    assert len(_unseen(dovecot, user)) == 1  # still unseen on the server
    second = read_mailbox(engine, settings=settings, now=f.at(MON, "10:01"))  # a new connection
    assert second["already_recorded"] == 1 and second["replies"] == 0
    assert _unseen(dovecot, user) == []

    conn = imaplib.IMAP4(dovecot.host, dovecot.port)  # someone marks it unread in their mail program
    conn.login(user, PASSWORD)
    conn.select("INBOX")
    conn.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")
    conn.logout()
    assert read_mailbox(engine, settings=settings, now=f.at(MON, "10:02"))["already_recorded"] == 1

    with Session(engine) as s:
        assert len(s.exec(select(InboundMessage)).all()) == 1
        assert len(s.exec(select(Alert).where(Alert.kind == "reply")).all()) == 1
        assert len(s.exec(select(OutboxMessage).where(OutboxMessage.kind == "thanks")).all()) == 1


def test_unknown_senders_are_left_unread_for_a_person_and_auto_replies_are_never_reasons(
    engine, mail, dovecot
):
    from email.message import EmailMessage

    relay, settings, user = mail
    _school_with_emailed_family(engine, settings)
    original = _reply_to(relay, "sara@example.org")
    away = _family_reply(original, "I am out of the office until Monday 30th November.")
    away["Auto-Submitted"] = "auto-replied"
    relay.send(away)
    stranger = EmailMessage()
    stranger["From"] = "someone@elsewhere.example"
    stranger["To"] = f"{user}@{DOMAIN}"
    stranger["Subject"] = "Question about uniform"
    stranger["Message-ID"] = "<q1@elsewhere.example>"
    stranger.set_content("Hello, where can I buy the jumper?")
    relay.send(stranger)

    summary = read_mailbox(engine, settings=settings, now=f.at(MON, "10:00"))
    assert (summary["auto_replies"], summary["unmatched"], summary["replies"]) == (1, 1, 0)
    with Session(engine) as s:
        assert s.exec(select(AbsenceCase)).one().status == "open"  # an out-of-office is no reason
        (alert,) = s.exec(select(Alert).where(Alert.kind == "unknown_sender")).all()
        assert "s***@elsewhere.example" in alert.title and "jumper" in alert.body
    assert len(_unseen(dovecot, user)) == 1  # the stranger's mail waits for a person
    again = read_mailbox(engine, settings=settings, now=f.at(MON, "10:05"))
    assert again["already_recorded"] == 1
    with Session(engine) as s:
        assert len(s.exec(select(Alert).where(Alert.kind == "unknown_sender")).all()) == 1


def test_a_reply_from_another_address_is_matched_by_its_reply_token_and_a_forged_one_is_not(engine, mail):
    relay, settings, _user = mail
    _school, _amelia, sara, _ = _school_with_emailed_family(engine, settings)
    original = _reply_to(relay, "sara@example.org")
    relay.send(_family_reply(original, "Dentist appointment this morning", sender="sara.work@office.example"))
    forged = _family_reply(original, "She is ill", sender="mallory@evil.example")
    forged.replace_header("To", original["Reply-To"].replace("+r", "+r9"))
    relay.send(forged)
    summary = read_mailbox(engine, settings=settings, now=f.at(MON, "10:00"))
    assert summary["replies"] == 1 and summary["unmatched"] == 1
    with Session(engine) as s:
        case = s.exec(select(AbsenceCase)).one()
        assert case.status == "explained" and case.suggested_code == "M"
        routed = s.exec(select(InboundMessage).where(InboundMessage.code == "M")).one()
        assert routed.contact_id == sara.id and routed.from_address == "sara.work@office.example"


def test_no_reply_address_without_a_mailbox_to_read(engine, db_url, mail):
    relay, settings, _user = mail
    plain = load_settings(**{**settings.model_dump(), "imap_host": None})
    _school_with_emailed_family(engine, plain)
    assert _reply_to(relay, "sara@example.org")["Reply-To"] is None
    assert read_mailbox(engine, settings=plain, now=f.at(MON, "10:00")).skipped


def test_healthz_says_when_the_mailbox_is_not_being_read(engine, mail):
    from datetime import timedelta

    from freezegun import freeze_time

    from bot.mail.imap import Mailbox
    from bot.mail.service import health
    from tests.peers.http import live_app

    _relay, settings, _user = mail
    with Session(engine) as s:
        facts, problem = health(s, settings=settings, now=f.at(MON, "10:00"))
        assert facts == {"mailbox": "never read"} and "never been read" in problem
    read_mailbox(engine, settings=settings, now=f.at(MON, "10:00"))
    with Session(engine) as s:
        assert health(s, settings=settings, now=f.at(MON, "10:05")) == (
            {"mailbox": "ok", "mailbox_read_at": f.at(MON, "10:00").isoformat()},
            None,
        )

    class Refusing(Mailbox):
        def __enter__(self):
            raise MailboxError("cannot open the mailbox (ConnectionRefusedError): check IMAP_HOST")

    failed = read_mailbox(engine, settings=settings, now=f.at(MON, "10:30"), mailbox=Refusing(settings))
    assert "check IMAP_HOST" in failed.details["error"]
    with freeze_time(f.at(MON, "10:30") + timedelta(seconds=1), tick=True), live_app(settings) as server:
        body = requests.get(server.url("/healthz"), timeout=10).json()
    assert body["mailbox"] == "stale"
    assert any("mailbox was last read 30 min ago" in p for p in body["problems"])
