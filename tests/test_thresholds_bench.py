"""The benchmark's trust builder (``bench/trust.py``) makes a valid database the sweeps can run on."""

from datetime import date, time

from sqlalchemy import text

from bench.trust import build_trust
from bot import clock
from bot.jobs import run_job
from tests import factories


def test_build_small_trust_and_sweep_it(pg_engine, postgres_url):
    info = build_trust(postgres_url, schools=2, pupils_per_school=30, marks_until=date(2026, 10, 9))
    assert info["schools"] == 2 and info["pupils"] == 60
    assert info["marks"] == 60 * info["school_days"] * 2 and info["last_day"] == "2026-10-09"
    with pg_engine.connect() as conn:
        constraints = {
            r[0]
            for r in conn.execute(text("SELECT conname FROM pg_constraint WHERE conrelid = 'mark'::regclass"))
        }
        n_codes = conn.execute(text("SELECT count(*) FROM mark WHERE code = 'N'")).scalar()
        old_n = conn.execute(
            text("SELECT count(*) FROM mark WHERE code = 'N' AND date < '2026-10-05'")
        ).scalar()
    assert {"uq_mark_session", "mark_pupil_id_fkey", "mark_school_id_fkey"} <= constraints
    assert n_codes > 0 and old_n == 0  # only the last five school days still wait for a reason
    [(school, result)] = run_job(
        "statutory-sweep",
        pg_engine,
        factories.settings(),
        now=clock.at_local(date(2026, 10, 9), time(14, 0)),
        schools=None,
    )[:1]
    assert school.id == 1 and result["tier_changes"] == 30
