"""The clock process (Procfile ``clock:``).

APScheduler runs each school's slots on cron triggers in the school's zone; frequent global jobs
(send the outbox, deliver alerts) run on intervals. Every run first checks that this process holds
the clock lease, so a second clock started by mistake stands by until the first one stops or dies.

Every ``CLOCK_CATCH_UP_SECONDS`` (and at once on becoming the leader) the clock catches up: slots
whose time passed within the grace period and that have no finished run are run — missed while
no clock ran, failed (after a backoff), or left unfinished by a clock that died — and a register
close still not done ``CLOCK_LATE_ALERT_MINUTES`` after its time is reported to the operators
(``scheduler.late``). The timetable is rebuilt from the schools' policies every few minutes.

SIGTERM (a deploy, a restart) or SIGINT stops the clock gracefully: no new firing, the running job
gets ``CLOCK_STOP_GRACE_SECONDS`` to finish, what it could not finish is marked interrupted (the
next leader runs it again at once) and the lease is released, so a standby leads within one
heartbeat instead of waiting for the lease to expire.
"""

import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import clock, shutdown
from bot.jobs import JOBS
from bot.settings import Settings
from scheduler import lease, signals
from scheduler.late import alert_late
from scheduler.runs import catch_up, interrupt, missed_fire_times, run_slot
from scheduler.schedule import Slot, all_slots, interval_jobs

log = logging.getLogger(__name__)

DELIVERY_SECONDS = 10
RESCHEDULE_SECONDS = 300


