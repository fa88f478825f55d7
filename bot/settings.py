"""Settings from the environment and an optional ``.env`` file, validated once at start.

Nothing here needs an account: with no Twilio, SMTP or Slack credentials the bot uses its local
transports (messages land in the outbox table and a readable log).
"""

import base64
import math
from collections import Counter
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError


class SettingsError(RuntimeError):
    """A setting is missing or wrong; the message names it."""


DEV_SECRET = "dev-only-secret-change-me"
STRONG_SECRET_CHARS = 32
STRONG_SECRET_BITS = 96  # from the characters' spread: secrets.token_hex(16) passes, "p" * 40 does not
MAKE_A_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def weak_secret(secret: str) -> str | None:
    """Why ``secret`` is too weak to sign families' links and webhooks, or None when it is strong.

    The entropy is estimated from the secret's own character frequencies (bits per character times
    its length): ``secrets.token_urlsafe(48)`` gives ~330 bits, ``token_hex(16)`` at least ~100,
    ``"p" * 40`` none. A heuristic: it catches defaults, short and repeated keys, not every pattern.
    """
    if secret == DEV_SECRET or secret.startswith("dev-only"):
        return "is the development default"
    if len(secret) < STRONG_SECRET_CHARS:
        return f"has {len(secret)} characters; at least {STRONG_SECRET_CHARS} are needed"
    counts = Counter(secret).values()
    bits = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts) * len(secret)
    if bits < STRONG_SECRET_BITS:
        return "is too repetitive to be random"
    return None


def _remote(host_or_url: str | None) -> bool:
    """A real provider, as opposed to nothing or a stand-in on this machine (tests, a local relay)."""
    if not host_or_url:
        return True
    host = urlsplit(host_or_url).hostname if "://" in host_or_url else host_or_url
    return (host or "") not in _LOOPBACK and not (host or "").startswith("127.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = "sqlite:///attendance.db"
    public_base_url: str = "http://127.0.0.1:8000"
    secret_key: str = Field(default=DEV_SECRET, min_length=16)
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

    # Microsoft gives each outgoing webhook its own security token, scoped to one team. A trust adds
    # one webhook per school's team and lists the tokens by URN in TEAMS_SCHOOL_SECRETS
    # ({"URN": "base64 token"}); the token that verifies a request names the school it speaks for.
    # TEAMS_OUTGOING_WEBHOOK_SECRET is the single-school shortcut (any school's staff).
    teams_outgoing_webhook_secret: str | None = None
    teams_school_secrets: dict[str, str] = Field(default_factory=dict)

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
    # Tries a message may fail for reasons of its own (a full mailbox); a provider outage, a timeout
    # or a crash never counts (bot.messaging.sender).
    outbox_max_attempts: int = 6
    # The sender: texts handed to the provider at once (one thread each), how long a request may
    # take, how long a stopping sender finishes what it started, and its name. A sender restarted
    # under the same name takes back at once the messages it left half-sent; the name must be
    # unique among running senders (default: DYNO on Heroku-like platforms, else host and process).
    sender_concurrency: int = Field(default=32, ge=1, le=200)
    twilio_timeout_seconds: float = Field(default=15.0, gt=0)
    sender_grace_seconds: float = Field(default=20.0, ge=0)
    sender_name: str | None = Field(default=None, max_length=64)
    dyno: str | None = None
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

    @field_validator("teams_school_secrets")
    @classmethod
    def _teams_tokens(cls, v: dict[str, str]) -> dict[str, str]:
        # Teams shows the token as base64; a pasted-wrong one is caught at start, not at 8:20.
        for urn, token in v.items():
            try:
                base64.b64decode(token, validate=True)
            except (ValueError, TypeError):
                raise ValueError(
                    f"the token for school {urn} is not base64 (paste it as Teams shows it)"
                ) from None
        return v

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
        self._strong_secret_when_real()
        if self.environment == "production" and self.clock_start_at is not None:
            raise ValueError("CLOCK_START_AT is for development and tests only")
        if self.clock_lease_seconds < 2 * self.clock_heartbeat_seconds:
            raise ValueError("CLOCK_LEASE_SECONDS must be at least twice CLOCK_HEARTBEAT_SECONDS")
        return self

    def real_transports(self) -> list[str]:
        """The settings that connect this deployment to real people (a provider, not a stand-in)."""
        real = []
        if self.twilio_account_sid and _remote(self.twilio_api_base_url):
            real.append("TWILIO_ACCOUNT_SID")
        if self.smtp_host and _remote(self.smtp_host):
            real.append("SMTP_HOST")
        if self.imap_host and _remote(self.imap_host):
            real.append("IMAP_HOST")
        if (self.slack_bot_token or self.slack_app_token) and _remote(self.slack_api_base_url):
            real.append("SLACK_BOT_TOKEN")
        if self.teams_outgoing_webhook_secret:
            real.append("TEAMS_OUTGOING_WEBHOOK_SECRET")
        if self.teams_school_secrets:
            real.append("TEAMS_SCHOOL_SECRETS")
        return real

    def _strong_secret_when_real(self) -> None:
        """Fail closed: the secret signs families' reply links, form tokens and the local inbound
        token, so a deployment that reaches real people (or says it is production) must not start
        with the development default or a guessable key."""
        real = self.real_transports()
        if self.environment != "production" and not real:
            return
        problem = weak_secret(self.secret_key)
        if problem:
            why = (
                "ENVIRONMENT=production" if self.environment == "production" else ", ".join(real) + " is set"
            )
            raise ValueError(
                f"SECRET_KEY {problem}; a strong random secret is required because {why}. "
                f"Make one with: {MAKE_A_SECRET}"
            )

    def teams_secrets(self) -> list[tuple[str | None, str]]:
        """Each Teams webhook token with the school URN it speaks for (None: any school)."""
        pairs: list[tuple[str | None, str]] = sorted(self.teams_school_secrets.items())
        if self.teams_outgoing_webhook_secret:
            pairs.append((None, self.teams_outgoing_webhook_secret))
        return pairs

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
