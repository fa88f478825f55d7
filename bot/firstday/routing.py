"""Who gets what: the family's contacts in priority order and the channels that reach them.

``on_delivery_failed`` is called by the outbox sender when a family message fails for good; it
moves the family on to the next channel or contact, or tells staff nobody can be reached.
"""

from sqlmodel import Session

from storage.models import OutboxMessage


def on_delivery_failed(session: Session, *, message: OutboxMessage) -> None:
    """Filled in by the first-day work; the sender calls it inside its transaction."""
    return None
