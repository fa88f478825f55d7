"""A loopback stand-in for Slack's Web API and for ``response_url``, recording what the bot sends.

``POST /api/<method>`` answers like Slack (``{"ok": true, ...}``) for chat.postMessage, chat.update,
chat.postEphemeral, conversations.open and auth.test, reading form or JSON bodies and checking the
bearer token. ``POST /response/<id>`` stands in for a slash command's ``response_url``. Point the
bot at it with ``SLACK_API_BASE_URL=peer.base_url``.
"""

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode

import requests
from slack_sdk.signature import SignatureVerifier

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-test-token"
_ids = itertools.count(1)


@dataclass
class Call:
    method: str  # "chat.postMessage" ... or "response"
    path: str
    body: dict
    token: str | None
    at: float = field(default_factory=time.monotonic)


class SlackAPIPeer:
    def __init__(self, token: str = "xoxb-test-token", *, team_id: str = "T0TEST", bot_user: str = "UBOT"):
        self.token, self.team_id, self.bot_user = token, team_id, bot_user
        self.calls: list[Call] = []
        self._cond = threading.Condition()
        self._ts = itertools.count(1)
        self._fail: dict[str, str] = {}
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's name
                peer._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> "SlackAPIPeer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.url}/response/{key}"

    def fail(self, method: str, error: str = "channel_not_found") -> None:
        """Make every later call to ``method`` answer ``{"ok": false, "error": error}``."""
        self._fail[method] = error

    def recover(self) -> None:
        """Answer every method normally again."""
        self._fail.clear()

    # -- queries ----------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, n: int = 1, timeout: float = 10.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len([c for c in self.calls if c.method == method]) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {n} call(s) to {method}; got {[c.method for c in self.calls]}"
                    )
                self._cond.wait(left)
            return [c for c in self.calls if c.method == method]

    # -- serving ----------------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length).decode("utf-8") if length else ""
        if "json" in (h.headers.get("Content-Type") or ""):
            body = json.loads(raw or "{}")
        else:
            body = {k: v[0] for k, v in parse_qs(raw).items()}
        auth = h.headers.get("Authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else body.get("token")
        if h.path.startswith("/response/"):
            self._record(Call("response", h.path, body, token))
            return self._send(h, 200, "ok", "text/plain")
        method = h.path.removeprefix("/api/").split("?")[0]
        self._record(Call(method, h.path, body, token))
        if token != self.token:
            return self._send(h, 200, {"ok": False, "error": "invalid_auth"})
        if method in self._fail:
            return self._send(h, 200, {"ok": False, "error": self._fail[method]})
        return self._send(h, 200, self._answer(method, body))

    def _answer(self, method: str, body: dict) -> dict:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://test.slack.com/",
                "team": "Test",
                "user": "attendance",
                "team_id": self.team_id,
                "user_id": self.bot_user,
                "bot_id": "BBOT",
            }
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(body.get("users", "X")).split(",")[0]}}
        if method in {"chat.postMessage", "chat.update"}:
            ts = body.get("ts") or f"1700000000.{next(self._ts):06d}"
            return {
                "ok": True,
                "channel": body.get("channel"),
                "ts": ts,
                "message": {"text": body.get("text")},
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}
        return {"ok": True}

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body, ctype: str = "application/json") -> None:
        data = (json.dumps(body) if ctype == "application/json" else body).encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)


# --------------------------------------------------------------------------------------------------
# Signed requests against the live app (Bolt checks the signatures as Slack's would)
# --------------------------------------------------------------------------------------------------


def signed_headers(
    body: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature, "Content-Type": content_type}


@dataclass
class SlackClient:
    base_url: str
    peer: SlackAPIPeer
    team_id: str = "T0SCHOOL"

    def post(self, body: str, **sign) -> requests.Response:
        content_type = sign.pop("content_type", "application/x-www-form-urlencoded")
        headers = signed_headers(body, content_type=content_type, **sign)
        return requests.post(f"{self.base_url}/slack/events", data=body.encode(), headers=headers, timeout=10)

    def command_body(self, command: str, text: str, *, user: str, key: str | None = None) -> tuple[str, str]:
        key = key or f"r{next(_ids)}"
        body = urlencode(
            {
                "token": "legacy",
                "team_id": self.team_id,
                "team_domain": "school",
                "channel_id": "C0ATT",
                "channel_name": "attendance",
                "user_id": user,
                "user_name": "someone",
                "command": command,
                "text": text,
                "api_app_id": "A0APP",
                "response_url": self.peer.response_url(key),
                "trigger_id": f"1.2.{key}",
            }
        )
        return body, key

    def command(self, command: str, text: str = "", *, user: str, **sign) -> tuple[requests.Response, str]:
        body, key = self.command_body(command, text, user=user)
        return self.post(body, **sign), key

    def action(
        self,
        action_id: str,
        value: str,
        *,
        user: str,
        channel: str = "C0ATT",
        message_ts: str = "1700000000.000001",
    ) -> tuple[requests.Response, str]:
        key = f"a{next(_ids)}"
        payload = {
            "type": "block_actions",
            "user": {"id": user, "team_id": self.team_id},
            "api_app_id": "A0APP",
            "token": "legacy",
            "team": {"id": self.team_id, "domain": "school"},
            "trigger_id": f"9.9.{key}",
            "container": {"type": "message", "channel_id": channel, "message_ts": message_ts},
            "channel": {"id": channel},
            "response_url": self.peer.response_url(key),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "action_ts": "1700000001.000000",
                    "text": {"type": "plain_text", "text": "x"},
                }
            ],
        }
        return self.post(urlencode({"payload": json.dumps(payload)})), key

    def event(self, event: dict, *, event_id: str, retry: int | None = None) -> requests.Response:
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": self.team_id,
                "api_app_id": "A0APP",
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
                "event": event,
            }
        )
        return self.post(body, content_type="application/json")

    def responses(self, key: str, n: int = 1, timeout: float = 10.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [c.body for c in self.peer.calls_to("response") if c.path.endswith("/" + key)]
            if len(found) >= n:
                return found
            time.sleep(0.02)
        raise AssertionError(f"no response_url post for {key}: {[c.path for c in self.peer.calls]}")


def slack_settings(db_url: str, peer: SlackAPIPeer, **extra):
    from bot.settings import load_settings

    return load_settings(
        database_url=db_url,
        environment="test",
        slack_bot_token=peer.token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_base_url=peer.base_url,
        **extra,
    )


@contextmanager
def live_slack(db_url: str, **extra) -> Iterator[SlackClient]:
    from tests.peers.http import live_app

    with SlackAPIPeer(BOT_TOKEN) as peer, live_app(slack_settings(db_url, peer, **extra)) as running:
        yield SlackClient(running.base_url, peer)
