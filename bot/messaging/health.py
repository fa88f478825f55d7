"""Is each delivery provider answering? Recorded by the sender, read by the operators' health check.

A provider outage (Twilio answering 503, the SMTP relay refusing connections, a revoked token) is
nobody's fault at the school and certainly not a family's: messages wait and are retried while
they are worth sending (``bot.messaging.sender``). The operators, who can do something about it,
are told: a WARNING log line when an outage starts and when it ends, and ``provider_problems``,
which the web edge's ``/healthz`` can add to its reasons (it reads only).
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from storage.models import OutboxMessage, ProviderHealth

log = logging.getLogger(__name__)

# Which provider carries each channel (texts and calls share the Twilio account).
PROVIDER_OF = {"sms": "twilio", "voice": "twilio", "email": "smtp"}
# An outage shorter than this is a blip, not worth waking anyone for.
REPORT_AFTER = timedelta(minutes=5)


def record(session: Session, *, failing: dict[str, str], ok: set[str], now: datetime) -> set[str]:
    """Note the providers that failed (name -> error label) and those that answered, at ``now``.

    Returns the providers that answer again after an outage.
    """
    recovered: set[str] = set()
    for name in sorted(set(failing) | ok):
        row = session.get(ProviderHealth, name, with_for_update=True)
        if row is None:
            row = ProviderHealth(name=name, updated_at=now)
        if name in ok:  # one success ends the outage, whatever else failed in the same group
            if row.failing_since is not None:
                log.warning("provider %s answers again (down since %s)", name, row.failing_since.isoformat())
                recovered.add(name)
            row.failing_since, row.last_error, row.last_ok_at = None, None, now
        else:
            if row.failing_since is None:
                row.failing_since = now
                log.warning("provider %s is failing: %s; messages are held and retried", name, failing[name])
            row.last_error = failing[name][:200]
        row.updated_at = now
        session.add(row)
    return recovered


def provider_problems(session: Session, *, now: datetime) -> tuple[dict, list[str]]:
    """(facts, reasons) for the operators' health check: providers failing for ``REPORT_AFTER``.

    The count of messages waiting says how much is held up; it names nobody.
    """
    facts: dict = {}
    found: list[str] = []
    for row in session.exec(select(ProviderHealth).order_by(ProviderHealth.name)).all():
        if row.failing_since is None:
            facts[f"provider_{row.name}"] = "ok"
            continue
        lasted = now - row.failing_since
        facts[f"provider_{row.name}"] = "failing"
        facts[f"provider_{row.name}_failing_since"] = row.failing_since.isoformat()
        if lasted < REPORT_AFTER:
            continue
        channels = [c for c, p in PROVIDER_OF.items() if p == row.name]
        waiting = session.exec(
            select(func.count(OutboxMessage.id)).where(
                OutboxMessage.channel.in_(channels),
                OutboxMessage.status.in_(("queued", "sending", "unknown")),
            )
        ).one()
        found.append(
            f"the {row.name} provider has been failing for {int(lasted.total_seconds() // 60)} min "
            f"({row.last_error}); {waiting} message(s) are held and retried until they expire"
        )
    return facts, found
