"""A small, polite HTTP client for Wonde's API (``requests``, one connection pool per client).

- Auth: ``Authorization: Bearer <token>``. One token reads every school that approved the app.
- Lists are paginated: ``{"data": [...], "meta": {"pagination": {"next": <full URL or null>,
  "more": bool, ...}}}``; ``pages`` follows ``next`` until it is null.
- ``include=`` nests related objects, each as ``{"data": ...}``; ``updated_after=YYYY-MM-DD
  HH:MM:SS`` (UTC) returns only rows changed since.
- Write-back: ``POST /schools/{id}/attendance/session`` with ``{"attendance": [...]}`` answers
  ``{"writeback_id": ...}``; a 422 carries the MIS's validation errors.

Every request has a timeout. 429 and 5xx answers and dropped connections are retried with
exponential backoff, honouring ``Retry-After``; a ``Retry-After`` longer than ``max_wait`` is not
waited out here but raised (``MisBusy``) so the job can come back later at the right ``now``.
Logs carry paths and ids only (never names, phone numbers or emails).
"""

import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests

log = logging.getLogger(__name__)

USER_AGENT = "attendance-bot/0.1 (+https://github.com/attendance-bot)"
STUDENT_INCLUDES = (
    "contacts.contact_details",
    "contact_details",
    "extended_details",
    "education_details",
    "year",
    "groups",
    "classes",
)
BACKOFF_BASE = 0.5  # seconds; doubled on each retry
BACKOFF_CAP = 30.0


class MisError(Exception):
    """Wonde could not do what was asked; the message is fit for staff and logs (no personal data)."""


class MisUnavailable(MisError):
    """Wonde (or the school's MIS behind it) did not answer usefully: timeouts, 5xx, refused."""


class MisBusy(MisUnavailable):
    """Wonde asked us to come back after ``retry_after`` seconds (429), longer than we wait in place."""

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class MisAccessDenied(MisError):
    """401/403: the token is wrong, or the school has not approved (or has revoked) the bot's access."""


class MisRejected(MisError):
    """422: the MIS refused the data. ``errors`` maps a field (``attendance.0.attendance_code_id``)
    to its messages."""

    def __init__(self, message: str, *, errors: dict[str, list[str]]):
        super().__init__(message)
        self.errors = errors

    def by_index(self, prefix: str = "attendance") -> dict[int, str]:
        """Errors of the n-th record sent, for keys like ``attendance.3.attendance_code_id``."""
        out: dict[int, list[str]] = {}
        for key, messages in self.errors.items():
            parts = key.split(".")
            if len(parts) >= 2 and parts[0] == prefix and parts[1].isdigit():
                out.setdefault(int(parts[1]), []).extend(messages)
        return {i: "; ".join(m) for i, m in out.items()}


