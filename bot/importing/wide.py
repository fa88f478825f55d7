"""The register as MIS reports print it: one row per pupil, one column per session.

SIMS, Arbor and Bromcom attendance reports ("register", "attendance marks for a date range") put
each session in its own column, headed with its date and AM/PM: ``Mon 23/11/2026 AM``,
``23/11/2026 PM``, ``2026-11-23 (AM)``. ``to_long`` turns such a file into the marks format (one
row per pupil and session) before it is checked, so every rule of the marks import applies and a
bad cell is reported with its line and its column. Blank cells and ``-`` (no mark yet) are skipped.
"""

import re
from datetime import date

from bot.importing.cells import day

_SESSION = re.compile(
    r"^(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?[\s,]+)?(?P<date>.+?)[\s:_\-]*\(?(?P<session>am|pm)\)?$",
    re.IGNORECASE,
)
NO_MARK = {"", "-"}


def session_column(header: str) -> tuple[date, str] | None:
    """``Mon 23/11/2026 AM`` -> (2026-11-23, "AM"); None for any other header."""
    m = _SESSION.match(header.strip())
    if not m:
        return None
    try:
        return day(m["date"].strip(" ,:-_")), m["session"].upper()
    except ValueError:
        return None


def session_columns(raw_header: list[str]) -> dict[int, tuple[date, str]]:
    return {i: found for i, h in enumerate(raw_header) if (found := session_column(h)) is not None}


def to_long(
    id_index: int, columns: dict[int, tuple[date, str]], raw_header: list[str], rows: list[tuple[int, list]]
) -> list[tuple[int, list, str]]:
    """Rows of the wide register -> (line, [pupil id, date, session, code], column label) rows."""
    out: list[tuple[int, list, str]] = []
    for line, cells in rows:
        pupil = cells[id_index].strip() if id_index < len(cells) else ""
        for i, (when, session) in columns.items():
            cell = cells[i].strip() if i < len(cells) else ""
            if cell in NO_MARK:
                continue
            out.append((line, [pupil, when.isoformat(), session, cell], raw_header[i].strip()))
    return out
