"""``make bench``: every benchmark in turn, each printing its own figures (they are not timed tests).

    python -m bench.run_all [--quick]

``--quick`` runs the register-close benchmark on SQLite only and skips the year-long sweeps build
(about ten minutes on a 2-core machine), for a fast look.
"""

import argparse
import subprocess
import sys

STEPS = [
    ("register close (SQLite and PostgreSQL)", ["bench.register_close", "--db", "both"]),
    ("MIS link: one school's sync, a trust's marks poll", ["bench.mis", "--db", "both"]),
    ("automated calls for unanswered families", ["bench.voice_calls", "--db", "both"]),
    ("texts per second to a provider answering in 1 s and 10 s", ["bench.sender_latency"]),
    ("slash commands vs a bare Bolt app", ["bench.slash_commands"]),
    ("reply reader accuracy, latency, memory", ["bench.reader_report"]),
    ("email replies read over IMAP (dovecot on loopback)", ["bench.mailbox_read"]),
    ("statutory sweep and weekly report, a trust's year", ["bench.sweeps"]),
    ("clock hand-over: the leader stopped by SIGTERM, killed by kill -9", ["bench.clock_handover"]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    failed = []
    for label, argv in STEPS:
        if args.quick and argv[0] == "bench.sweeps":
            continue
        if args.quick and argv[0] in {"bench.register_close", "bench.mis", "bench.voice_calls"}:
            argv = [argv[0], "--db", "sqlite"]
        print(f"\n=== {label} ===", flush=True)
        if subprocess.run([sys.executable, "-m", *argv]).returncode != 0:
            failed.append(label)
    if failed:
        sys.exit(f"benchmarks that failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
