"""``POST /twilio/status`` on the live app (real HTTP server thread), signed the way Twilio signs."""

from datetime import timedelta

import pytest
from sqlmodel import Session

from bot.firstday.scheduled import send_outbox
from bot.settings import load_settings
from storage.db import session_scope
from storage.models import OutboxMessage
from tests import factories
from tests.peers.fixtures import twilio  # noqa: F401
from tests.peers.http import live_app
from tests.peers.twilio_api import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    MESSAGING_SERVICE_SID,
    post_status_callback,
    sign,
    status_params,
)
from tests.test_sender import T0, family_message

PUBLIC = "https://attendance.oakfield.example"


@pytest.fixture
def settings(db_url, twilio):
    return load_settings(
        database_url=db_url,
        public_base_url=PUBLIC,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_messaging_service_sid=MESSAGING_SERVICE_SID,
        twilio_api_base_url=twilio.base_url,
    )


@pytest.fixture
def app(settings, engine):
    with live_app(settings) as running:
        yield running


@pytest.fixture
def sent_message(engine, settings, twilio):
    """A first-day text really sent through the Twilio peer: it has a provider id (MessageSid)."""
    with session_scope(engine) as s:
        mid, _ = family_message(s, factories.school(s), n=1)
    assert send_outbox(engine, now=T0, settings=settings)["sent"] == 1
    msg = load(engine, mid)
    assert msg.status == "accepted" and msg.provider_id.startswith("SM")
    return msg


def load(engine, message_id: int) -> OutboxMessage:
    with Session(engine) as s:
        return s.get(OutboxMessage, message_id)


def callback(app, sid, status, **kw):
    return post_status_callback(
        app.base_url, public_base_url=PUBLIC, token=AUTH_TOKEN, message_sid=sid, status=status, **kw
    )


def test_signed_callbacks_move_the_status_forward(app, engine, sent_message):
    sid = sent_message.provider_id
    assert callback(app, sid, "sent").status_code == 200
    assert load(engine, sent_message.id).status == "sent"
    assert callback(app, sid, "delivered").status_code == 200
    assert load(engine, sent_message.id).status == "delivered"


@pytest.mark.parametrize("forgery", ["unsigned", "other_token", "internal_url", "tampered", "garbage"])
def test_forged_callbacks_are_refused_and_write_nothing(app, engine, sent_message, forgery, hook_calls):
    sid = sent_message.provider_id
    before = load(engine, sent_message.id)
    params = status_params(message_sid=sid, status="failed", error_code=30003)
    signature = {
        "unsigned": "",
        "other_token": sign("some-other-token", PUBLIC + "/twilio/status", params),
        # Signed over the address the app really listens on, not the public one Twilio calls.
        "internal_url": sign(AUTH_TOKEN, app.base_url + "/twilio/status", params),
        # A valid signature for "delivered", sent with "failed".
        "tampered": sign(
            AUTH_TOKEN, PUBLIC + "/twilio/status", status_params(message_sid=sid, status="delivered")
        ),
        "garbage": "bm90IGEgc2lnbmF0dXJl",
    }[forgery]
    response = callback(app, sid, "failed", error_code=30003, signature=signature)
    assert response.status_code == 403
    after = load(engine, sent_message.id)
    assert (after.status, after.error_code, after.updated_at, after.rerouted) == (
        before.status,
        before.error_code,
        before.updated_at,
        before.rerouted,
    )
    assert hook_calls == []


def test_repeated_and_out_of_order_callbacks_never_move_backwards(app, engine, sent_message):
    sid = sent_message.provider_id
    for status in ("delivered", "sent", "sending", "queued", "delivered", "failed", "undelivered"):
        assert callback(app, sid, status).status_code == 200
        assert load(engine, sent_message.id).status == "delivered"


def test_failure_records_error_code_and_reroutes_once(app, engine, settings, sent_message, hook_calls):
    sid = sent_message.provider_id
    assert callback(app, sid, "sent").status_code == 200
    assert callback(app, sid, "undelivered", error_code=30003).status_code == 200
    msg = load(engine, sent_message.id)
    # The callback only records; the family is moved on by the next sending pass.
    assert msg.status == "undelivered" and msg.error_code == "30003" and not msg.rerouted
    assert hook_calls == []
    send_outbox(engine, now=T0 + timedelta(minutes=1), settings=settings)
    assert load(engine, sent_message.id).rerouted and hook_calls == [sent_message.id]
    # Twilio repeats itself; a late "failed" must not reroute the family a second time.
    assert callback(app, sid, "undelivered", error_code=30003).status_code == 200
    assert callback(app, sid, "failed", error_code=30005).status_code == 200
    send_outbox(engine, now=T0 + timedelta(minutes=2), settings=settings)
    msg = load(engine, sent_message.id)
    assert msg.status == "undelivered" and msg.error_code == "30003"
    assert hook_calls == [sent_message.id]


