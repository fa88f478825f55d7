"""Attendance arithmetic in SQL: per-pupil tallies for date ranges in one GROUP BY over the marks.

The code lists come from ``bot.codes`` (the one table of categories), so a change in the
regulations changes these sums too. Marks are never loaded into Python: a school's year of marks
(~380,000 rows) becomes one row per pupil.
"""

from datetime import date

from sqlalchemy import and_, case, func, literal
from sqlmodel import Session, select

from bot import codes
from bot.attendance import Tally, tally
from storage.models import Mark

ATTENDED = sorted(codes.PRESENT_CODES)
AUTHORISED = sorted(c for c, k in codes.CODES.items() if k.category is codes.Category.AUTHORISED)
UNAUTHORISED = sorted(codes.UNAUTHORISED)
POSSIBLE = sorted(c for c, k in codes.CODES.items() if k.category is not codes.Category.NOT_POSSIBLE)


def pupil_tallies(
    session: Session,
    *,
    school_id: int,
    ranges: dict[str, tuple[date, date]],
    counts: dict[str, tuple[list[str], date, date]] | None = None,
) -> dict[int, dict]:
    """``{pupil_id: {range_name: Tally, count_name: int}}`` in one query.

    ``ranges`` name date spans to tally (e.g. ``week``, ``ytd``); ``counts`` name extra session
    counts of some codes in a span (e.g. unauthorised sessions in the penalty window).

    The marks are first grouped by (pupil, code) with one filtered count per span, a cheap hash
    aggregate over a few grouping keys; the category sums then run over those few thousand rows,
    not over every mark. On PostgreSQL the marks are read from the covering ``ix_mark_school_date``
    alone (an index-only scan).
    """
    counts = counts or {}
    spans = {**ranges, **{name: (s, e) for name, (_, s, e) in counts.items()}}
    lo, hi = min(s for s, _ in spans.values()), max(e for _, e in spans.values())
    in_span = [
        func.count().filter(and_(Mark.date >= s, Mark.date <= e)).label(f"in_{i}")
        for i, (s, e) in enumerate(spans.values())
    ]
    inner = (
        select(Mark.pupil_id.label("pupil_id"), Mark.code.label("code"), *in_span)
        .where(Mark.school_id == school_id, Mark.date >= lo, Mark.date <= hi)
        .group_by(Mark.pupil_id, Mark.code)
        .subquery()
    )
    index = {name: i for i, name in enumerate(spans)}

    def total(codes_in: list[str], name: str):
        return func.sum(case((inner.c.code.in_(codes_in), inner.c[f"in_{index[name]}"]), else_=literal(0)))

    cols = []
    for name in ranges:
        cols += [
            total(POSSIBLE, name).label(f"{name}__possible"),
            total(ATTENDED, name).label(f"{name}__attended"),
            total(AUTHORISED, name).label(f"{name}__authorised"),
            total(UNAUTHORISED, name).label(f"{name}__unauthorised"),
        ]
    for name, (codes_in, _, _) in counts.items():
        cols.append(total(codes_in, name).label(f"{name}__n"))
    rows = session.exec(select(inner.c.pupil_id, *cols).group_by(inner.c.pupil_id)).all()
    return {row[0]: _tally_entry(row._mapping, ranges=ranges, counts=counts) for row in rows}


def _tally_entry(values, *, ranges: dict, counts: dict) -> dict:
    """One pupil's row of the query as ``{range_name: Tally, count_name: int}`` (a missing sum is 0)."""
    entry: dict = {}
    for name in ranges:
        entry[name] = Tally(
            *(
                int(values[f"{name}__{k}"] or 0)
                for k in ("possible", "attended", "authorised", "unauthorised")
            )
        )
    for name in counts:
        entry[name] = int(values[f"{name}__n"] or 0)
    return entry


def academic_year_start(day: date) -> date:
    """1 September of the school year ``day`` falls in (English school years run Sept–July)."""
    return date(day.year if day.month >= 9 else day.year - 1, 9, 1)


def tallies_from(session: Session, *, starts: dict[int, date], until: date) -> dict[int, Tally]:
    """Each pupil's tally from their own first day (``starts``) to ``until``, in one query.

    For the few pupils who became of compulsory school age during the year (Reception, Year 1):
    persistent absence is measured over the sessions since then, not the whole year.
    """
    if not starts:
        return {}
    rows = session.exec(
        select(Mark.pupil_id, Mark.date, Mark.code).where(
            Mark.pupil_id.in_(sorted(starts)), Mark.date >= min(starts.values()), Mark.date <= until
        )
    ).all()
    by_pupil: dict[int, list[str]] = {pid: [] for pid in starts}
    for pid, day, code in rows:
        if day >= starts[pid]:
            by_pupil[pid].append(code)
    return {pid: tally(found) for pid, found in by_pupil.items()}
