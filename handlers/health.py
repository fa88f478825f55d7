"""``GET /healthz``: is the deployment doing its job? ``GET /livez``: is this web process up?

``/healthz`` answers 503, with the reasons, when the bot would fail families or staff silently:

- the database does not answer;
- the clock process never started, or its heartbeat is older than ``CLOCK_STALE_SECONDS`` (nothing
  is texted, chased or escalated while it is down, though the web app still looks fine);
- alerts have waited for delivery longer than their school's re-alert interval (Slack or Teams is
  refusing them, or the clock's delivery job is not running);
- a delivery provider (Twilio, the SMTP relay) has been failing for five minutes: families' messages
  are held and retried, nobody is blamed, and the operators are the ones who can act;
- an alert to the operators is open (``bot.alerts.ops``: a register close that has not completed
  some minutes after its time);
- with a mailbox to read (``IMAP_*``), it has not been read for ten minutes (families' email replies
  would go unseen and they would be chased).

Load balancers that only need to know the process answers use ``/livez``, which is always 200.
"""

from datetime import datetime, timedelta

from flask import Flask, jsonify
from sqlalchemy import func, text
from sqlmodel import Session, select

from bot import clock
from bot.alerts.ops import open_ops_alerts
from bot.mail.service import health as mailbox_health
from bot.messaging.health import provider_problems
from handlers import deps
from storage.models import Alert, ClockLease, SchoolPolicy

CLOCK_STALE_SECONDS = 180  # the clock beats every few seconds; minutes without one mean it is gone
DEFAULT_REALERT_MINUTES = 120


def problems(session: Session, *, now: datetime) -> tuple[dict, list[str]]:
    """(facts for the body, reasons the deployment is unhealthy). Reads only; never raises on data."""
    facts: dict = {}
    found: list[str] = []
    lease = session.exec(select(ClockLease).where(ClockLease.name == "clock")).first()
    if lease is None:
        facts["clock"] = "never started"
        found.append("the clock process has never started (run `attendance-bot clock`)")
    else:
        age = (now - lease.heartbeat_at).total_seconds()
        facts["clock"] = "ok" if age <= CLOCK_STALE_SECONDS else "stale"
        facts["clock_heartbeat_at"] = lease.heartbeat_at.isoformat()
        facts["clock_heartbeat_age_seconds"] = int(age)
        if age > CLOCK_STALE_SECONDS:
            found.append(f"the clock's last heartbeat was {int(age)} s ago: is the clock process running?")
    waiting = session.exec(
        select(Alert.school_id, func.coalesce(Alert.last_raised_at, Alert.created_at)).where(
            Alert.delivered_at.is_(None)
        )
    ).all()
    limits = dict(session.exec(select(SchoolPolicy.school_id, SchoolPolicy.realert_after_minutes)).all())
    late = sum(
        1
        for school_id, since in waiting
        if now - since > timedelta(minutes=limits.get(school_id) or DEFAULT_REALERT_MINUTES)
    )
    facts["alerts_waiting"] = len(waiting)
    for_operators = open_ops_alerts(session)  # e.g. a register close not done 20 min after its time
    facts["ops_alerts_open"] = len(for_operators)
    found += [a.title for a in for_operators]
    provider_facts, provider_found = provider_problems(session, now=now)
    facts.update(provider_facts)
    found += provider_found
    if late:
        found.append(
            f"{late} alert(s) have waited for delivery longer than their school's re-alert "
            "interval: check the Slack / Teams settings and the clock"
        )
    return facts, found


def register(app: Flask) -> None:
    @app.get("/livez")
    def livez():
        return jsonify({"status": "ok"}), 200

    @app.get("/healthz")
    def healthz():
        now = clock.now()
        try:
            with deps.db() as session:
                session.exec(text("SELECT 1"))
                facts, found = problems(session, now=now)
                mail_facts, mail_problem = mailbox_health(session, settings=deps.settings(), now=now)
                facts.update(mail_facts)
                found += [mail_problem] if mail_problem else []
        except Exception:  # the health check must answer, whatever is wrong
            return jsonify(
                {"status": "error", "database": "unreachable", "problems": ["the database does not answer"]}
            ), 503
        body = {"status": "error" if found else "ok", "database": "ok", **facts}
        if found:
            body["problems"] = found
        return jsonify(body), 503 if found else 200
