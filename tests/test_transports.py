"""Transports against real peers on loopback: the real twilio client and smtplib, real wire formats."""

import socket

import pytest

from bot.messaging.transports import (
    LocalEmail,
    LocalSms,
    PermanentFailure,
    SmtpEmail,
    TransientFailure,
    TwilioSms,
    transports_for,
)
from bot.settings import load_settings
from tests.peers.fixtures import smtp_server, twilio  # noqa: F401
from tests.peers.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, MESSAGING_SERVICE_SID

CALLBACK = "https://bot.example.org/twilio/status"


def twilio_settings(peer, **kw):
    values = dict(
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_messaging_service_sid=MESSAGING_SERVICE_SID,
        twilio_api_base_url=peer.base_url,
        public_base_url="https://bot.example.org",
        database_url="sqlite:///:memory:",
    )
    values.update(kw)
    return load_settings(**values)


def smtp_settings(peer, **kw):
    values = dict(
        smtp_host=peer.host,
        smtp_port=peer.port,
        smtp_starttls=False,
        smtp_from="attendance@oakfield.example",
        database_url="sqlite:///:memory:",
    )
    values.update(kw)
    return load_settings(**values)


# --------------------------------------------------------------------------------------------------
# Twilio
# --------------------------------------------------------------------------------------------------


def test_twilio_sends_with_messaging_service_callback_and_validity(twilio):
    sms = TwilioSms(twilio_settings(twilio, sms_validity_seconds=7200))
    result = sms.send("+447700900123", "Hello from Oakfield", status_callback=CALLBACK)

    [req] = twilio.requests
    assert req.auth_ok
    assert req.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert req.params["To"] == "+447700900123"
    assert req.params["Body"] == "Hello from Oakfield"
    assert req.params["MessagingServiceSid"] == MESSAGING_SERVICE_SID
    assert "From" not in req.params
    assert req.params["StatusCallback"] == CALLBACK
    assert req.params["ValidityPeriod"] == "7200"
    assert result.provider_id == req.sid and result.provider_id.startswith("SM")
    assert len(result.provider_id) == 34
    assert result.status == "accepted"


def test_twilio_sends_from_a_number_without_messaging_service(twilio):
    settings = twilio_settings(twilio, twilio_messaging_service_sid=None, twilio_from_number=FROM_NUMBER)
    sms = TwilioSms(settings)
    result = sms.send("+447700900124", "Hi", status_callback=CALLBACK)
    [req] = twilio.requests
    assert req.params["From"] == FROM_NUMBER
    assert "MessagingServiceSid" not in req.params
    assert result.status == "accepted"  # Twilio answered "queued": in its queue


def test_twilio_wrong_token_is_refused_and_retried_later(twilio):
    sms = TwilioSms(twilio_settings(twilio, twilio_auth_token="not-the-token"))
    with pytest.raises(TransientFailure) as info:
        sms.send("+447700900123", "Hi", status_callback=CALLBACK)
    assert info.value.code == "20003"
    assert twilio.requests[0].auth_ok is False
    assert twilio.created() == []


@pytest.mark.parametrize("code", [21610, 21211, 21614])
def test_twilio_permanent_errors(twilio, code):
    twilio.fail_number("+447700900555", code)
    sms = TwilioSms(twilio_settings(twilio))
    with pytest.raises(PermanentFailure) as info:
        sms.send("+447700900555", "Hi", status_callback=CALLBACK)
    assert info.value.code == str(code)
    # Another number still goes.
    assert sms.send("+447700900556", "Hi", status_callback=CALLBACK).provider_id.startswith("SM")


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503), (429, 20429)])
def test_twilio_server_errors_and_rate_limits_are_transient(twilio, status, code):
    twilio.fail_next(1, status=status, code=code)
    sms = TwilioSms(twilio_settings(twilio))
    with pytest.raises(TransientFailure):
        sms.send("+447700900123", "Hi", status_callback=CALLBACK)
    assert sms.send("+447700900123", "Hi", status_callback=CALLBACK).status == "accepted"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_twilio_connection_refused_is_transient(twilio):
    sms = TwilioSms(twilio_settings(twilio, twilio_api_base_url=f"http://127.0.0.1:{_closed_port()}"))
    with pytest.raises(TransientFailure):
        sms.send("+447700900123", "Hi", status_callback=CALLBACK)


