"""``attendance-bot run-local``: the whole bot on the embedded default, for trying it out.

Migrates the SQLite database, loads the sample trust when the database is empty, then runs the
web app and the clock as two child processes (as the Procfile would) and prints the sandbox
address. Ctrl-C stops both.

The web child is the product's app with the demo kit's ``/sandbox`` mounted (``serve-tryout``, a
hidden command; ``attendance-bot serve`` alone serves the product's routes only).
"""

import os
import signal
import subprocess
import sys
import time

import click
from sqlmodel import Session, select

from bot.runtime import engine
from bot.settings import get_settings
from storage import migrate
from storage.models import School
from tryout.cli import demo_data


@click.command("run-local")
@click.option("--port", type=int, default=None, help="Web port (default: HTTP_PORT or 8000).")
@click.option("--no-clock", is_flag=True, help="Run the web app only.")
def run_local(port: int | None, no_clock: bool) -> None:
    """Run the web app and the clock on this machine, with the sample trust if the database is empty."""
    settings = get_settings()
    port = port or settings.http_port
    click.echo(f"database: {settings.database_url}")
    migrate.upgrade(settings.database_url)
    with Session(engine()) as session:
        empty = session.exec(select(School.id)).first() is None
    if empty:
        click.echo("loading the sample trust (first run only)...")
        click.get_current_context().invoke(demo_data)
    exe = [sys.executable, "-m", "bot.cli"]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    children = [subprocess.Popen([*exe, "serve-tryout", "--port", str(port)], env=env)]
    if not no_clock:
        children.append(subprocess.Popen([*exe, "clock"], env=env))
    base = f"http://{settings.http_host}:{port}"
    time.sleep(1.0)
    transports = "local (nothing leaves this machine)" if settings.sms_is_local else "Twilio/SMTP"
    click.echo(
        "\n  Attendance bot is running.\n"
        f"  Sandbox:      {base}/sandbox\n"
        f"  Health:       {base}/healthz\n"
        f"  Transports:   {transports}\n"
        "  Stop with Ctrl-C.\n"
    )

    def stop(*_):
        for child in children:
            if child.poll() is None:
                child.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(c.poll() is None for c in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    code = next((c.returncode for c in children if c.returncode not in (0, None, -15)), 0)
    sys.exit(code)


@click.command("serve-tryout", hidden=True)
@click.option("--host", help="Interface to listen on (default: HTTP_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: HTTP_PORT, or PORT on a platform, or 8000).")
@click.option("--threads", type=int, default=16, show_default=True)
def serve_tryout(host: str | None, port: int | None, threads: int) -> None:
    """``serve`` with the sandbox mounted: the web process of ``run-local``."""
    from handlers.cli import serve_app
    from tryout.web import create_app

    serve_app(create_app, host=host, port=port, threads=threads)


def register(main: click.Group) -> None:
    main.add_command(run_local)
    main.add_command(serve_tryout)
