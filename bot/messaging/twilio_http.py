"""The twilio client's HTTP layer for the sender: one thread-safe urllib3 pool, any API host.

Imported only when a Twilio transport first makes its client (``TwilioSms.client``), like the
twilio package itself: importing ``bot.messaging.transports`` does not load it.
"""

import base64
import json
import os
from urllib.parse import urlencode

import certifi
import urllib3
from requests.utils import get_environ_proxies
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response

TWILIO_API_HOST = "https://api.twilio.com"


class SenderHttpClient(TwilioHttpClient):
    """The twilio client's HTTP layer on a shared urllib3 pool, for sending from a thread pool.

    * ``base_url`` sends the requests to another host than api.twilio.com (a proxy, a test
      peer): the client builds every URL from a fixed host, so the host is rewritten and the
      path kept; the wire format stays exactly Twilio's (the client still builds every request
      and parses every answer and error).
    * urllib3 directly instead of a ``requests.Session``: the pool is thread-safe, the
      environment (proxies, CA bundle) is read once, and the per-message CPU cost drops by
      more than half, which is what limits a few thousand texts at register close.
    * No retries here: a POST that may have reached Twilio must not be repeated blindly; the
      outbox decides (transient failure -> backoff).
    """

    def __init__(self, base_url: str | None = None, *, timeout: float | None = None, maxsize: int = 16):
        super().__init__(pool_connections=False, timeout=timeout)
        self.base_url = (base_url or TWILIO_API_HOST).rstrip("/")
        ca_certs = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or certifi.where()
        proxies = get_environ_proxies(self.base_url) or {}
        proxy = proxies.get(self.base_url.split(":", 1)[0]) or proxies.get("all")
        if proxy:
            self.pool = urllib3.ProxyManager(proxy, maxsize=maxsize, ca_certs=ca_certs)
        else:
            self.pool = urllib3.PoolManager(maxsize=maxsize, ca_certs=ca_certs)

    def request(
        self,
        method,
        url,
        params=None,
        data=None,
        headers=None,
        auth=None,
        timeout=None,
        allow_redirects=False,
    ):
        """One request as the twilio client built it, sent to ``base_url`` once (never retried here)."""
        if url.startswith(TWILIO_API_HOST) and self.base_url != TWILIO_API_HOST:
            url = self.base_url + url[len(TWILIO_API_HOST) :]
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params, doseq=True)
        headers = dict(headers or {})
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        body = None
        if data is not None and method.upper() not in ("GET", "DELETE"):
            if headers.get("Content-Type") in ("application/json", "application/scim+json"):
                body = json.dumps(data)
            else:
                headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
                body = urlencode(data, doseq=True)
        response = self.pool.request(
            method.upper(),
            url,
            body=body,
            headers=headers,
            retries=False,
            redirect=allow_redirects,
            timeout=timeout or self.timeout,
        )
        text = response.data.decode("utf-8", errors="replace")
        self._test_only_last_response = Response(response.status, text, dict(response.headers))
        return self._test_only_last_response
