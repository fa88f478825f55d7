"""Delivery under faults (issue 13): the loopback Twilio refuses, answers 503 or answers too late;
the sender is killed (-9) or stopped (SIGTERM) mid-batch. Per family: texted exactly once, nothing
lost, and no reroute or "cannot reach the family" alert caused by the provider.

Time is simulated (explicit ``now`` steps through two hours); the HTTP timeouts are short settings.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.firstday.scheduled import send_outbox
from bot.messaging.health import provider_problems
from bot.messaging.transports import transports_for
from storage.db import session_scope
from storage.models import Alert, OutboxMessage
from tests import factories
from tests.peers.fixtures import twilio  # noqa: F401
from tests.peers.http import live_app
from tests.peers.twilio_api import AUTH_TOKEN, post_status_callback
from tests.test_sender import PUBLIC, T0, family_message, make_settings

FAMILIES = 12


def families(engine, count: int = FAMILIES) -> list[int]:
    with session_scope(engine) as s:
        school = factories.school(s)
        return [family_message(s, school, n=i)[0] for i in range(count)]


def rows(engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


def assert_each_family_texted_once(engine, twilio, ids):
    """Every message went, once; nothing was rerouted, nothing new queued, nobody alerted."""
    messages = rows(engine)
    assert [m.id for m in messages] == ids, "no fallback message was queued"
    for m in messages:
        assert m.status == "accepted", (m.id, m.status, m.error)
        assert not m.rerouted
        created = twilio.created_to(m.to_address)
        assert len(created) == 1, f"message {m.id} texted {len(created)} times"
        assert m.provider_id == created[0]["sid"]
    with Session(engine) as s:
        assert s.exec(select(Alert)).all() == []


def run_outage(engine, twilio, settings, mode: str, *, hours: float = 2, step_minutes: int = 5):
    """The provider in ``mode`` for ``hours`` of simulated time, the send job every few minutes."""
    transports = transports_for(settings)
    twilio.set_mode(mode)
    at = T0
    while at < T0 + timedelta(hours=hours):
        summary = send_outbox(engine, now=at, settings=settings, transports=transports)
        assert summary["failed"] == 0 and summary["rerouted"] == 0
        at += timedelta(minutes=step_minutes)
    return at, transports


@pytest.mark.parametrize("mode", ["503", "refused"])
def test_two_hours_of_provider_outage_then_recovery(engine, twilio, mode):
    settings = make_settings(engine, twilio, twilio_timeout_seconds=0.5, outbox_max_attempts=2)
    ids = families(engine)
    at, transports = run_outage(engine, twilio, settings, mode)
    during = rows(engine)
    assert {m.status for m in during} == {"queued"} and all(m.outage_tries >= 2 for m in during)
    assert twilio.messages == []
    with Session(engine) as s:  # the operators are told; the pastoral team is not (no Alert)
        facts, problems = provider_problems(s, now=at)
    assert facts["provider_twilio"] == "failing" and "twilio" in problems[0]
    assert f"{FAMILIES} message(s)" in problems[0]

    twilio.set_mode("ok")
    at += timedelta(minutes=5)  # every message is due again within the 5-minute cap
    summary = send_outbox(engine, now=at, settings=settings, transports=transports)
    assert summary["sent"] == FAMILIES
    assert_each_family_texted_once(engine, twilio, ids)
    with Session(engine) as s:
        facts, problems = provider_problems(s, now=at)
    assert facts["provider_twilio"] == "ok" and problems == []


def test_when_the_provider_answers_again_what_it_held_back_goes_at_once(engine, twilio):
    settings = make_settings(engine, twilio)
    transports = transports_for(settings)
    [held] = families(engine, 1)
    twilio.set_mode("503")
    at = T0
    for _ in range(4):  # 30 s, 1, 2 min: now held for 4 minutes
        at = max(at, rows(engine)[0].next_attempt_at)
        send_outbox(engine, now=at, settings=settings, transports=transports)
    assert rows(engine)[0].next_attempt_at == at + timedelta(minutes=4)
    with session_scope(engine) as s:
        fresh, _ = family_message(s, factories.school(s, urn="222222"), n=50)
    twilio.set_mode("ok")
    summary = send_outbox(engine, now=at, settings=settings, transports=transports)
    assert summary["sent"] == 2, "the fresh text went, the provider answered, the held one followed"
    assert_each_family_texted_once(engine, twilio, [held, fresh])


def test_an_outage_past_the_school_day_expires_the_texts_without_blaming_anyone(engine, twilio, hook_calls):
    settings = make_settings(engine, twilio, twilio_timeout_seconds=0.5)
    ids = families(engine, 3)
    at, transports = run_outage(engine, twilio, settings, "503", hours=9, step_minutes=30)  # past 18:00
    twilio.set_mode("ok")
    summary = send_outbox(engine, now=at, settings=settings, transports=transports)
    assert summary["sent"] == 0
    messages = rows(engine)
    assert [m.id for m in messages] == ids
    assert {(m.status, m.error_code, m.rerouted) for m in messages} == {("cancelled", "expired", False)}
    assert hook_calls == [] and twilio.messages == []
    with Session(engine) as s:
        assert s.exec(select(Alert)).all() == []


def test_slower_than_the_timeout_is_unknown_and_looked_up_never_resent(engine, twilio):
    """Twilio created every text but answered too late: the sender finds them, sends no copy."""
    settings = make_settings(engine, twilio, twilio_timeout_seconds=0.3)
    twilio.clock = lambda: T0
    twilio.slow_seconds = 0.8
    ids = families(engine)
    at, transports = run_outage(engine, twilio, settings, "slow", hours=2)
    assert len(twilio.messages) == FAMILIES  # the provider has every text, once
    assert all(m.status == "accepted" and m.resends == 0 for m in rows(engine))
    twilio.set_mode("ok")
    send_outbox(engine, now=at, settings=settings, transports=transports)
    assert_each_family_texted_once(engine, twilio, ids)
    assert sum(r.method == "POST" for r in twilio.requests) == FAMILIES


def test_an_unknown_text_is_resent_at_most_once(engine, twilio, hook_calls):
    """The provider lost it (the look-up finds nothing): one resend; no answer again: no third."""
    settings = make_settings(engine, twilio, twilio_timeout_seconds=0.3)
    twilio.clock = lambda: T0
    twilio.slow_seconds = 0.8
    [mid] = families(engine, 1)
    transports = transports_for(settings)
    twilio.set_mode("slow")
    at = T0
    for _ in range(6):
        twilio.messages.clear()  # whatever it created is lost: a look-up finds nothing
        send_outbox(engine, now=at, settings=settings, transports=transports)
        at += timedelta(minutes=10)
    assert sum(r.method == "POST" for r in twilio.requests) == 2
    [m] = rows(engine)
    assert m.status == "unknown" and m.resends == 1
    send_outbox(engine, now=T0 + timedelta(hours=10), settings=settings, transports=transports)
    [m] = rows(engine)
    assert (m.status, m.error_code, m.rerouted) == ("cancelled", "expired", False)
    assert hook_calls == [] and sum(r.method == "POST" for r in twilio.requests) == 2


def test_a_late_callback_settles_an_unknown_text_and_calls_off_the_resend(engine, db_url, twilio):
    settings = make_settings(engine, twilio, twilio_timeout_seconds=0.3)
    twilio.clock = lambda: T0
    twilio.slow_seconds = 0.8
    [mid] = families(engine, 1)
    transports = transports_for(settings)
    twilio.set_mode("slow")
    assert send_outbox(engine, now=T0, settings=settings, transports=transports)["unknown"] == 1
    [created] = twilio.messages
    assert created["status_callback"] == f"{PUBLIC}/twilio/status?outbox={mid}"
    with live_app(settings) as app:
        response = post_status_callback(
            app.base_url,
            public_base_url=PUBLIC,
            token=AUTH_TOKEN,
            message_sid=created["sid"],
            status="delivered",
            path=f"/twilio/status?outbox={mid}",
        )
    assert response.status_code == 200
    [m] = rows(engine)
    assert (m.status, m.provider_id) == ("delivered", created["sid"])
    twilio.set_mode("ok")
    send_outbox(engine, now=T0 + timedelta(minutes=10), settings=settings, transports=transports)
    assert [r.method for r in twilio.requests] == ["POST"]  # no look-up, no resend


def test_two_senders_through_a_slow_provider_send_each_text_once(engine, twilio):
    """Concurrent senders (threads here; PostgreSQL's SKIP LOCKED or SQLite's write lock)."""
    import threading

    settings = make_settings(engine, twilio, twilio_timeout_seconds=0.3, sender_concurrency=4)
    twilio.clock = lambda: T0
    twilio.slow_seconds = 0.5
    ids = families(engine, 16)
    twilio.set_mode("slow")
    for step in range(4):
        if step == 2:
            twilio.set_mode("ok")
        at = T0 + timedelta(minutes=3 * step)
        threads = [
            threading.Thread(target=send_outbox, args=(engine,), kwargs={"now": at, "settings": settings})
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert_each_family_texted_once(engine, twilio, ids)


# --------------------------------------------------------------------------------------------------
# A real sender process, killed or stopped mid-batch
# --------------------------------------------------------------------------------------------------


def _sender(db_url, twilio, **env):
    """``attendance-bot outbox send`` in its own process, at T0, under a stable sender name."""
    environ = {
        **os.environ,
        "DATABASE_URL": db_url,
        "PUBLIC_BASE_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_MESSAGING_SERVICE_SID": "MG" + "fedcba9876543210" * 2,
        "TWILIO_API_BASE_URL": twilio.base_url,
        "SENDER_NAME": "test-sender",
        "SENDER_CONCURRENCY": "4",
        "TWILIO_TIMEOUT_SECONDS": "5",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "outbox", "send", "--now", T0.isoformat()],
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_creates(twilio, count: int, proc) -> None:
    deadline = time.monotonic() + 60
    while len(twilio.messages) < count:
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the sender never got going"
        time.sleep(0.02)


def test_kill_9_mid_batch_then_restart_texts_each_family_once(engine, db_url, twilio):
    twilio.clock = lambda: T0
    twilio.delay = 0.25  # each request a quarter of a second: a batch is mid-flight when killed
    ids = families(engine, 24)
    proc = _sender(db_url, twilio)
    _wait_for_creates(twilio, 6, proc)
    proc.kill()  # SIGKILL: no handler, nothing recorded after this instant
    proc.wait(timeout=10)
    assert any(m.status == "sending" for m in rows(engine)), "killed with texts in flight"
    again = _sender(db_url, twilio)  # the same SENDER_NAME: its rows are taken back at once
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "recovered" in out and "recovered 0" not in out
    assert_each_family_texted_once(engine, twilio, ids)
    taken_back = [m for m in rows(engine) if m.outage_tries]
    assert taken_back and any(m.resends == 0 for m in taken_back), "Twilio had some: found, not resent"
    assert any(r.method == "GET" for r in twilio.requests)


def test_sigterm_mid_batch_finishes_in_flight_then_a_restart_sends_the_rest(engine, db_url, twilio):
    twilio.clock = lambda: T0
    twilio.delay = 0.25
    ids = families(engine, 24)
    proc = _sender(db_url, twilio)
    _wait_for_creates(twilio, 6, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    after_stop = rows(engine)
    assert not any(m.status == "sending" for m in after_stop), "in-flight sends were finished and recorded"
    assert any(m.status == "queued" for m in after_stop), "it stopped claiming"
    went = [m for m in after_stop if m.status == "accepted"]
    assert len(went) == len(twilio.messages)  # every text Twilio took is recorded
    again = _sender(db_url, twilio)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert_each_family_texted_once(engine, twilio, ids)
    assert not any(r.method == "GET" for r in twilio.requests)  # nothing was left unknown