def test_failed_without_error_code(app, engine, settings, sent_message, hook_calls):
    assert callback(app, sent_message.provider_id, "failed").status_code == 200
    msg = load(engine, sent_message.id)
    assert msg.status == "failed" and msg.error_code is None and "failed" in msg.error
    send_outbox(engine, now=T0 + timedelta(minutes=1), settings=settings)
    assert hook_calls == [sent_message.id]


def test_unknown_message_sid_is_acknowledged_and_ignored(app, engine, sent_message, hook_calls):
    response = callback(app, "SM" + "f" * 32, "failed", error_code=30003)
    assert response.status_code == 200
    msg = load(engine, sent_message.id)
    assert msg.status == "accepted" and msg.error_code is None
    assert hook_calls == []


def test_signature_covers_the_query_string(app, engine, sent_message):
    """Twilio signs the full callback url it was given, query string included."""
    import requests

    params = status_params(message_sid=sent_message.provider_id, status="delivered")
    good = sign(AUTH_TOKEN, PUBLIC + "/twilio/status?school=1", params)
    wrong = sign(AUTH_TOKEN, PUBLIC + "/twilio/status", params)
    url = app.base_url + "/twilio/status?school=1"

    def post(signature):
        return requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=10)

    assert post(wrong).status_code == 403
    assert load(engine, sent_message.id).status == "accepted"
    assert post(good).status_code == 200
    assert load(engine, sent_message.id).status == "delivered"


def test_local_mode_signs_with_the_local_token(db_url, engine):
    """With no Twilio account the endpoint still insists on a signature (made with the local token)."""
    settings = load_settings(database_url=db_url, public_base_url=PUBLIC)
    with session_scope(engine) as s:
        mid, _ = family_message(s, factories.school(s), n=5)
    with Session(engine) as s:
        msg = s.get(OutboxMessage, mid)
        msg.status, msg.provider_id = "accepted", "SM" + "a" * 32
        s.add(msg)
        s.commit()
    with live_app(settings) as running:
        bad = post_status_callback(
            running.base_url,
            public_base_url=PUBLIC,
            token=AUTH_TOKEN,
            message_sid="SM" + "a" * 32,
            status="delivered",
        )
        assert bad.status_code == 403
        good = post_status_callback(
            running.base_url,
            public_base_url=PUBLIC,
            token=settings.inbound_sms_token,
            message_sid="SM" + "a" * 32,
            status="delivered",
        )
        assert good.status_code == 200
    assert load(engine, mid).status == "delivered"


@pytest.mark.parametrize("code", [30001, 30002, 30008, 30022])
def test_provider_side_failure_codes_queue_the_text_again_and_never_reroute(
    app, engine, settings, twilio, sent_message, hook_calls, code
):
    """Issue 13: queue overflow, a suspended account, Twilio's unknown error, a rate limit: the
    provider's side. The text goes again (not counted against the family); nobody is moved on."""
    from freezegun import freeze_time

    sid = sent_message.provider_id
    with freeze_time(T0 + timedelta(seconds=20)):  # the web edge reads the clock: keep it on the story's
        assert callback(app, sid, "failed", error_code=code).status_code == 200
        msg = load(engine, sent_message.id)
        assert (msg.status, msg.error_code, msg.outage_tries) == ("queued", str(code), 1)
        assert callback(app, sid, "undelivered", error_code=code).status_code == 200  # repeated: no change
    assert load(engine, sent_message.id).outage_tries == 1
    summary = send_outbox(engine, now=T0 + timedelta(minutes=1), settings=settings)
    assert summary["sent"] == 1 and summary["rerouted"] == 0 and hook_calls == []
    msg = load(engine, sent_message.id)
    assert msg.status == "accepted" and msg.provider_id != sid and not msg.rerouted
    assert len(twilio.created()) == 2  # the provider failed the first; the second is the family's one text


def test_a_callback_naming_the_row_attaches_a_provider_id_never_stored(app, engine, settings, hook_calls):
    """Sent, no answer: the row has no provider id; the callback url names it (``?outbox=``)."""
    with session_scope(engine) as s:
        mid, _ = family_message(s, factories.school(s), n=3)
    with Session(engine) as s:
        msg = s.get(OutboxMessage, mid)
        msg.status = "unknown"
        s.add(msg)
        s.commit()
    sid = "SM" + "b" * 32
    assert callback(app, sid, "sent").status_code == 200  # without the row's id: nothing to match
    assert load(engine, mid).status == "unknown"
    assert callback(app, sid, "sent", path=f"/twilio/status?outbox={mid}").status_code == 200
    msg = load(engine, mid)
    assert (msg.status, msg.provider_id) == ("sent", sid) and msg.sent_at is not None
    # A forged row id does not verify: the signature covers the query string.
    other = "SM" + "c" * 32
    params = status_params(message_sid=other, status="failed", error_code=30003)
    forged = sign(AUTH_TOKEN, PUBLIC + "/twilio/status", params)
    import requests

    response = requests.post(
        app.base_url + f"/twilio/status?outbox={mid}",
        data=params,
        headers={"X-Twilio-Signature": forged},
        timeout=10,
    )
    assert response.status_code == 403 and load(engine, mid).provider_id == sid
