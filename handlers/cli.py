"""``attendance-bot serve``: the HTTP app under waitress (a threaded WSGI server)."""

from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from bot.settings import Settings, get_settings

if TYPE_CHECKING:  # Flask loads with the app, not with every command
    from flask import Flask


@click.command("serve")
@click.option("--host", help="Interface to listen on (default: HTTP_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: HTTP_PORT, or PORT on a platform, or 8000).")
@click.option("--threads", type=int, default=16, show_default=True)
def serve(host: str | None, port: int | None, threads: int) -> None:
    """Serve the HTTP app: Slack, Teams and Twilio webhooks, the reply page, /healthz."""
    from handlers.app import create_app

    serve_app(create_app, host=host, port=port, threads=threads)


def serve_app(
    make_app: Callable[[Settings], "Flask"], *, host: str | None, port: int | None, threads: int
) -> None:
    """Serve ``make_app(settings)`` under waitress: ``serve`` gives the product's app, ``run-local``
    the product's app with the demo kit's sandbox mounted (``tryout.web.create_app``)."""
    import os

    from waitress import serve as waitress_serve

    settings = get_settings()
    host = host or settings.http_host
    port = port or int(os.environ.get("PORT", settings.http_port))
    app = make_app(settings)
    click.echo(f"attendance-bot web listening on http://{host}:{port}", err=True)
    waitress_serve(app, host=host, port=port, threads=threads, ident="attendance-bot")


@click.group("slack")
def slack() -> None:
    """Slack without a public URL."""


@slack.command("socket")
def socket_mode() -> None:
    """Connect to Slack over Socket Mode (needs SLACK_APP_TOKEN and SLACK_BOT_TOKEN) and serve."""
    from handlers.slack.socket_mode import run

    run(get_settings())


def register(main: click.Group) -> None:
    main.add_command(serve)
    main.add_command(slack)
