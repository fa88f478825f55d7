"""Benchmark: time to acknowledge 20 concurrent slash commands, against a bare Bolt app, same run.

    python -m bench.slash_commands                    # 50 schools x 1,000 pupils on PostgreSQL
    python -m bench.slash_commands --schools 5 --keep # smaller; keep the database for another run

Builds a trust-sized database with ``bench.trust.build_trust`` (two weeks of marks is enough here),
marks 6% of pupils N on the benchmark day with open cases and messages, then serves two apps under
waitress on loopback, each in its own process (as the web process runs in production) with the same
threads, and a local stand-in for Slack's Web API in this process with the load generator:

* the real app (``handlers.app.create_app``): signature check, Bolt, ack, then the command's work
  (``/absences DATE`` for the user's school) answered through ``response_url``;
* a bare Bolt app whose ``/absences`` listener only acks.

Rounds of 20 concurrent signed ``/absences`` requests alternate between the two apps. Reported:
p50/p99 time to the HTTP answer (the ack) for both, and for the real app the time until its answer
reached ``response_url``. Targets: real p99 ack under 250 ms and within 1.5x of the bare app's.
Not a test: run it by hand; it prints a table and a JSON summary.
"""

import argparse
import json
import logging
import multiprocessing
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from urllib.parse import urlencode

import requests
from flask import Flask, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import create_engine, text
from waitress.server import create_server

from bench.trust import bench_database, build_trust, drop_database
from bot.settings import load_settings
from handlers.app import create_app
from tests.peers.slack_api import SlackAPIPeer

DAY = date(2026, 9, 16)  # a Wednesday in the sample calendar
SECRET = "bench-signing-secret-0123456789abcdef"
TOKEN = "xoxb-bench"
N_SHARE = 6  # percent of pupils with an N mark on DAY
THREADS = 8  # waitress threads, the same for both apps


def prepare(url: str) -> dict:
    """Staff with Slack ids, today's N marks for 6% of pupils, their open cases and messages."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO staff (school_id, staff_code, name, role, slack_user_id, active) "
                "SELECT id, 'BENCH', 'Bench Officer', 'attendance_officer', "
                "'U' || lpad(id::text, 6, '0'), true "
                "FROM school ON CONFLICT DO NOTHING"
            )
        )
        conn.execute(text("UPDATE school SET slack_team_id = 'T0BENCH'"))
        conn.execute(
            text("UPDATE mark SET code = 'N' WHERE date = :d AND pupil_id % 100 < :share"),
            {"d": DAY, "share": N_SHARE},
        )
        conn.execute(
            text(
                "INSERT INTO absencecase (school_id, pupil_id, status, first_date, first_session, "
                "last_absent_date, "
                "opened_at, contact_round, ladder, next_step) "
                "SELECT n.school_id, n.pupil_id, 'open', n.date, 'AM', n.date, now(), 0, '[]'::json, 0 FROM "
                "(SELECT DISTINCT school_id, pupil_id, date FROM mark WHERE date = :d AND code = 'N') n "
                "WHERE NOT EXISTS (SELECT 1 FROM absencecase c "
                "WHERE c.pupil_id = n.pupil_id AND c.status = 'open')"
            ),
            {"d": DAY},
        )
        conn.execute(
            text(
                "INSERT INTO outboxmessage (school_id, idempotency_key, kind, channel, to_address, body, "
                "language, "
                "status, attempts, next_attempt_at, created_at, updated_at, rerouted) "
                "SELECT c.school_id, 'bench:' || c.id, 'first_day', 'sms', '+447700900000', 'Hello', 'en', "
                "CASE WHEN c.id % 3 = 0 THEN 'sent' ELSE 'delivered' END, 1, now(), now(), now(), false "
                "FROM absencecase c ON CONFLICT DO NOTHING"
            )
        )
        conn.execute(
            text(
                "INSERT INTO messagecase (message_id, case_id) SELECT o.id, c.id FROM outboxmessage o "
                "JOIN absencecase c ON o.idempotency_key = 'bench:' || c.id ON CONFLICT DO NOTHING"
            )
        )
        conn.execute(text("ANALYZE"))
        counts = {
            "pupils": conn.execute(text("SELECT count(*) FROM pupil")).scalar(),
            "marks": conn.execute(text("SELECT count(*) FROM mark")).scalar(),
            "n_marks_today": conn.execute(
                text("SELECT count(*) FROM mark WHERE date = :d AND code = 'N'"), {"d": DAY}
            ).scalar(),
            "open_cases": conn.execute(
                text("SELECT count(*) FROM absencecase WHERE status = 'open'")
            ).scalar(),
        }
    engine.dispose()
    return counts


def bare_app(peer_base_url: str) -> Flask:
    """The floor: Bolt with the same client and signature check, and a listener that only acks."""
    bolt = App(
        client=WebClient(token=TOKEN, base_url=peer_base_url),
        signing_secret=SECRET,
        token_verification_enabled=False,
        process_before_response=False,
    )

    @bolt.command("/absences")
    def _absences(ack):
        ack()

    handler = SlackRequestHandler(bolt)
    app = Flask("bare")

    @app.post("/slack/events")
    def events():
        return handler.handle(request)

    return app


def _serve(kind: str, url: str, peer_base_url: str, ports, tuning: dict) -> None:
    """Child process: build one app and serve it under waitress until terminated."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # bursts queue by design
    if tuning.get("switch_interval"):
        sys.setswitchinterval(tuning["switch_interval"])
    if tuning.get("work_threads"):
        import handlers.slack.bolt_app as bolt_app

        bolt_app.WORK_THREADS = tuning["work_threads"]
    if kind == "real":
        settings = load_settings(
            database_url=url,
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_base_url=peer_base_url,
            environment="test",
            log_level="WARNING",
        )
        app = create_app(settings)
    else:
        app = bare_app(peer_base_url)
    server = create_server(app, host="127.0.0.1", port=0, threads=THREADS)
    ports.put(server.effective_port)
    server.run()


