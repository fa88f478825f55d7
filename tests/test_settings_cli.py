"""Settings are validated at start with messages naming the setting; the CLI and /healthz answer."""

import pytest
import requests
from click.testing import CliRunner

from bot.cli import main
from bot.settings import SettingsError, get_settings, load_settings
from scheduler import lease
from tests.peers.http import live_app


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
    assert not load_settings(environment="production", secret_key="x" * 32).sandbox_on


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
    for command in ("db", "import", "demo-data", "jobs", "outbox", "reason", "serve", "clock",
                    "run-local", "report", "letters", "demo", "slack"):
        assert f"  {command} " in result.output, command


def test_db_upgrade_creates_the_schema(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0 and "revision 0001" in result.output


def test_healthz_reports_database_and_clock_heartbeat(engine, db_url):
    settings = load_settings(database_url=db_url)
    with live_app(settings) as app:
        body = requests.get(app.url("/healthz"), timeout=10).json()
        assert body["database"] == "ok" and body["clock"] == "never started"
        assert lease.acquire(engine, "test-clock")
        body = requests.get(app.url("/healthz"), timeout=10).json()
        assert body["clock"] == "ok" and body["clock_heartbeat_age_seconds"] < 60
