"""The outbox sender against the Twilio-shaped peer and a real SMTP server, on SQLite and PostgreSQL."""

import logging
import threading
from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session, select

from bot.cases.service import close, explain
from bot.firstday.reconcile import check_before_send
from bot.firstday.scheduled import send_outbox
from bot.messaging.claim import claim
from bot.messaging.outbox import enqueue
from bot.messaging.sender import backoff, send_due
from bot.messaging.transports import LocalEmail, LocalSms, Transports, transports_for
from bot.settings import load_settings
from storage.db import session_scope
from storage.models import AbsenceCase, Contact, OutboxMessage
from tests import factories
from tests.peers.fixtures import smtp_server, twilio  # noqa: F401
from tests.peers.twilio_api import ACCOUNT_SID, AUTH_TOKEN, MESSAGING_SERVICE_SID

PUBLIC = "https://bot.example.org"
T0 = datetime(2026, 9, 7, 8, 20, tzinfo=UTC)  # 09:20 in London, just after AM close


def make_settings(engine, twilio_peer=None, smtp=None, **kw):
    values = dict(database_url=str(engine.url.render_as_string(hide_password=False)), public_base_url=PUBLIC)
    if twilio_peer is not None:
        values.update(
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_messaging_service_sid=MESSAGING_SERVICE_SID,
            twilio_api_base_url=twilio_peer.base_url,
        )
    if smtp is not None:
        values.update(smtp_host=smtp.host, smtp_port=smtp.port, smtp_starttls=False)
    values.update(kw)
    return load_settings(**values)


def family_message(
    session: Session,
    school,
    *,
    n: int,
    channel: str = "sms",
    with_case: bool = True,
    extra_cases: int = 0,
    **contact_kw,
) -> tuple[int, list[AbsenceCase]]:
    """A first-day message to one parent about one (or more) open absence cases."""
    pupil = factories.pupil(session, school, first=f"Child{n}")
    mobile = f"+4477009{n:05d}"
    contact = factories.contact(
        session, school, pupil, mobile=mobile, email=f"parent{n}@example.org", **contact_kw
    )
    cases = []
    if with_case:
        for i in range(1 + extra_cases):
            p = pupil if i == 0 else factories.pupil(session, school, first=f"Sib{n}-{i}")
            factories.mark(session, p, date(2026, 9, 7), "AM", "N")  # the register still shows N
            case = AbsenceCase(
                school_id=school.id,
                pupil_id=p.id,
                first_date=date(2026, 9, 7),
                first_session="AM",
                last_absent_date=date(2026, 9, 7),
                opened_at=T0,
            )
            session.add(case)
            session.flush()
            cases.append(case)
    message, created = enqueue(
        session,
        school_id=school.id,
        key=f"first_day:{n}",
        kind="first_day",
        channel=channel,
        to_address=mobile if channel == "sms" else contact.email,
        body=f"Child{n} is not in school today.",
        contact_id=contact.id,
        subject="Oakfield Primary: absence" if channel == "email" else None,
        case_ids=[c.id for c in cases],
        now=T0,
    )
    assert created
    return message.id, cases


def send(engine, settings, *, now=T0, transports=None, **kw):
    """One sending pass as the send-outbox job makes it (with the first-day pre-send check)."""
    return send_due(
        engine,
        transports=transports or transports_for(settings),
        settings=settings,
        now=now,
        before_send=check_before_send,
        **kw,
    )


def load(engine, message_id: int) -> OutboxMessage:
    with Session(engine) as s:
        return s.get(OutboxMessage, message_id)


# --------------------------------------------------------------------------------------------------


def test_backoff_grows_and_is_capped():
    delays = [backoff(a).total_seconds() for a in (1, 2, 3, 4, 5, 6, 9)]
    assert delays == [30, 120, 480, 1920, 3600, 3600, 3600]


