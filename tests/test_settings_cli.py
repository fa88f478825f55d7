"""Settings are validated at start with messages naming the setting; the CLI and /healthz answer."""

import pytest
import requests
from click.testing import CliRunner

from bot.cli import main
from bot.settings import SettingsError, get_settings, load_settings
from scheduler import lease
from tests.peers.http import live_app

STRONG = "ZXVSriBW-e_t5Ar8Lg8IVQ7I90f_bfz_vDEyvsjzsmI"  # secrets.token_urlsafe(32)


def test_bad_settings_name_the_setting():
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings(database_url="mysql://x")
    with pytest.raises(SettingsError, match="TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"):
        load_settings(twilio_account_sid="AC1")
    with pytest.raises(SettingsError, match="TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER"):
        load_settings(twilio_account_sid="AC1", twilio_auth_token="t")
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(environment="production")
    assert load_settings(database_url="postgres://u@h/db").database_url == "postgresql+psycopg://u@h/db"


def test_defaults_need_no_accounts():
    s = load_settings()
    assert s.database_url == "sqlite:///attendance.db"
    assert s.sms_is_local and s.email_is_local and s.sandbox_on
    assert not load_settings(environment="production", secret_key=STRONG).sandbox_on


def test_cli_reports_a_bad_setting_without_a_traceback(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://nope")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["db", "current"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "DATABASE_URL" in result.output and "Traceback" not in result.output


def test_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in (
        "db",
        "import",
        "demo-data",
        "jobs",
        "outbox",
        "reason",
        "serve",
        "clock",
        "run-local",
        "report",
        "letters",
        "demo",
        "slack",
        "policy",
        "alerts",
    ):
        assert f"  {command} " in result.output, command


def test_db_upgrade_creates_the_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert result.exit_code == 0 and f"revision {head}" in result.output


def test_healthz_is_503_until_the_clock_beats_and_while_alerts_wait(engine, db_url):
    """/healthz means "the bot is doing its job": the clock beats and alerts reach people."""
    from datetime import timedelta

    from bot import clock
    from bot.alerts.service import raise_alert
    from storage.db import session_scope
    from tests import factories

    settings = load_settings(database_url=db_url)
    with live_app(settings) as app:
        answer = requests.get(app.url("/healthz"), timeout=10)
        assert answer.status_code == 503
        body = answer.json()
        assert body["database"] == "ok" and body["clock"] == "never started"
        assert any("never started" in p for p in body["problems"])
        assert requests.get(app.url("/livez"), timeout=10).status_code == 200

        # The test plays the clock process: it is an edge and reads the real time.
        assert lease.acquire(engine, "test-clock", now=clock.now())
        answer = requests.get(app.url("/healthz"), timeout=10)
        assert answer.status_code == 200, answer.json()
        assert answer.json()["clock"] == "ok" and answer.json()["clock_heartbeat_age_seconds"] < 60

        lease.acquire(engine, "test-clock", now=clock.now() - timedelta(minutes=10))  # it stopped
        answer = requests.get(app.url("/healthz"), timeout=10)
        assert answer.status_code == 503 and answer.json()["clock"] == "stale"
        assert "heartbeat" in " ".join(answer.json()["problems"])

        lease.acquire(engine, "test-clock", now=clock.now())
        with session_scope(engine) as s:
            school = factories.school(s)  # re-alert interval 120 minutes (the default policy)
            fresh, _ = raise_alert(
                s,
                school_id=school.id,
                key="k:fresh",
                kind="t",
                title="Fresh",
                now=clock.now() - timedelta(minutes=5),
            )
            old, _ = raise_alert(
                s,
                school_id=school.id,
                key="k:old",
                kind="t",
                title="Old",
                now=clock.now() - timedelta(minutes=150),
            )
            old_id = old.id
        answer = requests.get(app.url("/healthz"), timeout=10)
        assert answer.status_code == 503 and answer.json()["alerts_waiting"] == 2
        assert "1 alert(s) have waited" in " ".join(answer.json()["problems"])
        with session_scope(engine) as s:
            s.get(type(old), old_id).delivered_at = clock.now()
        assert requests.get(app.url("/healthz"), timeout=10).status_code == 200

        # Twilio failing for ten minutes: the operators see it here (families are never blamed).
        from bot.messaging.health import record

        with session_scope(engine) as s:
            record(s, failing={"twilio": "HTTP 503"}, ok=set(), now=clock.now() - timedelta(minutes=10))
        answer = requests.get(app.url("/healthz"), timeout=10)
        assert answer.status_code == 503 and answer.json()["provider_twilio"] == "failing"
        assert "twilio provider has been failing for 10 min (HTTP 503)" in " ".join(answer.json()["problems"])
        with session_scope(engine) as s:
            record(s, failing={}, ok={"twilio"}, now=clock.now())
        assert requests.get(app.url("/healthz"), timeout=10).status_code == 200


def test_healthz_is_503_when_the_database_does_not_answer():
    settings = load_settings(database_url="postgresql+psycopg://postgres@127.0.0.1:9/nowhere")
    with live_app(settings) as app:
        answer = requests.get(app.url("/healthz"), timeout=30)
        assert answer.status_code == 503 and answer.json()["database"] == "unreachable"
        assert requests.get(app.url("/livez"), timeout=10).status_code == 200


@pytest.mark.parametrize(
    "real, names",
    [
        (
            {
                "twilio_account_sid": "AC" + "1" * 32,
                "twilio_auth_token": "t" * 32,
                "twilio_from_number": "+447700900999",
            },
            "TWILIO_ACCOUNT_SID",
        ),
        ({"smtp_host": "smtp.example.org"}, "SMTP_HOST"),
        ({"slack_bot_token": "xoxb-1", "slack_signing_secret": "s" * 32}, "SLACK_BOT_TOKEN"),
        ({"teams_outgoing_webhook_secret": "c2VjcmV0"}, "TEAMS_OUTGOING_WEBHOOK_SECRET"),
    ],
)
def test_a_real_transport_with_the_dev_secret_does_not_start(real, names):
    with pytest.raises(SettingsError, match=f"SECRET_KEY is the development default.*{names} is set"):
        load_settings(**real)
    assert load_settings(**real, secret_key=STRONG).real_transports() == [names]


@pytest.mark.parametrize(
    "secret, why",
    [
        ("x" * 16, "has 16 characters"),
        ("sixteen-chars-ok", "has 16 characters"),
        ("p" * 40, "is too repetitive"),
        ("abcd" * 10, "is too repetitive"),
        ("dev-only-secret-change-me-but-longer-now", "is the development default"),
    ],
)
def test_production_refuses_a_weak_secret_naming_the_setting(secret, why):
    with pytest.raises(SettingsError, match=f"SECRET_KEY {why}.*ENVIRONMENT=production.*token_urlsafe"):
        load_settings(environment="production", secret_key=secret)


def test_stand_ins_on_this_machine_are_not_real_transports():
    """Tests and a local mail relay point transports at loopback: the dev secret is fine there."""
    s = load_settings(
        smtp_host="127.0.0.1",
        twilio_account_sid="AC1",
        twilio_auth_token="t",
        twilio_from_number="+447700900999",
        twilio_api_base_url="http://127.0.0.1:9/",
    )
    assert s.real_transports() == [] and s.secret_key.startswith("dev-only")
    import secrets

    assert load_settings(environment="production", secret_key=secrets.token_hex(16)).secret_key


def test_the_cli_refuses_to_start_with_real_smtp_and_the_dev_secret(monkeypatch):
    monkeypatch.setenv("SMTP_HOST", "smtp.example.org")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["db", "current"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "SECRET_KEY is the development default" in result.output and "SMTP_HOST" in result.output
