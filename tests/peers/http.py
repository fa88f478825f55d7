"""Loopback HTTP servers in a thread: a generic ``http.server`` helper and the live Flask app.

``serve_handler(handler_class)`` runs any ``BaseHTTPRequestHandler`` on 127.0.0.1 (random port);
``live_app(settings)`` serves ``handlers.app.create_app(settings)`` with werkzeug in a thread, so
tests talk to the real app over real HTTP (``requests``); ``live_app(settings, create_app=...)``
serves another factory's app (the sandbox tests pass ``tryout.web.create_app``).
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Running:
    host: str
    port: int
    server: object

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path


class QuietThreadingHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


@contextmanager
def serve_handler(handler_class: type[BaseHTTPRequestHandler], **attrs) -> Iterator[Running]:
    """Serve ``handler_class`` on a free loopback port; ``attrs`` are set on the server object."""
    server = QuietThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    for name, value in attrs.items():
        setattr(server, name, value)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Running("127.0.0.1", server.server_address[1], server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def live_app(settings, *, create_app=None) -> Iterator[Running]:
    """The real Flask app (``create_app(settings)``) served by werkzeug on 127.0.0.1 in a thread."""
    from werkzeug.serving import make_server

    from handlers.app import create_app as product_app

    app = (create_app or product_app)(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Running("127.0.0.1", server.server_port, server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
