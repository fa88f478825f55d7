"""First-day response end to end, as an operator runs it: the CLI jobs, the real twilio client
against a loopback Twilio-shaped server, and real SMTP to aiosmtpd."""

import json
from datetime import date

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from bot.cli import main
from bot.settings import get_settings
from storage.models import Alert, OutboxMessage
from tests import factories as f
from tests.peers.fixtures import smtp_server, twilio  # noqa: F401

NOW = "2026-11-23T09:15:00+00:00"
MONDAY = date(2026, 11, 23)


@pytest.fixture
def wired(monkeypatch, db_url, twilio, smtp_server):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", twilio.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", twilio.auth_token)
    monkeypatch.setenv("TWILIO_MESSAGING_SERVICE_SID", "MG" + "0" * 32)
    monkeypatch.setenv("TWILIO_API_BASE_URL", twilio.base_url)
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("SMTP_STARTTLS", "false")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://bot.oakfield.example")
    get_settings.cache_clear()
    yield twilio, smtp_server
    get_settings.cache_clear()


def _run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_register_close_texts_and_emails_families_once(engine, wired):
    sms_api, smtp = wired
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, urn="100001", name="Oakfield Primary")
        zofia = f.pupil(s, school, first="Zofia", last="Nowak")
        jan = f.pupil(s, school, first="Jan", last="Nowak")
        lily = f.pupil(s, school, first="Lily", last="Brown")
        tripper = f.pupil(s, school, first="Tom", last="Green")
        f.contact(s, school, zofia, jan, first="Anna", mobile="+447700900101", language="pl")
        f.contact(s, school, lily, first="Kate", mobile=None, email="kate@example.org")
        f.contact(s, school, tripper, first="Pat", mobile="+447700900103")
        for p in (zofia, jan, lily, tripper):
            f.mark(s, p, MONDAY, "AM", "N")
        s.commit()

    out = _run(
        "jobs", "run", "register-close", "--school", "100001", "--session", "am", "--now", NOW, "--json"
    )
    summary = json.loads(out.strip().splitlines()[-1])["summary"]
    assert summary["cases_opened"] == 4 and summary["messages_queued"] == 3

    # The MIS changes Tom's N to a trip code after close: his message must not go.
    with Session(engine) as s:
        from storage.models import Mark

        mark = s.exec(select(Mark).where(Mark.pupil_id == tripper.id)).one()
        mark.code = "V"
        s.add(mark)
        s.commit()

    _run("jobs", "run", "send-outbox", "--now", NOW)
    _run("jobs", "run", "register-close", "--school", "100001", "--session", "am", "--now", NOW)
    _run("jobs", "run", "send-outbox", "--now", NOW)

    sms = sms_api.created()
    assert len(sms) == 1, [r.params for r in sms]
    params = sms[0].params
    assert params["To"] == "+447700900101" and "Zofia" in params["Body"] and "Jan" in params["Body"]
    assert params["MessagingServiceSid"].startswith("MG")
    assert int(params["ValidityPeriod"]) <= 4 * 3600
    assert params["StatusCallback"].startswith("https://bot.oakfield.example/twilio/status?outbox=")

    [mail] = smtp.messages
    assert mail.envelope_to == ["kate@example.org"] or "kate@example.org" in str(mail.envelope_to)
    text = mail.part("text/plain")
    assert "Lily" in text and "https://bot.oakfield.example/r/" in text and "Brown" not in text

    with Session(engine) as s:
        statuses = {m.to_address: m.status for m in s.exec(select(OutboxMessage)).all()}
    assert statuses["+447700900103"] == "cancelled"


def test_failed_sms_moves_to_next_contact_then_alerts_staff(engine, wired):
    sms_api, _smtp = wired
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, urn="100002")
        noah = f.pupil(s, school, first="Noah")
        f.contact(s, school, noah, first="Mum", mobile="+447700900201", priority=1)
        f.contact(s, school, noah, first="Dad", mobile="+447700900202", priority=2)
        f.mark(s, noah, MONDAY, "AM", "N")
        s.commit()
    sms_api.fail_number("+447700900201", 21614)  # not a mobile
    sms_api.fail_number("+447700900202", 21610)  # opted out at Twilio

    _run("jobs", "run", "register-close", "--school", "100002", "--session", "am", "--now", NOW)
    _run("jobs", "run", "send-outbox", "--now", NOW)
    _run("jobs", "run", "send-outbox", "--now", NOW)

    tried = [r.params["To"] for r in sms_api.requests]
    assert tried == ["+447700900201", "+447700900202"]
    with Session(engine) as s:
        alert = s.exec(select(Alert)).one()
        assert alert.kind == "cannot_reach_family" and "Noah" in alert.title


def test_the_readmes_sequence_with_now_sends_the_texts_on_any_date(engine, wired, tmp_path):
    """README: import the day's marks, register close at 09:00, send at 09:01 (school wall-clock)."""
    sms_api, _smtp = wired
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, urn="100001", name="Oakfield Primary")
        ava = f.pupil(s, school, first="Ava", last="Hill")
        f.contact(s, school, ava, first="Jo", mobile="+447700900301")
        s.commit()
        mis_id = ava.mis_id
    marks = tmp_path / "marks.csv"
    marks.write_text(f"pupil_mis_id,date,session,code\n{mis_id},2026-11-23,AM,N\n", encoding="utf-8")

    _run("import", "marks", str(marks), "--school", "100001")
    closed = _run(
        "jobs", "run", "register-close", "--school", "100001", "--session", "am", "--now", "2026-11-23T09:00"
    )
    assert "messages queued: 1" in closed
    sent = _run("jobs", "run", "send-outbox", "--now", "2026-11-23T09:01")
    assert "sent: 1" in sent
    assert [r.params["To"] for r in sms_api.created()] == ["+447700900301"]
    with Session(engine) as s:
        message = s.exec(select(OutboxMessage)).one()
    # Stamped with the --now given, not the machine's date: 09:00 London is 09:00 UTC in November.
    assert message.created_at.isoformat() == "2026-11-23T09:00:00+00:00"
    assert message.sent_at.isoformat() == "2026-11-23T09:01:00+00:00"
