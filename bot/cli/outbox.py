"""``attendance-bot outbox``: read the outbox (the record of every message) and send what is due.

Phone numbers and addresses are masked unless ``--show-body`` asks for the message itself: an
operator reading a terminal over someone's shoulder should not see a parent's number by default.
"""

import signal

import click
from sqlmodel import Session, select

from bot import clock, shutdown
from bot.firstday.scheduled import send_outbox
from bot.runtime import engine as runtime_engine
from bot.settings import get_settings
from storage.models import OutboxMessage, School


def mask_address(address: str) -> str:
    """``+447700900123`` -> ``+44*******123``; ``sara@example.org`` -> ``s***@example.org``."""
    if "@" in address:
        local, domain = address.split("@", 1)
        return (local[:1] + "***@" + domain) if local else "***@" + domain
    if len(address) <= 6:
        return "*" * len(address)
    return address[:3] + "*" * (len(address) - 6) + address[-3:]


def list_messages(session: Session, *, school_urn: str | None, status: str | None, limit: int) -> list:
    query = (
        select(OutboxMessage, School.urn)
        .join(School, School.id == OutboxMessage.school_id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    if school_urn:
        query = query.where(School.urn == school_urn)
    if status:
        query = query.where(OutboxMessage.status == status)
    return list(session.exec(query).all())


@click.group(invoke_without_command=True)
@click.option("--school", "school_urn", metavar="URN", help="Only this school's messages.")
@click.option(
    "--status",
    help="Only messages in this status (queued, sending, accepted, sent, delivered, "
    "undelivered, failed, cancelled).",
)
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--show-body", is_flag=True, help="Show full addresses and the first line of each body.")
@click.pass_context
def outbox(
    ctx: click.Context, school_urn: str | None, status: str | None, limit: int, show_body: bool
) -> None:
    """List recent outbox messages, newest first (`outbox send` sends what is due)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = get_settings()
    with Session(runtime_engine(settings)) as session:
        rows = list_messages(session, school_urn=school_urn, status=status, limit=limit)
    if not rows:
        click.echo("no messages")
        return
    click.echo(
        f"{'id':>6}  {'created (UTC)':16}  {'school':8}  {'kind':12}  {'ch':5}  {'to':22}  "
        f"{'status':11}  {'tries':>5}"
    )
    for message, urn in rows:
        to = message.to_address if show_body else mask_address(message.to_address)
        line = (
            f"{message.id:>6}  {message.created_at:%Y-%m-%d %H:%M}  {urn:8}  {message.kind[:12]:12}  "
            f"{message.channel:5}  {to[:22]:22}  {message.status:11}  {message.attempts:>5}"
        )
        if message.error_code:
            line += f"  error {message.error_code}"
        click.echo(line)
        if show_body:
            first = (message.body or "").splitlines()[0] if message.body else ""
            click.echo(f"{'':8}{first}")


@outbox.command("send")
@click.option("--now", "now_value", help="Treat this as the time (ISO; naive = Europe/London).")
def send(now_value: str | None) -> None:
    """Send every due message now with the configured transports.

    SIGTERM (a deploy) stops it claiming more; what is in flight finishes and is recorded within
    SENDER_GRACE_SECONDS (``bot.shutdown``).
    """
    settings = get_settings()
    signal.signal(signal.SIGTERM, lambda *_: shutdown.request())
    summary = send_outbox(runtime_engine(settings), now=clock.parse_now(now_value), settings=settings)
    click.echo(", ".join(f"{k} {v}" for k, v in summary.as_dict().items()))


def register(main: click.Group) -> None:
    main.add_command(outbox)
