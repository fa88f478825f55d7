"""The clock process (Procfile ``clock:``).

APScheduler runs each school's slots on cron triggers in the school's zone; frequent global jobs
(send the outbox, deliver alerts) run on intervals. Every run first checks that this process holds
the clock lease, so a second clock started by mistake does nothing until the first one dies. On
start, and every few minutes, slots missed within the grace period are caught up, and the
timetable is rebuilt from the schools' current policies.
"""

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import clock
from bot.jobs import JOBS
from bot.settings import Settings
from scheduler import lease
from scheduler.runs import catch_up, missed_fire_times, run_slot
from scheduler.schedule import Slot, all_slots

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20
DELIVERY_SECONDS = 10
RESCHEDULE_SECONDS = 300


class Clock:
    def __init__(self, engine: Engine, settings: Settings, *, blocking: bool = True):
        self.engine = engine
        self.settings = settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.leader = False
        self._lock = threading.Lock()
        cls = BlockingScheduler if blocking else BackgroundScheduler
        self.scheduler = cls(
            timezone="UTC",
            job_defaults={
                "misfire_grace_time": settings.clock_misfire_grace_seconds,
                "coalesce": True,
                "max_instances": 1,
            },
        )
        self._slot_ids: set[str] = set()

    # -- leadership ----------------------------------------------------------------------------

    def heartbeat(self) -> None:
        was = self.leader
        now = clock.now()
        self.leader = lease.acquire(self.engine, self.holder, now=now)
        if self.leader and not was:
            log.info("clock %s is now the active clock", self.holder)
            self.catch_up(now=now)
        elif was and not self.leader:
            log.warning("clock %s lost the lease; standing by", self.holder)

    # -- jobs ------------------------------------------------------------------------------------

    def _fire_slot(self, slot: Slot) -> None:
        if not self.leader:
            return
        # Claim the slot by the time it was due, not the time it ran: a late firing and a later
        # catch-up then share one JobRun key.
        now = clock.now()
        grace = timedelta(seconds=self.settings.clock_misfire_grace_seconds)
        due = missed_fire_times(slot, since=now - grace, until=now)
        fire_time = due[-1] if due else now.replace(second=0, microsecond=0)
        summary = run_slot(self.engine, self.settings, slot, fire_time, now=now)
        if summary is not None and summary.did_something:
            # Whatever it queued or raised goes out now, not at the next delivery tick.
            self.wake("send-outbox", "deliver-alerts", now=now)

    def wake(self, *names: str, now: datetime) -> None:
        """Run these interval jobs now rather than at their next tick (families wait less)."""
        for name in names:
            job = self.scheduler.get_job(name)
            if job is not None:
                job.modify(next_run_time=now)

    def _fire_global(self, name: str) -> None:
        if not self.leader:
            return
        job = JOBS[name]
        try:
            job.run(self.engine, school=None, now=clock.now(), settings=self.settings)
        except Exception:
            log.exception("global job %s failed", name)

    def catch_up(self, *, now: datetime) -> int:
        with Session(self.engine) as session:
            slots = all_slots(session, self.settings)
        grace = timedelta(seconds=self.settings.clock_misfire_grace_seconds)
        ran = catch_up(self.engine, self.settings, slots, now=now, grace=grace)
        if ran:
            log.info("caught up %d missed job runs", ran)
        return ran

    def reschedule(self) -> None:
        """(Re)build the per-school slots from the current policies."""
        with self._lock, Session(self.engine) as session:
            slots = all_slots(session, self.settings)
            wanted = {s.id: s for s in slots}
            for stale in self._slot_ids - wanted.keys():
                self.scheduler.remove_job(stale)
            for slot_id, slot in wanted.items():
                self.scheduler.add_job(self._fire_slot, slot.trigger(), args=[slot], id=slot_id,
                                       replace_existing=True, name=slot_id)
            self._slot_ids = set(wanted)

    def start(self) -> None:
        self.heartbeat()
        self.reschedule()
        self.scheduler.add_job(self.heartbeat, "interval", seconds=HEARTBEAT_SECONDS, id="heartbeat")
        self.scheduler.add_job(self.reschedule, "interval", seconds=RESCHEDULE_SECONDS, id="reschedule")
        for name in ("send-outbox", "deliver-alerts"):
            self.scheduler.add_job(self._fire_global, "interval", seconds=DELIVERY_SECONDS, args=[name],
                                   id=name)
        if self.settings.imap_enabled:  # families' email replies and bounces (bot.mail)
            self.scheduler.add_job(self._fire_global, "interval", seconds=self.settings.imap_poll_seconds,
                                   args=["read-mailbox"], id="read-mailbox")
        log.info("clock %s starting (%s)", self.holder, "active" if self.leader else "standby")
        try:
            self.scheduler.start()
        finally:
            if isinstance(self.scheduler, BlockingScheduler):
                lease.release(self.engine, self.holder, now=clock.now())

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        lease.release(self.engine, self.holder, now=clock.now())


def run_clock(engine: Engine, settings: Settings) -> None:
    Clock(engine, settings).start()