@contextmanager
def serve(kind: str, url: str, peer: SlackAPIPeer, tuning: dict | None = None):
    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    proc = ctx.Process(target=_serve, args=(kind, url, peer.base_url, ports, tuning or {}), daemon=True)
    proc.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=60)}"
    finally:
        proc.terminate()
        proc.join(10)


def _command(base: str, peer: SlackAPIPeer, *, school: int, key: str, http: requests.Session) -> float:
    body = urlencode(
        {
            "token": "legacy",
            "team_id": "T0BENCH",
            "user_id": f"U{school:06d}",
            "command": "/absences",
            "text": DAY.isoformat(),
            "channel_id": "C0ATT",
            "response_url": peer.response_url(key),
            "trigger_id": key,
            "api_app_id": "A0BENCH",
        }
    )
    ts = str(int(time.time()))
    headers = {
        "X-Slack-Request-Timestamp": ts,
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body),
    }
    started = time.perf_counter()
    resp = http.post(f"{base}/slack/events", data=body, headers=headers, timeout=30)
    elapsed = time.perf_counter() - started
    if resp.status_code != 200:
        raise RuntimeError(f"{resp.status_code}: {resp.text[:200]}")
    return elapsed


def burst(
    base: str,
    peer: SlackAPIPeer,
    *,
    label: str,
    round_no: int,
    schools: int,
    concurrency: int,
    pool: ThreadPoolExecutor,
    sessions: list[requests.Session],
) -> tuple[list[float], dict[str, float]]:
    """``concurrency`` commands released together; returns ack times and each key's send time."""
    gate = threading.Barrier(concurrency)
    sent: dict[str, float] = {}

    def one(i: int) -> float:
        key = f"{label}-{round_no}-{i}"
        gate.wait()
        sent[key] = time.monotonic()
        return _command(
            base, peer, school=1 + (round_no * concurrency + i) % schools, key=key, http=sessions[i]
        )

    return list(pool.map(one, range(concurrency))), sent


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--schools", type=int, default=50)
    ap.add_argument("--pupils", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=10, help="bursts per app (after one warm-up each)")
    ap.add_argument("--work-threads", type=int, default=0, help="override the bot's Slack work threads")
    ap.add_argument(
        "--switch-interval",
        type=float,
        default=0.0,
        help="sys.setswitchinterval in both server processes (default: Python's 0.005)",
    )
    ap.add_argument("--keep", action="store_true", help="Keep (and reuse) the database.")
    ap.add_argument("--fresh", action="store_true", help="Rebuild the database even if it exists.")
    args = ap.parse_args()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # bursts queue by design
    name = f"attendance_bench_slash_{args.schools}x{args.pupils}"
    url, created = bench_database(name, fresh=args.fresh)
    out: dict = {"database": name, "day": DAY.isoformat()}
    try:
        if created:
            t = time.perf_counter()
            out["build"] = build_trust(
                url, schools=args.schools, pupils_per_school=args.pupils, marks_until=DAY
            )
            out["build"]["seconds"] = round(time.perf_counter() - t, 1)
            out["prepared"] = prepare(url)
        with SlackAPIPeer(TOKEN) as peer:
            samples: dict[str, list[float]] = {"real": [], "bare": []}
            sent_at: dict[str, float] = {}
            sessions = [requests.Session() for _ in range(args.concurrency)]
            tuning = {"work_threads": args.work_threads, "switch_interval": args.switch_interval}
            with (
                serve("real", url, peer, tuning) as real,
                serve("bare", url, peer, tuning) as bare,
                ThreadPoolExecutor(max_workers=args.concurrency) as pool,
            ):
                bases = {"real": real, "bare": bare}
                for label, base in bases.items():  # warm-up: auth.test, pools, imports
                    _, sent = burst(
                        base,
                        peer,
                        label=f"warm{label}",
                        round_no=0,
                        schools=args.schools,
                        concurrency=args.concurrency,
                        pool=pool,
                        sessions=sessions,
                    )
                    if label == "real":  # its work must not spill into the first measured round
                        _wait_answers(peer, sent, timeout=60, prefix="warmreal-")
                for r in range(args.rounds):
                    for label in ("real", "bare") if r % 2 == 0 else ("bare", "real"):
                        acks, sent = burst(
                            bases[label],
                            peer,
                            label=label,
                            round_no=r + 1,
                            schools=args.schools,
                            concurrency=args.concurrency,
                            pool=pool,
                            sessions=sessions,
                        )
                        samples[label] += acks
                        if label == "real":
                            sent_at.update(sent)
                            # Let the real app's work finish so the next burst starts from quiet.
                            _wait_answers(peer, sent_at, timeout=60)
            answers = _answer_times(peer, sent_at)
        errors = [
            c.body.get("text", "")
            for c in peer.calls_to("response")
            if c.path.split("/")[-1].startswith("real-")
            and "Unexplained absences" not in c.body.get("text", "")
        ]
    finally:
        if not args.keep:
            drop_database(name)
    rows = [
        ("bare Bolt (ack only)", samples["bare"]),
        ("attendance bot: ack", samples["real"]),
        ("attendance bot: answer via response_url", answers),
    ]
    print(
        f"\n{args.concurrency} concurrent /absences, {args.rounds} rounds per app, "
        f"{args.schools} schools x {args.pupils} pupils, waitress threads={THREADS}\n"
    )
    print(f"{'':44} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for label, values in rows:
        if values:
            print(
                f"{label:44} {len(values):5d} {pct(values, 50):8.1f} {pct(values, 99):8.1f} "
                f"{max(values) * 1000:8.1f}"
            )
    ratio = pct(samples["real"], 99) / pct(samples["bare"], 99)
    ok = pct(samples["real"], 99) < 250 and ratio <= 1.5
    print(
        f"\np99 ack ratio (bot / bare): {ratio:.2f}  target: p99 < 250 ms and ratio <= 1.5 -> "
        f"{'MET' if ok else 'NOT MET'}"
    )
    out["results"] = {
        label: {
            "n": len(v),
            "p50_ms": round(pct(v, 50), 1),
            "p99_ms": round(pct(v, 99), 1),
            "mean_ms": round(statistics.fmean(v) * 1000, 1),
        }
        for label, v in rows
        if v
    }
    out["p99_ratio"] = round(ratio, 2)
    out["target_met"] = ok
    out["answer_errors"] = errors[:5]
    print(json.dumps(out, indent=2, default=str))


def _wait_answers(
    peer: SlackAPIPeer, sent_at: dict[str, float], *, timeout: float, prefix: str = "real-"
) -> None:
    deadline = time.monotonic() + timeout
    want = {k for k in sent_at if k.startswith(prefix)}
    while time.monotonic() < deadline:
        got = {c.path.split("/")[-1] for c in peer.calls_to("response")}
        if want <= got:
            return
        time.sleep(0.02)
    raise RuntimeError(f"{len(want - got)} answers did not arrive within {timeout}s")


def _answer_times(peer: SlackAPIPeer, sent_at: dict[str, float]) -> list[float]:
    """Seconds from sending each real command to its response_url post (both on the monotonic clock)."""
    times = []
    for c in peer.calls_to("response"):
        key = c.path.split("/")[-1]
        if key.startswith("real-") and key in sent_at:
            times.append(c.at - sent_at[key])
    return times


if __name__ == "__main__":
    main()
