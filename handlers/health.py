"""``GET /healthz``: the database answers, and when the clock last beat."""

from flask import Flask, jsonify
from sqlalchemy import text
from sqlmodel import select

from bot import clock
from handlers import deps
from storage.models import ClockLease

CLOCK_STALE_SECONDS = 180


def register(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        body: dict = {"status": "ok"}
        try:
            with deps.db() as session:
                session.exec(text("SELECT 1"))
                lease = session.exec(select(ClockLease).where(ClockLease.name == "clock")).first()
        except Exception:  # the health check must answer, whatever is wrong
            return jsonify({"status": "error", "database": "unreachable"}), 503
        body["database"] = "ok"
        if lease is None:
            body["clock"] = "never started"
        else:
            age = (clock.now() - lease.heartbeat_at).total_seconds()
            body["clock"] = "ok" if age <= CLOCK_STALE_SECONDS else "stale"
            body["clock_heartbeat_at"] = lease.heartbeat_at.isoformat()
            body["clock_heartbeat_age_seconds"] = int(age)
        return jsonify(body), 200
