"""Benchmark: how long a school waits for its register close when the active clock goes away.

Two ``attendance-bot clock`` processes (leader and standby) on a SQLite file, at 09:16 on a school
Monday (``CLOCK_START_AT``), with the production heartbeat and lease unless told otherwise. One
school's register close is caught waiting on the MIS (a loopback server that holds its read); the
leader is then stopped with SIGTERM (a deploy) or ``kill -9`` (a crash). Prints, for each, the
seconds from the signal until the standby leads and until the register close is done, which is
what the families of absent pupils wait for their first-day text.

    python -m bench.clock_handover [--heartbeat 5] [--lease 30]
"""

import argparse
import signal
import tempfile
import time
from pathlib import Path


def one(how: str, *, heartbeat: float, lease: float) -> tuple[float, float]:
    from storage import migrate
    from storage.db import make_engine
    from tests.test_clock_faults import (
        START,
        build_schools,
        clocks,
        holding_mis,
        later,
        leads,
        start_clock,
        state,
        wait_until,
    )

    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    schools = build_schools(engine, 2)
    ids, urns = [s.id for s in schools], [s.urn for s in schools]  # the second school's read is held
    timing = {
        "clock_heartbeat_seconds": heartbeat,
        "clock_lease_seconds": lease,
        "clock_catch_up_seconds": 120,
        "clock_stop_grace_seconds": 20,
    }
    with holding_mis() as mis, clocks() as started:
        t0 = time.monotonic()
        a = start_clock(url, tmp, "a", start_at=START, mis=mis, urns=urns, **timing)
        started.append(a)
        wait_until(
            lambda: state(engine).get(ids[1]) == ("running", a.pid),
            what="the leader mid-way",
            procs=[a],
            timeout=120,
        )
        b = start_clock(url, tmp, "b", start_at=later(START, t0), mis=mis, urns=urns, **timing)
        started.append(b)
        wait_until(lambda: "starting (standby)" in b.output(), what="the standby", procs=[b], timeout=120)
        mis.server.release.set()  # the MIS answers from now on (the held read is the leader's)
        signalled = time.monotonic()
        a.proc.send_signal(signal.SIGTERM if how == "SIGTERM" else signal.SIGKILL)
        wait_until(lambda: leads(engine, b), what="the standby to lead", procs=[b], timeout=lease + 60)
        led = time.monotonic() - signalled
        wait_until(
            lambda: state(engine).get(ids[1], ("",))[0] == "done",
            what="register close done",
            procs=[b],
            timeout=120,
        )
        return led, time.monotonic() - signalled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heartbeat", type=float, default=5.0)
    parser.add_argument("--lease", type=float, default=30.0)
    args = parser.parse_args()
    print(f"heartbeat {args.heartbeat:g} s, lease {args.lease:g} s, SQLite")
    for how in ("SIGTERM", "kill -9"):
        led, done = one(how, heartbeat=args.heartbeat, lease=args.lease)
        print(f"{how:<8} standby leads after {led:5.1f} s; the held register close done after {done:5.1f} s")


if __name__ == "__main__":
    main()
