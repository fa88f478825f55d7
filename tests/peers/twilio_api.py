"""A loopback server speaking Twilio's Messages API, for the real ``twilio`` client to talk to.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (form-encoded, HTTP basic auth with the
account sid and auth token) answers 201 with the JSON Twilio returns, or Twilio's error JSON when
told to fail. Every request is recorded (parsed form params) for assertions.

``GET .../Messages.json`` lists the messages created, newest first, filtered by ``To`` and
``DateSent>`` (a GMT day, as Twilio does) — the look-up the sender makes before resending.

Point the app at it with ``TWILIO_API_BASE_URL`` (``settings.twilio_api_base_url = peer.base_url``).

Faults (``peer.set_mode``): ``"503"`` answers every create 503 (Twilio error 20503); ``"refused"``
closes the listening socket and every open connection, so connecting is refused; ``"slow"``
creates the message and then answers only after ``slow_seconds`` (longer than the client's
timeout: the client gives up, Twilio has the text); ``"ok"`` recovers (same port). ``clock`` gives
the peer a simulated time for ``date_created``/``date_sent`` (tests never use the real date).

``post_status_callback`` sends a status callback signed the way Twilio signs it
(``RequestValidator.compute_signature`` over the public url and the params).
"""

import base64
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

import requests
from twilio.request_validator import RequestValidator

from tests.peers.http import QuietThreadingHTTPServer

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "peer-auth-token-0123456789abcdef"
MESSAGING_SERVICE_SID = "MG" + "fedcba9876543210" * 2
FROM_NUMBER = "+447700900999"
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)


def num_segments(body: str) -> int:
    if all(ch in GSM7 for ch in body):
        single, part = 160, 153
        length = sum(2 if ch in "^{}\\[~]|€" else 1 for ch in body)
    else:
        single, part = 70, 67
        length = len(body)
    return 1 if length <= single else -(-length // part)


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, str]  # first value of each form field
    auth_ok: bool
    response_status: int
    sid: str | None = None