def test_happy_path_sms_and_email(engine, twilio, smtp_server):
    settings = make_settings(engine, twilio, smtp_server)
    with session_scope(engine) as s:
        school = factories.school(s)
        sms_ids = [family_message(s, school, n=i)[0] for i in range(3)]
        email_id, _ = family_message(s, school, n=9, channel="email")

    summary = send(engine, settings)
    assert (summary.sent, summary.failed, summary.retried, summary.cancelled) == (4, 0, 0, 0)

    created = {r.params["To"]: r for r in twilio.created()}
    assert len(created) == 3
    for mid in sms_ids:
        msg = load(engine, mid)
        req = created[msg.to_address]
        assert msg.status == "accepted" and msg.provider_id == req.sid
        assert msg.attempts == 1 and msg.sent_at is not None
        assert req.params["StatusCallback"] == f"{PUBLIC}/twilio/status?outbox={mid}"  # names the row
        assert req.params["Body"] == msg.body
    [mail] = smtp_server.messages
    email = load(engine, email_id)
    assert email.status == "sent" and mail.message["Message-ID"].strip("<>") == email.provider_id
    assert mail.message["Subject"] == "Oakfield Primary: absence"

    again = send(engine, settings)
    assert again.sent == 0 and len(twilio.created()) == 3 and len(smtp_server.messages) == 1


def test_local_transports_log_ids_only(engine, caplog):
    settings = make_settings(engine)
    with session_scope(engine) as s:
        school = factories.school(s)
        mid, _ = family_message(s, school, n=42)
    caplog.set_level(logging.INFO)
    summary = send_outbox(engine, now=T0, settings=settings)
    assert summary["sent"] == 1
    msg = load(engine, mid)
    assert msg.status == "delivered" and msg.provider_id.startswith("LOCAL-")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert f"message={mid}" in logged and f"contact={msg.contact_id}" in logged
    assert msg.to_address not in logged and "Child42" not in logged


def test_provider_failures_back_off_then_send(engine, twilio):
    settings = make_settings(engine, twilio)
    transports = transports_for(settings)
    twilio.fail_next(2, status=500, code=20500)
    with session_scope(engine) as s:
        mid, _ = family_message(s, factories.school(s), n=1)

    first = send(engine, settings, transports=transports)
    msg = load(engine, mid)
    assert first.retried == 1 and msg.status == "queued" and msg.attempts == 1
    assert msg.next_attempt_at == T0 + timedelta(seconds=30)
    assert msg.error_code == "20500"

    # not yet due: nothing goes
    assert send(engine, settings, transports=transports, now=T0 + timedelta(seconds=10)).retried == 0
    assert len(twilio.requests) == 1

    assert send(engine, settings, transports=transports, now=T0 + timedelta(seconds=35)).retried == 1
    msg = load(engine, mid)
    assert msg.attempts == 2 and msg.next_attempt_at == T0 + timedelta(seconds=35 + 60)
    assert msg.outage_tries == 2  # the provider's failures, not the family's

    assert send(engine, settings, transports=transports, now=T0 + timedelta(seconds=96)).sent == 1
    msg = load(engine, mid)
    assert msg.status == "accepted" and msg.attempts == 3 and msg.error is None
    assert len(twilio.requests) == 3 and len(twilio.created()) == 1


def test_provider_failures_never_use_up_the_familys_attempts(engine, twilio, hook_calls):
    """Issue 13: a 503 (or 401, 20429) is the provider's, however often: no "failed", no reroute."""
    settings = make_settings(engine, twilio, outbox_max_attempts=2)
    transports = transports_for(settings)
    twilio.fail_next(3, status=503, code=20503)
    twilio.fail_next(1, status=401, code=20003)
    twilio.fail_next(1, status=429, code=20429)
    with session_scope(engine) as s:
        mid, _ = family_message(s, factories.school(s), n=1)
    at = T0
    for _ in range(5):
        summary = send_outbox(engine, now=at, settings=settings, transports=transports)
        assert summary["retried"] == 1 and summary["failed"] == 0
        at += timedelta(minutes=5)
    assert send_outbox(engine, now=at, settings=settings, transports=transports)["sent"] == 1
    msg = load(engine, mid)
    assert msg.status == "accepted" and msg.attempts == 6 and msg.outage_tries == 5 and not msg.rerouted
    assert hook_calls == []