class Clock:
    def __init__(self, engine: Engine, settings: Settings):
        self.engine = engine
        self.settings = settings
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.leader = False
        self.ttl = timedelta(seconds=settings.clock_lease_seconds)
        self.grace = timedelta(seconds=settings.clock_misfire_grace_seconds)
        # With CLOCK_START_AT (development, tests) the process's time is not APScheduler's, whose
        # cron triggers follow the system clock: slots then run through the catch-up alone.
        self.cron = settings.clock_start_at is None
        self._lock = threading.Lock()
        self._busy = 0
        self._idle = threading.Condition()
        self.scheduler = BackgroundScheduler(
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
        if shutdown.requested():
            return
        was = self.leader
        self.leader = lease.acquire(self.engine, self.holder, now=clock.now(), ttl=self.ttl)
        if self.leader and not was:
            log.info("clock %s is now the active clock", self.holder)
            self.wake("catch-up")  # in its own thread: a long catch-up must not delay the heartbeat
        elif was and not self.leader:
            log.warning("clock %s lost the lease; standing by", self.holder)

    # -- jobs ------------------------------------------------------------------------------------

    def _fire_slot(self, slot: Slot) -> None:
        if not self.leader:
            return
        # Claim the slot by the time it was due, not the time it ran: a late firing and a later
        # catch-up then share one JobRun key.
        now = clock.now()
        due = missed_fire_times(slot, since=now - self.grace, until=now)
        if not due:  # not due by our clock (it differs from the system's): the catch-up runs it
            return
        summary = run_slot(self.engine, self.settings, slot, due[-1], now=now, holder=self.holder)
        if summary is not None and summary.did_something:
            # Whatever it queued or raised goes out now, not at the next delivery tick.
            self.wake("send-outbox", "deliver-alerts")

    def wake(self, *names: str) -> None:
        """Run these jobs now rather than at their next tick (families wait less).

        APScheduler keeps the system's time, so this reads it rather than ``clock.now()``.
        """
        for name in names:
            job = self.scheduler.get_job(name)
            if job is not None:
                job.modify(next_run_time=datetime.now(UTC))

    def _fire_global(self, name: str) -> None:
        if not self.leader or shutdown.requested():
            return
        job = JOBS[name]
        try:
            job.run(self.engine, school=None, now=clock.now(), settings=self.settings)
        except Exception:
            log.exception("global job %s failed", name)

    def catch_up(self, *, now: datetime) -> int:
        """Run what is due and not done; report late register closes to the operators."""
        with Session(self.engine) as session:
            slots = all_slots(session, self.settings)
        ran = catch_up(self.engine, self.settings, slots, now=now, grace=self.grace, holder=self.holder)
        if ran:
            log.info("caught up %d job runs", ran)
        raised = alert_late(self.engine, self.settings, slots, now=now)
        if ran or raised:
            self.wake("send-outbox", "deliver-alerts")
        return ran

    def _catch_up_tick(self) -> None:
        if self.leader and not shutdown.requested():
            self.catch_up(now=clock.now())

    def reschedule(self) -> None:
        """(Re)build the per-school slots from the current policies."""
        if not self.cron:
            return
        with self._lock, Session(self.engine) as session:
            slots = all_slots(session, self.settings)
            wanted = {s.id: s for s in slots}
            for stale in self._slot_ids - wanted.keys():
                self.scheduler.remove_job(stale)
            for slot_id, slot in wanted.items():
                self.scheduler.add_job(
                    self._tracked(self._fire_slot),
                    slot.trigger(),
                    args=[slot],
                    id=slot_id,
                    replace_existing=True,
                    name=slot_id,
                )
            self._slot_ids = set(wanted)

    def _tracked(self, fn: Callable) -> Callable:
        """``fn`` counted while it runs, so a stop can wait for the running jobs (``_wait_idle``)."""

        def run(*args) -> None:
            with self._idle:
                self._busy += 1
            try:
                fn(*args)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

        return run

    def _every(self, fn: Callable, seconds: float, job_id: str, *args, first: bool = False) -> None:
        """Run ``fn`` every ``seconds`` (and at once when ``first``)."""
        at_once = {"next_run_time": datetime.now(UTC)} if first else {}  # None would mean "paused"
        self.scheduler.add_job(
            self._tracked(fn), "interval", seconds=seconds, args=list(args), id=job_id, **at_once
        )

    def start(self) -> None:
        """Start the timetable in the background (``run`` also waits for a stop signal)."""
        s = self.settings
        self.heartbeat()
        self.reschedule()
        self._every(self.heartbeat, s.clock_heartbeat_seconds, "heartbeat")
        self._every(self._catch_up_tick, s.clock_catch_up_seconds, "catch-up", first=True)
        self._every(self.reschedule, RESCHEDULE_SECONDS, "reschedule")
        for name in ("send-outbox", "deliver-alerts"):
            self._every(self._fire_global, DELIVERY_SECONDS, name, name)
        if s.imap_enabled:  # families' email replies and bounces (bot.mail)
            self._every(self._fire_global, s.imap_poll_seconds, "read-mailbox", "read-mailbox")
        for name, seconds in interval_jobs(s).items():
            self._every(self._fire_global, seconds, name, name)
        log.info("clock %s starting (%s)", self.holder, "active" if self.leader else "standby")
        self.scheduler.start()

    def run(self) -> None:
        """The process: start, wait for SIGTERM / SIGINT, stop gracefully."""
        caught, _ = signals.catch(signal.SIGTERM, signal.SIGINT)
        self.start()
        while not (caught or shutdown.requested()):
            time.sleep(0.2)
        shutdown.request()
        log.info("clock %s: stop requested", self.holder)
        if not self.stop():
            # A job still runs past the grace: it is marked interrupted and the lease is released;
            # leave now rather than be killed mid-way by the platform.
            logging.shutdown()
            os._exit(0)

    def stop(self) -> bool:
        """No new firing; give running jobs the grace period; mark what is unfinished interrupted;
        hand the lease over. True if every job finished."""
        shutdown.request()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        finished = self._wait_idle(self.settings.clock_stop_grace_seconds)
        now = clock.now()
        left = interrupt(self.engine, self.holder, now=now)
        lease.release(self.engine, self.holder, now=now)
        self.leader = False
        log.info(
            "clock %s stopped (%s; %d run(s) marked interrupted); lease released",
            self.holder,
            "jobs finished" if finished else "a job was still running",
            left,
        )
        return finished

    def _wait_idle(self, seconds: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout=seconds)


def run_clock(engine: Engine, settings: Settings) -> None:
    if settings.clock_start_at is not None:  # development and tests only (refused in production)
        clock.start_at(settings.clock_start_at)
    Clock(engine, settings).run()
