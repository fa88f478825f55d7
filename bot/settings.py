"""Settings from the environment and an optional ``.env`` file, validated once at start.

Nothing here needs an account: with no Twilio, SMTP or Slack credentials the bot uses its local
transports (messages land in the outbox table and a readable log).
"""

from datetime import datetime
from functools import lru_cache

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///attendance.db"
    public_base_url: str = "http://127.0.0.1:8000"
    secret_key: str = Field(default="dev-only-secret-change-me", min_length=16)
    environment: str = "development"  # development | production
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = 8000

    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_from_number: str | None = None
    twilio_api_base_url: str | None = None
    sms_validity_seconds: int = 4 * 3600
    # Automated calls: the caller id (a voice-capable Twilio number; defaults to TWILIO_FROM_NUMBER)
    # and how long a call rings before it counts as not answered.
    twilio_voice_from_number: str | None = None
    call_ring_seconds: int = Field(default=25, ge=5, le=60)

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "attendance@school.example"
    smtp_starttls: bool = True

    # The school's mailbox, read for families' email replies and bounces (bot.mail). Outgoing family
    # emails then carry a per-message Reply-To on it: attendance+<token>@school (plus-addressing).
    imap_host: str | None = None
    imap_port: int = 993
    imap_username: str | None = None
    imap_password: str | None = None
    imap_ssl: bool = True  # implicit TLS (993); false only for a server on this machine (tests)
    imap_mailbox: str = "INBOX"
    imap_address: str | None = None  # the mailbox's address; default SMTP_FROM
    imap_poll_seconds: int = Field(default=60, ge=10)

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_base_url: str | None = None

    teams_outgoing_webhook_secret: str | None = None

    # The MIS through Wonde. One token reads every school that approved the bot's Wonde app (a trust
    # approves once per school, each school's Wonde id goes in the schools file); schools approved
    # under another Wonde account get their own token in WONDE_SCHOOL_TOKENS ({"URN": "token"}).
    wonde_api_base_url: str = "https://api.wonde.com/v1.0"
    wonde_api_token: str | None = None
    wonde_school_tokens: dict[str, str] = Field(default_factory=dict)
    mis_timeout_seconds: float = Field(default=20.0, gt=0)
    mis_max_retries: int = Field(default=4, ge=0)
    mis_max_wait_seconds: float = Field(default=30.0, ge=0)  # longest Retry-After waited in place
    mis_page_size: int = Field(default=200, ge=1, le=200)
    mis_poll_interval_seconds: int = Field(default=60, ge=10)
    mis_poll_before_minutes: int = Field(default=5, ge=0)
    mis_poll_after_minutes: int = Field(default=60, ge=0)
    mis_outage_alert_minutes: int = Field(default=45, ge=1)

    sandbox_enabled: bool | None = None
    clock_misfire_grace_seconds: int = 3600
    # The clock process (scheduler.clock): how often it renews its lease, how long the lease lasts
    # (a standby takes over this long after a leader died without a word), how often it catches up
    # missed and failed slots, how long a SIGTERM waits for a running job (below the platform's
    # 30 s before SIGKILL), the first retry of a failed slot (doubling, capped), and when an
    # unfinished register close is reported to the operators.
    clock_heartbeat_seconds: float = Field(default=5, gt=0)
    clock_lease_seconds: float = Field(default=30, gt=0)
    clock_catch_up_seconds: float = Field(default=120, gt=0)
    clock_stop_grace_seconds: float = Field(default=20, ge=0)
    clock_retry_seconds: float = Field(default=60, gt=0)
    clock_retry_max_seconds: float = Field(default=480, gt=0)
    clock_late_alert_minutes: int = Field(default=20, ge=1)
    # Development and tests only (refused in production): the clock process starts as if it were
    # this instant and runs on from there; its slots then run through the catch-up alone.
    clock_start_at: datetime | None = None
    # The deployment's operators: alerts about the bot itself (a register close that did not run)
    # go here, never to a school's channels.
    ops_email: str | None = None
    outbox_max_attempts: int = 6
    reply_link_days: int = 7
    report_link_days: int = Field(default=400, ge=30)  # families' standing "report an absence" links
    reports_dir: str = "reports"  # where weekly reports (HTML + PNG) and letters are written

    @field_validator("database_url")
    @classmethod
    def _db_url(cls, v: str) -> str:
        # Platforms hand out postgres:// URLs; SQLAlchemy needs the driver named.
        if v.startswith(("postgresql://", "postgres://")):
            v = "postgresql+psycopg://" + v.split("://", 1)[1]
        if not v.startswith(("sqlite://", "postgresql+psycopg://")):
            raise ValueError("must start with sqlite:/// or postgresql+psycopg://")
        return v

    @field_validator("wonde_api_base_url")
    @classmethod
    def _wonde_url(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")):
            raise ValueError("must be an http(s):// address, e.g. https://api.wonde.com/v1.0")
        return v.rstrip("/")

    @field_validator("clock_start_at")
    @classmethod
    def _start_at(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("needs an offset, e.g. 2026-11-23T09:16:00+00:00")
        return v

    @field_validator("environment")
    @classmethod
    def _env(cls, v: str) -> str:
        if v not in {"development", "production", "test"}:
            raise ValueError("must be development, production or test")
        return v

    @model_validator(mode="after")
    def _pairs(self) -> "Settings":
        if self.twilio_account_sid or self.twilio_auth_token:
            if not (self.twilio_account_sid and self.twilio_auth_token):
                raise ValueError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN go together")
            if not (self.twilio_messaging_service_sid or self.twilio_from_number):
                raise ValueError("set TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER to send SMS")
        if self.imap_host and not (self.imap_username and self.imap_password):
            raise ValueError("IMAP_HOST needs IMAP_USERNAME and IMAP_PASSWORD")
        if self.imap_host and "@" not in self.reply_mailbox:
            raise ValueError("set IMAP_ADDRESS (or SMTP_FROM) to the mailbox's email address")
        if self.slack_bot_token and not self.slack_signing_secret and not self.slack_app_token:
            raise ValueError("SLACK_BOT_TOKEN needs SLACK_SIGNING_SECRET (HTTP) or SLACK_APP_TOKEN")
        if self.environment == "production" and self.secret_key.startswith("dev-only"):
            raise ValueError("SECRET_KEY must be set in production")
        if self.environment == "production" and self.clock_start_at is not None:
            raise ValueError("CLOCK_START_AT is for development and tests only")
        if self.clock_lease_seconds < 2 * self.clock_heartbeat_seconds:
            raise ValueError("CLOCK_LEASE_SECONDS must be at least twice CLOCK_HEARTBEAT_SECONDS")
        return self

    def wonde_token_for(self, urn: str) -> str | None:
        """The Wonde token that reads this school: its own if it has one, else the deployment's."""
        return self.wonde_school_tokens.get(urn) or self.wonde_api_token

    @property
    def sms_is_local(self) -> bool:
        return not self.twilio_account_sid

    @property
    def email_is_local(self) -> bool:
        return not self.smtp_host

    @property
    def voice_from_number(self) -> str | None:
        return self.twilio_voice_from_number or self.twilio_from_number

    @property
    def imap_enabled(self) -> bool:
        """Replies by email are read (and so outgoing family emails carry a reply address)."""
        return bool(self.imap_host)

    @property
    def reply_mailbox(self) -> str:
        """The address families' email replies go to (plus a per-message token)."""
        return (self.imap_address or self.smtp_from or "").strip()

    @property
    def sandbox_on(self) -> bool:
        """The sandbox page exists only with local transports or when explicitly enabled."""
        if self.sandbox_enabled is not None:
            return self.sandbox_enabled and self.environment != "production"
        return self.sms_is_local and self.environment != "production"

    @property
    def inbound_sms_token(self) -> str:
        """The token inbound Twilio requests are signed with (a local one when no account is set)."""
        return self.twilio_auth_token or ("local-" + self.secret_key)


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except PydanticSettingsError as exc:  # a value that is not even JSON (WONDE_SCHOOL_TOKENS)
        example = '{"100001": "token"}'
        raise SettingsError(f"Bad settings: {exc} (it must be JSON, e.g. {example})") from None
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "_".join(str(p) for p in err["loc"]).upper() or "SETTINGS"
            problems.append(f"{name}: {err['msg']}")
        raise SettingsError("Bad settings: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