def wonde_time(instant: datetime) -> str:
    """``updated_after`` as Wonde takes it: ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    return instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class WondeClient:
    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        timeout: float = 20.0,
        max_retries: int = 4,
        max_wait: float = 30.0,
        page_size: int = 200,
        sleep: Callable[[float], None] = time.sleep,
        http: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = (min(5.0, timeout), timeout)  # (connect, read)
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.page_size = page_size
        self.sleep = sleep
        self.http = http or requests.Session()
        self.http.headers.update(
            {"Authorization": f"Bearer {token}", "Accept": "application/json", "User-Agent": USER_AGENT}
        )

    def close(self) -> None:
        self.http.close()

    # -- transport -------------------------------------------------------------------------------

    def _url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def request(self, method: str, path_or_url: str, *, params: dict | None = None, json: Any = None) -> dict:
        """One call, retried on 429/5xx/connection errors; the decoded JSON body."""
        url = self._url(path_or_url)
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self.http.request(method, url, params=params, json=json, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if last:
                    raise MisUnavailable(f"Wonde did not answer ({type(exc).__name__})") from None
                self._wait(attempt, None, why=type(exc).__name__, path=url)
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                wait = retry_after_seconds(response.headers.get("Retry-After"))
                if wait is not None and wait > self.max_wait:
                    raise MisBusy(f"Wonde asked to wait {wait:.0f} s (HTTP {status})", retry_after=wait)
                if last:
                    raise MisUnavailable(f"Wonde answered HTTP {status} after {attempt + 1} attempts")
                self._wait(attempt, wait, why=f"HTTP {status}", path=url)
                continue
            return self._decode(response)
        raise AssertionError("unreachable")

    def _wait(self, attempt: int, retry_after: float | None, *, why: str, path: str) -> None:
        if retry_after is None:
            retry_after = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * (1 + random.random() / 4)
        log.info("wonde: %s on %s; retrying in %.1f s", why, path.split("?")[0], retry_after)
        self.sleep(retry_after)

    def _decode(self, response: requests.Response) -> dict:
        status = response.status_code
        try:
            body = response.json() if response.content else {}
        except ValueError:
            body = None
        if status in (401, 403):
            raise MisAccessDenied(
                f"Wonde refused access (HTTP {status}): check the token and that the school has approved "
                "the bot's app (and write-back, for changes)"
            )
        if status == 422:
            errors = _errors(body)
            message = (
                "; ".join(m for msgs in errors.values() for m in msgs) or _message(body) or "invalid data"
            )
            raise MisRejected(f"the MIS refused the change: {message}", errors=errors)
        if status >= 400 or not isinstance(body, dict):
            raise MisError(f"Wonde answered HTTP {status}: {_message(body) or 'unexpected response'}")
        return body

    # -- reading ---------------------------------------------------------------------------------

    def pages(self, path: str, params: dict | None = None) -> Iterator[list[dict]]:
        """Every page of a list, following ``meta.pagination.next`` until it is null."""
        params = {"per_page": self.page_size, **(params or {})}
        url, seen = self._url(path), set()
        while url:
            body = self.request("GET", url, params=params)
            data = body.get("data")
            yield data if isinstance(data, list) else []
            pagination = (body.get("meta") or {}).get("pagination") or {}
            nxt = pagination.get("next")
            if not nxt or pagination.get("more") is False or nxt in seen:
                return
            seen.add(nxt)
            url, params = nxt, None  # ``next`` is a full URL carrying the query

    def all(self, path: str, params: dict | None = None) -> list[dict]:
        return [row for page in self.pages(path, params) for row in page]

    def _list(
        self, school_id: str, what: str, *, include=(), updated_after: datetime | None = None, **params
    ) -> list[dict]:
        if include:
            params["include"] = ",".join(include)
        if updated_after is not None:
            params["updated_after"] = wonde_time(updated_after)
        return self.all(f"schools/{school_id}/{what}", params)

    def school(self, school_id: str) -> dict:
        return self.request("GET", f"schools/{school_id}").get("data") or {}

    def students(self, school_id: str, *, updated_after: datetime | None = None) -> list[dict]:
        return self._list(school_id, "students", include=STUDENT_INCLUDES, updated_after=updated_after)

    def employees(self, school_id: str, *, updated_after: datetime | None = None) -> list[dict]:
        return self._list(school_id, "employees", include=("contact_details",), updated_after=updated_after)

    def deletions(self, school_id: str, *, updated_after: datetime | None = None) -> list[dict]:
        return self._list(school_id, "deletions", updated_after=updated_after)

    def session_marks(self, school_id: str, *, updated_after: datetime | None = None) -> list[dict]:
        return self._list(school_id, "attendance/session", updated_after=updated_after)

    def attendance_codes(self) -> list[dict]:
        return self.all("attendance-codes")

    # -- writing ---------------------------------------------------------------------------------

    def write_session_marks(self, school_id: str, records: list[dict]) -> str:
        """Send session marks to the MIS; Wonde applies them later. Returns the ``writeback_id``."""
        body = self.request("POST", f"schools/{school_id}/attendance/session", json={"attendance": records})
        writeback_id = body.get("writeback_id") or (body.get("data") or {}).get("writeback_id")
        if not writeback_id:
            raise MisError("Wonde accepted the write-back but sent no writeback_id")
        return str(writeback_id)


def _errors(body: Any) -> dict[str, list[str]]:
    """422 bodies: ``{"errors": {field: [messages]}}`` (Laravel's shape), tolerant of variations."""
    if not isinstance(body, dict):
        return {}
    errors = body.get("errors") or body.get("error_messages") or {}
    if isinstance(errors, list):
        return {"": [str(e) for e in errors]}
    if not isinstance(errors, dict):
        return {"": [str(errors)]}
    return {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()}


def _message(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in ("error_description", "message", "error"):
            if isinstance(body.get(key), str):
                return body[key]
    return None