# --------------------------------------------------------------------------------------------------
# SMTP
# --------------------------------------------------------------------------------------------------


def test_smtp_sends_multipart_text_and_html(smtp_server):
    email = SmtpEmail(smtp_settings(smtp_server))
    result = email.send("sara@example.org", "Amelia today", "Plain text body", "<p>HTML body</p>")

    [mail] = smtp_server.messages
    assert mail.rcpt_tos == ["sara@example.org"]
    assert mail.mail_from == "attendance@oakfield.example"
    assert mail.message["Subject"] == "Amelia today"
    assert mail.message["To"] == "sara@example.org"
    assert mail.message.get_content_type() == "multipart/alternative"
    assert mail.part("text/plain").strip() == "Plain text body"
    assert mail.part("text/html").strip() == "<p>HTML body</p>"
    assert result.status == "sent"
    assert mail.message["Message-ID"].strip("<>") == result.provider_id


def test_smtp_text_only(smtp_server):
    SmtpEmail(smtp_settings(smtp_server)).send("sara@example.org", "S", "Only text")
    [mail] = smtp_server.messages
    assert mail.message.get_content_type() == "text/plain"


def test_smtp_rejected_recipient_is_permanent(smtp_server):
    smtp_server.reject("gone@example.org")
    with pytest.raises(PermanentFailure) as info:
        SmtpEmail(smtp_settings(smtp_server)).send("gone@example.org", "S", "Body")
    assert info.value.code == "550"
    assert smtp_server.messages == []


def test_smtp_temporary_refusal_is_transient(smtp_server):
    smtp_server.reject("busy@example.org", 451, "4.3.0 try again later")
    with pytest.raises(TransientFailure) as info:
        SmtpEmail(smtp_settings(smtp_server)).send("busy@example.org", "S", "Body")
    assert info.value.code == "451"


def test_smtp_unreachable_server_is_transient():
    settings = load_settings(
        smtp_host="127.0.0.1",
        smtp_port=_closed_port(),
        smtp_starttls=False,
        database_url="sqlite:///:memory:",
    )
    with pytest.raises(TransientFailure):
        SmtpEmail(settings, timeout=5).send("sara@example.org", "S", "Body")


def test_smtp_starttls_required_but_missing_is_transient(smtp_server):
    with pytest.raises(TransientFailure):
        SmtpEmail(smtp_settings(smtp_server, smtp_starttls=True)).send("sara@example.org", "S", "Body")
    assert smtp_server.messages == []


# --------------------------------------------------------------------------------------------------
# Choice by settings; local transports
# --------------------------------------------------------------------------------------------------


def test_transports_for_picks_local_without_credentials():
    chosen = transports_for(load_settings(database_url="sqlite:///:memory:"))
    assert isinstance(chosen.sms, LocalSms) and isinstance(chosen.email, LocalEmail)
    result = chosen.sms.send("+447700900123", "Hi", status_callback=None)
    assert result.provider_id.startswith("LOCAL-") and result.status == "delivered"
    assert chosen.email.send("a@example.org", "S", "B").provider_id.startswith("LOCAL-")


def test_transports_for_picks_twilio_and_smtp_with_credentials(twilio, smtp_server):
    settings = twilio_settings(
        twilio, smtp_host=smtp_server.host, smtp_port=smtp_server.port, smtp_starttls=False
    )
    chosen = transports_for(settings)
    assert isinstance(chosen.sms, TwilioSms) and isinstance(chosen.email, SmtpEmail)
    chosen.sms.send("+447700900123", "Hi", status_callback=CALLBACK)
    chosen.email.send("a@example.org", "S", "B")
    assert len(twilio.created()) == 1 and len(smtp_server.messages) == 1
