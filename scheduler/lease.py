"""Only one clock acts at a time: a lease row taken with a conditional update.

The holder renews the lease with every heartbeat; a second clock started by mistake stays on
standby until the lease expires (the first clock died), then takes over. The heartbeat time is
what ``/healthz`` reports.
"""

from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage.models import ClockLease

LEASE_NAME = "clock"
TTL = timedelta(seconds=30)  # the default; the clock passes CLOCK_LEASE_SECONDS


def acquire(
    engine: Engine, holder: str, *, now: datetime, ttl: timedelta = TTL, name: str = LEASE_NAME
) -> bool:
    """Take or renew the lease at ``now``. True if ``holder`` holds it afterwards."""
    with Session(engine) as session:
        result = session.execute(
            update(ClockLease)
            .where(ClockLease.name == name)
            .where(or_(ClockLease.holder == holder, ClockLease.expires_at < now))
            .values(holder=holder, expires_at=now + ttl, heartbeat_at=now)
        )
        session.commit()
        if result.rowcount == 1:
            return True
        if session.get(ClockLease, name) is not None:
            return False
        try:
            session.add(ClockLease(name=name, holder=holder, expires_at=now + ttl, heartbeat_at=now))
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
            return False


def release(engine: Engine, holder: str, *, now: datetime, name: str = LEASE_NAME) -> None:
    """Give the lease up (a clean stop), so a standby clock takes over at its next heartbeat."""
    with Session(engine) as session:
        session.execute(
            update(ClockLease)
            .where(ClockLease.name == name, ClockLease.holder == holder)
            .values(expires_at=now)
        )
        session.commit()