def test_a_recipients_own_transient_failure_counts_until_max_attempts(engine, smtp_server, hook_calls):
    """A full mailbox (452 for this recipient) is the family's: it fails after OUTBOX_MAX_ATTEMPTS."""
    settings = make_settings(engine, smtp=smtp_server, outbox_max_attempts=2)
    with session_scope(engine) as s:
        mid, _ = family_message(s, factories.school(s), n=1, channel="email")
    smtp_server.reject("parent1@example.org", 452, "4.2.2 mailbox full")
    assert send_outbox(engine, now=T0, settings=settings)["retried"] == 1
    t1 = T0 + timedelta(minutes=1)
    assert send_outbox(engine, now=t1, settings=settings)["failed"] == 1
    msg = load(engine, mid)
    assert msg.status == "failed" and msg.attempts == 2 and msg.outage_tries == 0 and msg.rerouted
    assert hook_calls == [mid]


def test_permanent_failure_fails_at_once_and_calls_the_hook_once(engine, twilio, hook_calls):
    settings = make_settings(engine, twilio)
    with session_scope(engine) as s:
        school = factories.school(s)
        bad, _ = family_message(s, school, n=1)
        good, _ = family_message(s, school, n=2)
    twilio.fail_number(load(engine, bad).to_address, 21610)

    summary = send_outbox(engine, now=T0, settings=settings)
    assert summary["failed"] == 1 and summary["rerouted"] == 1  # (sent counts the fallback email too)
    msg = load(engine, bad)
    assert msg.status == "failed" and msg.error_code == "21610" and msg.attempts == 1 and msg.rerouted
    assert load(engine, good).status == "accepted"
    assert hook_calls == [bad]

    send_outbox(engine, now=T0 + timedelta(minutes=1), settings=settings)
    assert hook_calls == [bad]


def test_the_sender_only_records_a_failure_the_first_day_step_moves_the_family_on(engine, twilio, hook_calls):
    """One-way outbox: sending records "failed" and queues nothing; rerouting is a later step."""
    settings = make_settings(engine, twilio)
    with session_scope(engine) as s:
        bad, _ = family_message(s, factories.school(s), n=1)
    twilio.fail_number(load(engine, bad).to_address, 21610)

    assert send(engine, settings).failed == 1
    msg = load(engine, bad)
    assert msg.status == "failed" and not msg.rerouted and hook_calls == []
    with Session(engine) as s:
        assert len(s.exec(select(OutboxMessage)).all()) == 1  # nothing new queued by the sender

    summary = send_outbox(engine, now=T0 + timedelta(seconds=5), settings=settings)
    assert summary["rerouted"] == 1 and hook_calls == [bad]
    with Session(engine) as s:
        fallback = s.exec(select(OutboxMessage).where(OutboxMessage.id != bad)).one()
    assert fallback.channel == "email" and fallback.contact_id == msg.contact_id


def test_staff_email_failure_does_not_reroute(engine, smtp_server, hook_calls):
    settings = make_settings(engine, smtp=smtp_server)
    smtp_server.reject("dsl@oakfield.example")
    with session_scope(engine) as s:
        school = factories.school(s)
        message, _ = enqueue(
            s,
            school_id=school.id,
            key="staff:1",
            kind="staff_email",
            channel="email",
            to_address="dsl@oakfield.example",
            body="An alert",
            subject="Alert",
            now=T0,
        )
        mid = message.id
    assert send_outbox(engine, now=T0, settings=settings)["failed"] == 1
    assert load(engine, mid).error_code == "550"
    assert hook_calls == []


