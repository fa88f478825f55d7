"""``POST /twilio/sms`` over real HTTP: only requests Twilio signed for our PUBLIC url get in.

Requests are signed with Twilio's own ``RequestValidator.compute_signature`` over the public url
(``PUBLIC_BASE_URL`` + path), exactly as Twilio does; the app itself listens on a loopback port, as
it would behind a proxy.
"""

from datetime import UTC, date, datetime

import pytest
import requests
from sqlmodel import Session, func, select
from twilio.request_validator import HMAC_SHA256, SIGNATURE_SETTINGS_HEADER, RequestValidator

from bot.cases.service import open_or_extend
from bot.settings import load_settings
from storage.models import AbsenceCase, InboundMessage, OutboxMessage
from tests import factories as f
from tests.peers.http import live_app

PUBLIC = "https://attendance.example.org"
TOKEN = "twilio-auth-token-for-tests-0001"
MOBILE = "+447700900123"
SECRET_KEY = "twilio-sms-" + "Zk3v9Qm2Lp8xRt5Wb7Nc-aE"  # strong enough for a real Twilio account
DAY = date(2026, 9, 15)


@pytest.fixture
def app_settings(db_url):
    return load_settings(
        database_url=db_url,
        public_base_url=PUBLIC + "/",
        secret_key=SECRET_KEY,
        twilio_account_sid="AC" + "0" * 32,
        twilio_auth_token=TOKEN,
        twilio_messaging_service_sid="MG" + "0" * 32,
    )


@pytest.fixture
def world(engine):
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, name="Oakfield Primary")
        p = f.pupil(s, school, first="Amelia")
        f.contact(s, school, p, mobile=MOBILE)
        f.mark(s, p, DAY, "AM", "N")
        case, _ = open_or_extend(
            s, pupil=p, day=DAY, session_name="AM", now=datetime(2026, 9, 15, 8, 20, tzinfo=UTC)
        )
        s.commit()
    return engine, case.id


@pytest.fixture
def server(app_settings, world):
    with live_app(app_settings) as running:
        yield running


def params(sid="SM" + "a" * 32, body="Amelia has a temperature", sender="07700 900123"):
    return {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+447700900999",
        "Body": body,
        "NumMedia": "0",
    }


def post(server, data, *, signature=None, path="/twilio/sms", headers=None):
    headers = dict(headers or {})
    if signature:
        headers["X-Twilio-Signature"] = signature
    return requests.post(server.url(path), data=data, headers=headers, timeout=10)


def sign(data, *, url=PUBLIC + "/twilio/sms", token=TOKEN, algorithm=None):
    return RequestValidator(token).compute_signature(url, data, algorithm)


def rows(engine, model) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def test_signed_reply_is_recorded_and_answered_with_empty_twiml(server, world):
    engine, case_id = world
    data = params()
    r = post(server, data, signature=sign(data))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/xml")
    assert r.text.endswith("<Response/>")
    with Session(engine) as s:
        inbound = s.exec(select(InboundMessage)).one()
        assert (inbound.provider_id, inbound.body) == (data["MessageSid"], data["Body"])
        assert inbound.code == "I"
        assert s.get(AbsenceCase, case_id).status == "explained"
        thanks = s.exec(select(OutboxMessage)).one()
        assert thanks.kind == "thanks" and thanks.to_address == MOBILE

    # Twilio retrying (or anyone replaying) the same request: answered, nothing new.
    again = post(server, data, signature=sign(data))
    assert again.status_code == 200 and again.text.endswith("<Response/>")
    assert rows(engine, InboundMessage) == 1 and rows(engine, OutboxMessage) == 1


