"""Build a trust-sized PostgreSQL database for benchmarks: schools, pupils and a year of marks.

``build_trust(url, schools=50, pupils_per_school=1000, marks_until=date(2027, 7, 21))`` gives
50,000 pupils and about 19 million marks, loaded with ``COPY`` (the mark indexes are dropped during
the load and rebuilt after). Reusable by any benchmark::

    from bench.trust import build_trust
    info = build_trust(url, marks_until=date(2027, 7, 16))

Marks are deterministic for a seed. Each pupil has an absence propensity (most low, some high, a
few very high) so persistent/severe lists and thresholds are realistic; ``n_rate`` is the trust's
average share of sessions missed. Unexplained absences in the last five school days are ``N``;
older ones are already ``O`` (the daily sweep would have recoded them).
"""

import io
import os
import random
from datetime import UTC, date, datetime, time

from sqlalchemy import create_engine, text
from sqlmodel import Session, select

from bot.policy import DEFAULT_LADDER
from bot.typical_calendar import SPANS_2026_27, calendar_2026_27
from storage import migrate
from storage.db import make_engine
from storage.models import School, SchoolPolicy

CLASSES_PER_YEAR = 2
YEARS = range(0, 7)  # Reception to Year 6
# (share of pupils, multiple of the average absence rate)
PROPENSITY = [(0.80, 0.55), (0.15, 2.2), (0.05, 5.0)]
# What an absence is, given it is one.
ABSENCE_CODES = [("I", 0.55), ("O", 0.15), ("M", 0.10), ("G", 0.08), ("U", 0.05), ("C", 0.04), ("E", 0.03)]


ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def bench_database(name: str, *, fresh: bool = False) -> tuple[str, bool]:
    """The URL of PostgreSQL database ``name``, created if missing (or ``fresh``): (url, created)."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if exists and fresh:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            exists = None
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name, not exists


def drop_database(name: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        buf = io.StringIO()
        for n, row in enumerate(rows, start=1):
            buf.write("\t".join("\\N" if v is None else str(v) for v in row))
            buf.write("\n")
            if n % 200_000 == 0:
                cp.write(buf.getvalue())
                buf = io.StringIO()
        cp.write(buf.getvalue())


def _pick(rng: random.Random, table: list[tuple[str, float]]) -> str:
    x, acc = rng.random(), 0.0
    for value, weight in table:
        acc += weight
        if x < acc:
            return value
    return table[-1][0]


def _propensity(rng: random.Random) -> float:
    x, acc = rng.random(), 0.0
    for share, multiple in PROPENSITY:
        acc += share
        if x < acc:
            return multiple
    return PROPENSITY[-1][1]


def build_trust(
    url: str,
    *,
    schools: int = 50,
    pupils_per_school: int = 1000,
    marks_until: date = date(2027, 7, 21),
    n_rate: float = 0.06,
    seed: int = 2026,
) -> dict:
    """Create (migrate) and fill the database at ``url``; returns counts. The database must be empty."""
    assert url.startswith("postgresql"), "the trust benchmark runs on PostgreSQL"
    migrate.upgrade(url)
    cal = calendar_2026_27()
    days = cal.school_days_between(cal.first_day, marks_until)
    recent = set(days[-5:])
    rng = random.Random(seed)
    engine = make_engine(url)
    stamp = datetime.combine(days[0], time(9, 0), tzinfo=UTC).isoformat()
    with Session(engine) as session:
        if session.exec(select(School.id)).first() is not None:
            raise RuntimeError("build_trust needs an empty database")
        for n in range(1, schools + 1):
            session.add(
                School(
                    id=n,
                    urn=f"9{n:05d}",
                    name=f"Trust School {n}",
                    dsl_email=f"dsl{n}@trust.example",
                    attendance_lead_email=f"lead{n}@trust.example",
                )
            )
        session.flush()
        session.add_all(
            SchoolPolicy(school_id=n, escalation_ladder=[dict(x) for x in DEFAULT_LADDER])
            for n in range(1, schools + 1)
        )
        session.execute(text("SELECT setval('school_id_seq', :n)"), {"n": schools})
        session.commit()
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            _copy(
                cur,
                "calendarentry",
                ["school_id", "kind", "start_date", "end_date", "name"],
                (
                    (n, sp.kind, sp.start, sp.end, sp.name)
                    for n in range(1, schools + 1)
                    for sp in SPANS_2026_27
                ),
            )
            per_class = max(1, pupils_per_school // (len(YEARS) * CLASSES_PER_YEAR))
            pupils = []
            pid = 0
            for s in range(1, schools + 1):
                for i in range(pupils_per_school):
                    pid += 1
                    year = YEARS[min(i // (per_class * CLASSES_PER_YEAR), len(YEARS) - 1)]
                    cls = f"{'R' if year == 0 else year}{'AB'[(i // per_class) % CLASSES_PER_YEAR]}"
                    pupils.append(
                        (
                            pid,
                            s,
                            f"M{pid}",
                            "Pupil",
                            f"{pid:06d}",
                            year,
                            cls,
                            rng.random() < 0.02,
                            rng.random() < 0.03,
                        )
                    )
            _copy(
                cur,
                "pupil",
                [
                    "id",
                    "school_id",
                    "mis_id",
                    "first_name",
                    "last_name",
                    "year_group",
                    "class_name",
                    "has_social_worker",
                    "child_protection",
                    "looked_after",
                    "send_ehcp",
                    "young_carer",
                    "has_yot_worker",
                    "free_school_meals",
                    "on_roll",
                ],
                (
                    (p, s, m, f, last, y, c, sw, False, False, eh, False, False, False, True)
                    for p, s, m, f, last, y, c, sw, eh in pupils
                ),
            )
            cur.execute("SELECT setval('pupil_id_seq', %s)", (pid,))
            # Load the marks without their indexes and foreign keys (a per-row check each), then
            # build and validate them once over the whole table.
            cur.execute("ALTER TABLE mark DROP CONSTRAINT IF EXISTS uq_mark_session")
            cur.execute("ALTER TABLE mark DROP CONSTRAINT IF EXISTS mark_pupil_id_fkey")
            cur.execute("ALTER TABLE mark DROP CONSTRAINT IF EXISTS mark_school_id_fkey")
            cur.execute("DROP INDEX IF EXISTS ix_mark_school_date")

            with cur.copy(
                "COPY mark (school_id, pupil_id, date, session, code, source, recorded_at) FROM STDIN"
            ) as cp:
                day_text = [(d.isoformat(), d in recent) for d in days]
                tail = f"\tmis\t{stamp}\n"
                for p, s, *_ in pupils:
                    rate = n_rate * _propensity(rng)
                    head = f"{s}\t{p}\t"
                    lines = []
                    for d, is_recent in day_text:
                        for name, present in (("AM", "/"), ("PM", "\\\\")):
                            if rng.random() >= rate:
                                code = present
                            else:
                                code = _pick(rng, ABSENCE_CODES)
                                if code == "O" and is_recent:
                                    code = "N"
                            lines.append(f"{head}{d}\t{name}\t{code}{tail}")
                    cp.write("".join(lines))
            cur.execute("ALTER TABLE mark ADD CONSTRAINT uq_mark_session UNIQUE (pupil_id, date, session)")
            cur.execute(
                "CREATE INDEX ix_mark_school_date ON mark (school_id, date, session) INCLUDE (pupil_id, code)"
            )  # as storage.models declares it
            cur.execute(
                "ALTER TABLE mark ADD CONSTRAINT mark_pupil_id_fkey FOREIGN KEY (pupil_id)"
                " REFERENCES pupil (id)"
            )
            cur.execute(
                "ALTER TABLE mark ADD CONSTRAINT mark_school_id_fkey FOREIGN KEY (school_id)"
                " REFERENCES school (id)"
            )
    # VACUUM, not just ANALYZE: it sets the visibility map, without which the tallies' index-only
    # scans visit the table anyway. (In production autovacuum does this after bulk inserts.)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    with engine.begin() as conn:
        n_marks = conn.execute(text("SELECT count(*) FROM mark")).scalar()
    engine.dispose()
    return {
        "schools": schools,
        "pupils": pid,
        "marks": n_marks,
        "school_days": len(days),
        "first_day": days[0].isoformat(),
        "last_day": days[-1].isoformat(),
    }
