"""Import a school's data from CSV: all or nothing, every bad row reported with its line number.

The import runs in two passes. The first reads the whole file, parses every cell, and checks every
row against the file and the database, writing nothing; if any row is bad the result carries every
problem and the session is untouched. The second pass writes everything with bulk statements (a
term of marks is tens of thousands of rows). The caller owns the transaction: commit after an
import with no errors (``storage.db.session_scope`` does it).

Rows are matched on their ids (``mis_id``, ``staff_code``, (pupil, date, session), (kind, start
date)), so importing the same file twice creates nothing the second time.

The three steps live apart: ``read`` (bytes to parsed rows), ``validate`` (every check, writing
nothing; each kind returns a plan) and ``write`` (each kind's plan written); ``rows`` holds what
they share. This module keeps the public entry point and the list of kinds.
"""

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlmodel import Session, select

from bot.errors import NotFound, UserError
from bot.importing import aliases, read, validate, write
from bot.importing.formats import FORMATS
from bot.importing.rows import ImportResult, Job, Progress, Row, RowError
from storage.models import School

__all__ = ["KINDS", "ImportResult", "Progress", "RowError", "import_file"]

Check = Callable[[Job, list[Row]], Any]
Write = Callable[[Job, Any, Progress], None]

# Each kind of file: its checks (returning a plan) and the write of that plan.
KINDS: dict[str, tuple[Check, Write]] = {
    "schools": (validate.schools, write.schools),
    "calendar": (validate.calendar, write.calendar),
    "staff": (validate.staff, write.staff),
    "pupils": (validate.pupils, write.pupils),
    "contacts": (validate.contacts, write.contacts),
    "marks": (validate.marks, write.marks),
}


def import_file(
    session: Session,
    *,
    kind: str,
    path_or_stream: str | Path | IO,
    school_urn: str | None = None,
    progress: Progress | None = None,
    mapping: list[str] | tuple[str, ...] = (),
    now: datetime,
) -> ImportResult:
    """Validate a whole CSV file, then write it, or write nothing and return every bad row.

    ``mapping``: ``COLUMN=FIELD`` pairs naming which of the file's columns holds which field, over
    the MIS header aliases (``bot.importing.aliases``). Raises ``UserError`` for a wrong call
    (unknown kind or school, a bad mapping); problems in the file are returned in
    ``ImportResult.errors``.
    """
    fmt = FORMATS.get(kind)
    if fmt is None:
        raise UserError(f"'{kind}' is not a kind of file I import (use one of: {', '.join(FORMATS)})")
    columns = aliases.parse_mapping(mapping, kind=kind, names=fmt.names)
    school = None
    if fmt.needs_school:
        if not school_urn:
            raise UserError(f"Say which school the {kind} belong to: --school URN.")
        school = session.exec(select(School).where(School.urn == str(school_urn).strip())).first()
        if school is None:
            raise NotFound(f"No school with URN {school_urn}: import it first with the schools file.")
    elif school_urn:
        raise UserError("A schools file names its own schools by URN: leave out --school.")

    result = ImportResult(kind=kind)
    notify = progress or (lambda _stage, _done, _total: None)
    try:
        header, rows = read.read(fmt, path_or_stream, result, columns)
    except read.Invalid:
        return result
    parsed, rejected = read.parse_rows(fmt, header, rows, result, notify)
    validate.check_duplicates(fmt, parsed, result, rejected=rejected)
    check, write_plan = KINDS[kind]
    job = Job(session=session, school=school, header=header, result=result, now=now)
    plan = check(job, parsed)
    if result.errors:
        result.errors.sort(key=lambda e: e.line)
        return result
    write_plan(job, plan, notify)
    session.flush()
    return result