def test_cancelled_when_every_case_is_explained_or_closed(engine, twilio):
    settings = make_settings(engine, twilio)
    with session_scope(engine) as s:
        school = factories.school(s)
        explained_id, explained_cases = family_message(s, school, n=1)
        partly_id, partly_cases = family_message(s, school, n=2, extra_cases=1)
        closed_id, closed_cases = family_message(s, school, n=3)
        no_case_id, _ = family_message(s, school, n=4, with_case=False)
        explain(s, case=explained_cases[0], by="reply", code="I", now=T0)
        explain(s, case=partly_cases[0], by="reply", code="I", now=T0)  # the sibling's case is still open
        close(s, case=closed_cases[0], reason="present", now=T0)

    summary = send(engine, settings)
    assert (summary.sent, summary.cancelled) == (2, 2)
    assert load(engine, explained_id).status == "cancelled"
    assert load(engine, closed_id).status == "cancelled"
    assert load(engine, partly_id).status == "accepted"
    assert load(engine, no_case_id).status == "accepted"
    sent_to = {r.params["To"] for r in twilio.created()}
    assert sent_to == {load(engine, partly_id).to_address, load(engine, no_case_id).to_address}


def test_cancelled_when_contact_opted_out(engine, twilio, hook_calls):
    settings = make_settings(engine, twilio)
    with session_scope(engine) as s:
        school = factories.school(s)
        sms_id, _ = family_message(s, school, n=1)
        email_id, _ = family_message(s, school, n=2, channel="email")
        for mid in (sms_id, email_id):
            contact = s.get(Contact, s.get(OutboxMessage, mid).contact_id)
            contact.sms_opt_out = True  # opted out of texts only
    transports = Transports(sms=transports_for(settings).sms, email=LocalEmail())
    summary = send_outbox(engine, now=T0, settings=settings, transports=transports)
    assert summary["cancelled"] == 1  # (sent also counts any fallback the routing hook queued)
    msg = load(engine, sms_id)
    assert msg.status == "cancelled" and "opted out" in msg.error and msg.rerouted
    assert load(engine, email_id).status == "delivered"
    assert twilio.requests == []
    assert hook_calls == [sms_id]


def test_crashed_sender_rows_are_requeued_after_a_while(engine, twilio):
    settings = make_settings(engine, twilio)
    transports = transports_for(settings)
    with session_scope(engine) as s:
        mid, _ = family_message(s, factories.school(s), n=1)
    claimed, _, _ = claim(engine, now=T0, limit=10, before_send=None)  # a sender claims, then dies
    assert [c.id for c in claimed] == [mid] and load(engine, mid).status == "sending"

    # maybe still sending: leave it alone
    summary = send(engine, settings, transports=transports, now=T0 + timedelta(minutes=2))
    assert summary.recovered == 0 and summary.sent == 0 and twilio.requests == []

    summary = send(engine, settings, transports=transports, now=T0 + timedelta(minutes=6))
    assert summary.recovered == 1 and summary.sent == 1
    msg = load(engine, mid)
    assert msg.status == "accepted" and msg.attempts == 2 and msg.resends == 1
    assert len(twilio.created()) == 1
    # It may have reached Twilio before the crash: Twilio was asked first (it had nothing).
    assert [r.method for r in twilio.requests] == ["GET", "POST"]


def test_two_senders_never_send_the_same_message(engine, twilio):
    settings = make_settings(engine, twilio)
    total = 120
    with session_scope(engine) as s:
        school = factories.school(s)
        for i in range(total):
            family_message(s, school, n=i)
    twilio.delay = 0.003
    barrier = threading.Barrier(2)
    summaries, errors = [], []

    def run():
        try:
            barrier.wait()
            summaries.append(send(engine, settings, workers=4, batch_size=10))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    tos = [r.params["To"] for r in twilio.created()]
    assert len(tos) == total and len(set(tos)) == total
    assert sum(x.sent for x in summaries) == total
    assert all(x.sent > 0 for x in summaries), "both senders should have taken part"
    with Session(engine) as s:
        statuses = {m.status for m in s.exec(select(OutboxMessage)).all()}
    assert statuses == {"accepted"}


def test_local_sms_and_email_transports_with_limit(engine):
    settings = make_settings(engine)
    with session_scope(engine) as s:
        school = factories.school(s)
        for i in range(5):
            family_message(s, school, n=i)
    summary = send(engine, settings, transports=Transports(LocalSms(), LocalEmail()), limit=3)
    assert summary.sent == 3
    assert send(engine, settings, transports=Transports(LocalSms(), LocalEmail())).sent == 2


