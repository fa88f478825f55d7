"""Slack's Web API: one configured client, and the three calls alert delivery needs.

``SLACK_API_BASE_URL`` points the client at another host speaking the same API (a proxy, or the
test server). Rate limits (HTTP 429 with ``Retry-After``) are retried by slack_sdk's handler.
"""

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.settings import Settings

DEFAULT_BASE_URL = "https://slack.com/api/"


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup (parents' text is shown as typed)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def api_base_url(settings: Settings) -> str:
    url = settings.slack_api_base_url or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def is_configured(settings: Settings) -> bool:
    return bool(settings.slack_bot_token)


def web_client(settings: Settings, *, timeout: int = 10) -> WebClient:
    return WebClient(
        token=settings.slack_bot_token,
        base_url=api_base_url(settings),
        timeout=timeout,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )


def post_message(client: WebClient, *, channel: str, text: str, blocks: list[dict]) -> tuple[str, str]:
    """Post to a channel (or DM channel); returns (channel id, ts) for later updates."""
    resp = client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False)
    return resp["channel"], resp["ts"]


def update_message(client: WebClient, *, channel: str, ts: str, text: str, blocks: list[dict]) -> None:
    client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)


def open_dm(client: WebClient, *, user_id: str) -> str:
    resp = client.conversations_open(users=user_id)
    return resp["channel"]["id"]