@pytest.mark.parametrize(
    "how",
    ["missing", "forged", "other_token", "internal_url", "tampered", "other_path", "sha256_header_lies"],
)
def test_requests_not_signed_for_our_public_url_are_refused_and_write_nothing(server, world, how):
    engine, case_id = world
    data = params()
    signature = {
        "missing": None,
        "forged": "dGhpcyBpcyBub3QgYSBzaWduYXR1cmU=",
        "other_token": sign(data, token="someone-elses-auth-token"),
        "internal_url": sign(data, url=server.url("/twilio/sms")),
        "tampered": sign({**data, "Body": "ok"}),
        "other_path": sign(data, url=PUBLIC + "/twilio/status"),
        "sha256_header_lies": sign(data),  # SHA-1 signature, header claims SHA-256
    }[how]
    lies = how == "sha256_header_lies"
    headers = {SIGNATURE_SETTINGS_HEADER: f"key=x,algorithm={HMAC_SHA256}"} if lies else {}
    r = post(server, data, signature=signature, headers=headers)
    assert r.status_code == 403
    assert "Response" not in r.text
    assert rows(engine, InboundMessage) == 0 and rows(engine, OutboxMessage) == 0
    with Session(engine) as s:
        assert s.get(AbsenceCase, case_id).status == "open"


def test_query_string_is_part_of_the_signed_url(server, world):
    engine, _ = world
    data = params()
    path = "/twilio/sms?school=oak"
    ok = post(server, data, signature=sign(data, url=PUBLIC + path), path=path)
    assert ok.status_code == 200
    data2 = params(sid="SM" + "b" * 32)
    bad = post(server, data2, signature=sign(data2), path="/twilio/sms?school=oak")
    assert bad.status_code == 403
    assert rows(engine, InboundMessage) == 1


def test_sha256_signature_named_in_the_settings_header_is_accepted(server, world):
    engine, _ = world
    data = params()
    r = post(
        server,
        data,
        signature=sign(data, algorithm=HMAC_SHA256),
        headers={SIGNATURE_SETTINGS_HEADER: f"key=k1,algorithm={HMAC_SHA256}"},
    )
    assert r.status_code == 200 and rows(engine, InboundMessage) == 1


def test_unknown_number_gets_a_neutral_queued_reply_not_twiml(server, world):
    engine, case_id = world
    data = params(sender="+447700900777", body="who is this")
    r = post(server, data, signature=sign(data))
    assert r.status_code == 200 and r.text.endswith("<Response/>")
    with Session(engine) as s:
        message = s.exec(select(OutboxMessage)).one()
        assert message.kind == "neutral" and message.to_address == "+447700900777"
        assert "Amelia" not in message.body and "Oakfield" not in message.body
        assert s.get(AbsenceCase, case_id).status == "open"


def test_local_token_when_no_twilio_account(db_url, world):
    engine, _ = world
    settings = load_settings(database_url=db_url, public_base_url=PUBLIC, secret_key=SECRET_KEY)
    with live_app(settings) as running:
        data = params()
        assert post(running, data, signature=sign(data)).status_code == 403
        r = post(running, data, signature=sign(data, token=settings.inbound_sms_token))
        assert r.status_code == 200
    assert rows(engine, InboundMessage) == 1


def test_a_text_with_a_nul_byte_is_kept_stripped_and_acted_on(server, world):
    """PostgreSQL refuses NUL in text: the reply used to be lost with a 500 (Twilio gives up)."""
    engine, case_id = world
    data = params(body="Amelia\x00 has a temperature\x07\x1b today\r\nsorry")
    r = post(server, data, signature=sign(data))
    assert r.status_code == 200 and r.text.endswith("<Response/>")
    with Session(engine) as s:
        inbound = s.exec(select(InboundMessage)).one()
        assert inbound.body == "Amelia has a temperature today\r\nsorry"
        assert inbound.code == "I" and s.get(AbsenceCase, case_id).status == "explained"


def test_a_message_sid_with_control_characters_is_refused_and_writes_nothing(server, world):
    engine, _ = world
    data = params(sid="SM\x00" + "a" * 31)
    r = post(server, data, signature=sign(data))
    assert r.status_code == 400 and "MessageSid" in r.text
    assert rows(engine, InboundMessage) == 0