def test_cli_lists_masked_and_sends(engine, settings_env):
    from click.testing import CliRunner

    from bot.cli import main
    from bot.cli.outbox import mask_address

    with session_scope(engine) as s:
        school = factories.school(s, urn="123456")
        mid, _ = family_message(s, school, n=7)
        other = factories.school(s, urn="654321", name="Elm Academy")
        family_message(s, other, n=8, channel="email")
    runner = CliRunner()
    listed = runner.invoke(main, ["outbox", "--school", "123456"])
    assert listed.exit_code == 0, listed.output
    assert "+44*******007" in listed.output and "+447700900007" not in listed.output
    assert "Child7" not in listed.output and "parent8" not in listed.output  # other school filtered out

    shown = runner.invoke(main, ["outbox", "--show-body", "--status", "queued"])
    assert "+447700900007" in shown.output and "Child7 is not in school today." in shown.output
    assert "parent8@example.org" in shown.output

    sent = runner.invoke(main, ["outbox", "send", "--now", T0.isoformat()])
    assert sent.exit_code == 0 and "sent 2" in sent.output
    assert load(engine, mid).status == "delivered"
    assert "no messages" in runner.invoke(main, ["outbox", "--status", "queued"]).output
    assert mask_address("sara@example.org") == "s***@example.org"


def test_register_changes_after_close_stop_the_message(engine, twilio):
    """The MIS replaced the N (a trip code) or the pupil turned up: the case ends, the text does not go."""
    from storage.models import Mark

    settings = make_settings(engine, twilio)
    with session_scope(engine) as s:
        school = factories.school(s)
        trip_id, trip_cases = family_message(s, school, n=1)
        late_id, late_cases = family_message(s, school, n=2)
        still_id, _ = family_message(s, school, n=3)
        mark = s.exec(select(Mark).where(Mark.pupil_id == trip_cases[0].pupil_id)).one()
        mark.code = "V"  # written by an MIS import, not through the bot
        s.add(
            Mark(
                school_id=school.id,
                pupil_id=late_cases[0].pupil_id,
                date=date(2026, 9, 7),  # came in
                session="PM",
                code="/",
                recorded_at=T0,
            )
        )
    summary = send(engine, settings)
    assert (summary.sent, summary.cancelled) == (1, 2)
    assert load(engine, trip_id).status == "cancelled"
    assert load(engine, late_id).status == "cancelled"
    assert load(engine, still_id).status == "accepted"
    with Session(engine) as s:
        # (how the first-day service ends each case is its business; it is no longer open)
        assert s.get(AbsenceCase, trip_cases[0].id).status in ("explained", "closed")
        assert s.get(AbsenceCase, late_cases[0].id).status in ("explained", "closed")
    assert [r.params["To"] for r in twilio.created()] == [load(engine, still_id).to_address]


def test_failures_are_the_familys_the_providers_or_unknown():
    """Only a family-specific refusal counts against the family; "written, no answer" is unknown."""
    from twilio.base.exceptions import TwilioRestException
    from urllib3.exceptions import NewConnectionError, ReadTimeoutError

    from bot.messaging.transports import classify_twilio_error

    def rest(status, code):
        return classify_twilio_error(TwilioRestException(status, "https://api.twilio.com/x", code=code))

    for status, code in (
        (503, 20503),
        (500, 20500),
        (401, 20003),
        (429, 20429),
        (400, 30001),
        (400, 30002),
        (400, 30008),
        (400, 30022),
        (404, None),  # not Twilio talking about a number: a proxy, a wrong base URL
        (404, 20404),  # an account-level error
    ):
        error = rest(status, code)
        assert error.provider_wide and not error.permanent and not error.unknown, (status, code)
    for code in (21211, 21610, 21614, 30003, 30004, 30005, 30006):
        error = rest(400, code)
        assert error.permanent and not error.provider_wide, code
    refused = classify_twilio_error(NewConnectionError(None, "refused"))
    assert refused.provider_wide and not refused.unknown
    silent = classify_twilio_error(ReadTimeoutError(None, "/Messages.json", "read timed out"))
    assert silent.unknown and silent.provider_wide and not silent.permanent