@dataclass
class TwilioApiPeer:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    base_url: str = ""
    requests: list[RecordedRequest] = field(default_factory=list)
    fail_numbers: dict[str, int] = field(default_factory=dict)  # To -> Twilio error code (400)
    delay: float = 0.0
    _fail_next: list[tuple[int, int]] = field(default_factory=list)  # (http status, code)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    calls: "CallsApi" = field(default_factory=lambda: CallsApi())  # the Calls API (section below)
    mode: str = "ok"  # ok | 503 | refused | slow (``set_mode``)
    slow_seconds: float = 1.0
    clock: Callable[[], datetime] | None = None  # the peer's "now"; real time when None
    messages: list[dict] = field(default_factory=list)  # every message created (the list API's data)
    _server: object = None
    _thread: object = None
    _port: int = 0
    _conns: set = field(default_factory=set)
    _holder: object = None  # while "refused": the port, bound but not listening (see ``_hold_port``)

    def set_mode(self, mode: str) -> None:
        """Switch fault: ``ok`` (recover), ``503``, ``refused`` (nothing listens), ``slow``."""
        assert mode in ("ok", "503", "refused", "slow"), mode
        was, self.mode = self.mode, mode
        if mode == "refused" and was != "refused":
            self._stop()
            self._hold_port()
        elif was == "refused" and mode != "refused":
            self._holder.close()
            self._holder = None
            self._start(self._port)

    def now(self) -> datetime:
        return self.clock() if self.clock else datetime.now(UTC)

    def _start(self, port: int = 0) -> None:
        server = QuietThreadingHTTPServer(("127.0.0.1", port), _Handler)
        server.peer = self  # type: ignore[attr-defined]
        self._server, self._port = server, server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self._port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def _hold_port(self) -> None:
        """Keep the port bound but not listening: connecting is refused, and no other test's server
        can take the port meanwhile (a server that did answered 404s, which are not an outage)."""
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", self._port))
        self._holder = holder

    def _stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = None
        with self._lock:
            conns = list(self._conns)
        for conn in conns:  # keep-alive connections would otherwise still be served
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def created_to(self, to: str) -> list[dict]:
        """The messages created for one number (however the client's request ended)."""
        with self._lock:
            return [m for m in self.messages if m["to"] == to]

    def fail_next(self, count: int = 1, *, status: int = 500, code: int = 20500) -> None:
        """The next ``count`` create requests fail with this HTTP status and Twilio code."""
        with self._lock:
            self._fail_next.extend([(status, code)] * count)

    def fail_number(self, to: str, code: int = 21610) -> None:
        """Every message to ``to`` fails with this permanent error (400)."""
        self.fail_numbers[to] = code

    def created(self) -> list[RecordedRequest]:
        """Requests that created a message (201)."""
        with self._lock:
            return [r for r in self.requests if r.response_status == 201]

    def _take_failure(self) -> tuple[int, int] | None:
        with self._lock:
            return self._fail_next.pop(0) if self._fail_next else None

    def _record(self, rec: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(rec)


_ERROR_TEXT = {
    20003: "Authenticate",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    21211: "The 'To' number is not a valid phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API
    # http.server writes headers and body in two sends; with Nagle on, the client's delayed ACK
    # stalls every response ~40 ms. Real servers do not behave like that.
    disable_nagle_algorithm = True
    wbufsize = -1  # buffer the response: headers and body leave in one send, as a real server does

    def log_message(self, *args):  # quiet
        return

    def setup(self):
        super().setup()
        with self.peer._lock:
            self.peer._conns.add(self.connection)

    def finish(self):
        with suppress(OSError):
            super().finish()
        with self.peer._lock:
            self.peer._conns.discard(self.connection)

    @property
    def peer(self) -> TwilioApiPeer:
        return self.server.peer  # type: ignore[attr-defined]

    def _json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Twilio-Request-Id", "RQ" + secrets.token_hex(16))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, code: int) -> None:
        self._json(
            status,
            {
                "code": code,
                "message": _ERROR_TEXT.get(code, "Error"),
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
        )

    def _auth_ok(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.peer.account_sid and password == self.peer.auth_token

    def do_POST(self):  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode()
        params = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        prefix = f"/2010-04-01/Accounts/{self.peer.account_sid}/"
        rec = RecordedRequest("POST", self.path, params, self._auth_ok(), 0)
        if self.peer.delay:
            time.sleep(self.peer.delay)
        if not rec.auth_ok:
            rec.response_status = 401
            self.peer._record(rec)
            return self._error(401, 20003)
        if self.path == prefix + "Calls.json":
            return _create_call(self, params, rec)
        if self.path != prefix + "Messages.json":
            rec.response_status = 404
            self.peer._record(rec)
            return self._json(
                404,
                {
                    "code": 20404,
                    "message": "The requested resource was not found",
                    "more_info": "https://www.twilio.com/docs/errors/20404",
                    "status": 404,
                },
            )
        failure = self.peer._take_failure()
        if failure is None and self.peer.mode == "503":
            failure = (503, 20503)
        if failure is None and params.get("To") in self.peer.fail_numbers:
            failure = (400, self.peer.fail_numbers[params["To"]])
        if failure is not None:
            rec.response_status = failure[0]
            self.peer._record(rec)
            return self._error(*failure)
        sid = "SM" + secrets.token_hex(16)
        service = params.get("MessagingServiceSid")
        created_at = self.peer.now()
        now = format_datetime(created_at.astimezone(UTC), usegmt=True)
        body = params.get("Body", "")
        payload = {
            "account_sid": self.peer.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": None if service else params.get("From"),
            "messaging_service_sid": service,
            "num_media": "0",
            "num_segments": str(num_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": f"{prefix}Messages/{sid}/Media.json"},
            "to": params.get("To"),
            "uri": f"{prefix}Messages/{sid}.json",
        }
        rec.response_status = 201
        rec.sid = sid
        self.peer._record(rec)
        with self.peer._lock:  # the peer hands texts on at once: sent the moment it is created
            self.peer.messages.append(
                {
                    **payload,
                    "date_sent": now,
                    "_created": created_at,
                    "status_callback": params.get("StatusCallback"),
                }
            )
        if self.peer.mode == "slow":
            time.sleep(self.peer.slow_seconds)  # the client has given up by now; the text exists
            with suppress(OSError):
                self._json(201, payload)
            return
        self._json(201, payload)

    def do_GET(self):  # noqa: N802
        url = urlsplit(self.path)
        prefix = f"/2010-04-01/Accounts/{self.peer.account_sid}/"
        rec = RecordedRequest(
            "GET", self.path, {k: v[0] for k, v in parse_qs(url.query).items()}, self._auth_ok(), 0
        )
        if self.peer.delay:
            time.sleep(self.peer.delay)
        if not rec.auth_ok:
            rec.response_status = 401
            self.peer._record(rec)
            return self._error(401, 20003)
        if url.path != prefix + "Messages.json":
            rec.response_status = 405
            self.peer._record(rec)
            return self._error(405, 20004)
        if self.peer.mode == "503":
            rec.response_status = 503
            self.peer._record(rec)
            return self._error(503, 20503)
        rec.response_status = 200
        self.peer._record(rec)
        self._json(200, _message_page(self.peer, url.path, rec.params))


def _message_page(peer: TwilioApiPeer, path: str, params: dict[str, str]) -> dict:
    """One page of Twilio's Messages list: newest first, filtered by To and DateSent> (a GMT day)."""
    since = params.get("DateSent>")
    since_day = date.fromisoformat(since[:10]) if since else None
    with peer._lock:
        found = [
            m
            for m in reversed(peer.messages)
            if (not params.get("To") or m["to"] == params["To"])
            and (since_day is None or m["_created"].astimezone(UTC).date() >= since_day)
        ]
    size = int(params.get("PageSize") or 50)
    items = [
        {k: v for k, v in m.items() if not k.startswith("_") and k != "status_callback"} for m in found[:size]
    ]
    return {
        "messages": items,
        "end": max(0, len(items) - 1),
        "first_page_uri": path,
        "next_page_uri": None,
        "page": 0,
        "page_size": size,
        "previous_page_uri": None,
        "start": 0,
        "uri": path,
    }


@contextmanager
def twilio_api(**kw) -> Iterator[TwilioApiPeer]:
    """Run a Twilio Messages API peer; yields it with ``base_url`` set."""
    peer = TwilioApiPeer(**kw)
    peer._start()
    try:
        yield peer
    finally:
        peer.mode = "ok"
        peer._stop()
        if peer._holder is not None:
            peer._holder.close()


def status_params(
    *,
    message_sid: str,
    status: str,
    error_code: int | str | None = None,
    to: str = "+447700900001",
    account_sid: str = ACCOUNT_SID,
    messaging_service_sid: str | None = MESSAGING_SERVICE_SID,
) -> dict[str, str]:
    """The form fields Twilio posts to a StatusCallback."""
    params = {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "MessageStatus": status,
        "SmsStatus": status,
        "To": to,
        "From": FROM_NUMBER,
    }
    if messaging_service_sid:
        params["MessagingServiceSid"] = messaging_service_sid
    if error_code is not None:
        params["ErrorCode"] = str(error_code)
    return params


def sign(token: str, url: str, params: dict[str, str]) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_status_callback(
    app_base_url: str,
    *,
    public_base_url: str,
    token: str,
    message_sid: str,
    status: str,
    error_code: int | str | None = None,
    path: str = "/twilio/status",
    signature: str | None = None,
    **extra,
) -> requests.Response:
    """POST a status callback to the app, signed over the PUBLIC url as Twilio signs it.

    ``app_base_url`` is where the app really listens (loopback); ``public_base_url`` is the url the
    app is configured to believe Twilio called. Pass ``signature`` to send a forged one.
    """
    params = status_params(message_sid=message_sid, status=status, error_code=error_code, **extra)
    if signature is None:
        signature = sign(token, public_base_url.rstrip("/") + path, params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return requests.post(app_base_url.rstrip("/") + path, data=params, headers=headers, timeout=10)


# --------------------------------------------------------------------------------------------------
# Programmable Voice: the Calls API (automated calls) and Twilio's signed voice webhooks
# --------------------------------------------------------------------------------------------------
#
# ``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` on the same server and account as Messages:
# 201 with the Call resource Twilio returns (status "queued"), or Twilio's error JSON when told to
# fail. Kept apart from the Messages code above so each can change without touching the other.


@dataclass
class CallsApi:
    """The Calls endpoint's state: what was asked for, and the faults to play."""

    created: list[RecordedRequest] = field(default_factory=list)
    fail_numbers: dict[str, int] = field(default_factory=dict)  # To -> Twilio error code (400)
    _fail_next: list[tuple[int, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int = 1, *, status: int = 500, code: int = 20500) -> None:
        with self._lock:
            self._fail_next.extend([(status, code)] * count)

    def _take_failure(self, to: str | None) -> tuple[int, int] | None:
        with self._lock:
            if self._fail_next:
                return self._fail_next.pop(0)
        return (400, self.fail_numbers[to]) if to in self.fail_numbers else None


def _create_call(handler: "_Handler", params: dict[str, str], rec: RecordedRequest) -> None:
    calls = handler.peer.calls
    failure = calls._take_failure(params.get("To"))
    if failure is None and not (params.get("Url") or params.get("Twiml")):
        failure = (400, 21205)  # Url parameter is required
    if failure is not None:
        rec.response_status = failure[0]
        handler.peer._record(rec)
        return handler._error(*failure)
    sid = "CA" + secrets.token_hex(16)
    prefix = f"/2010-04-01/Accounts/{handler.peer.account_sid}/"
    now = format_datetime(handler.peer.now().astimezone(UTC), usegmt=True)
    rec.response_status, rec.sid = 201, sid
    handler.peer._record(rec)
    with calls._lock:
        calls.created.append(rec)
    handler._json(
        201,
        {
            "account_sid": handler.peer.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": now,
            "date_updated": now,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": params.get("From"),
            "from_formatted": params.get("From"),
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + "0" * 32,
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "start_time": None,
            "status": "queued",
            "to": params.get("To"),
            "to_formatted": params.get("To"),
            "uri": f"{prefix}Calls/{sid}.json",
            "subresource_uris": {"recordings": f"{prefix}Calls/{sid}/Recordings.json"},
        },
    )


def voice_params(
    *,
    call_sid: str,
    to: str = "+441134960000",
    status: str = "in-progress",
    account_sid: str = ACCOUNT_SID,
    **extra: str,
) -> dict[str, str]:
    """The form fields Twilio posts to a voice webhook (answer, gather, dial, record, status)."""
    return {
        "AccountSid": account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": status,
        "Direction": "outbound-api",
        "From": FROM_NUMBER,
        "To": to,
        "Called": to,
        "Caller": FROM_NUMBER,
        **{k: str(v) for k, v in extra.items()},
    }


def post_voice_webhook(
    app_base_url: str,
    path: str,
    params: dict[str, str],
    *,
    public_base_url: str,
    token: str,
    signature: str | None = None,
) -> requests.Response:
    """POST a voice webhook as Twilio does: signed over the PUBLIC url (path and query) and params."""
    if signature is None:
        signature = sign(token, public_base_url.rstrip("/") + path, params)
    headers = {"X-Twilio-Signature": signature} if signature else {}
    return requests.post(app_base_url.rstrip("/") + path, data=params, headers=headers, timeout=10)
