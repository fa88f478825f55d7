"""Every amendment since a date as CSV, for a school office that updates the MIS by hand.

Until write-back is configured (or for a change the MIS refused), the office types the bot's
changes into SIMS, Arbor or Bromcom itself. This is the list: which session, what it was, what it
became, why, who changed it and when (in the school's time), and whether the MIS has it already.
"""

import csv
from datetime import date, datetime, time
from typing import IO

from sqlalchemy import func
from sqlmodel import Session, select

from bot import clock
from storage.models import MarkAmendment, Pupil, School

COLUMNS = (
    "session_date",
    "session",
    "pupil_mis_id",
    "upn",
    "pupil",
    "class",
    "original_code",
    "amended_code",
    "reason",
    "amended_at",
    "amended_by",
    "role",
    "source",
    "written_back_at",
)


def amendments(
    session: Session, *, school: School, since: date, not_written_back: bool = False
) -> list[tuple[MarkAmendment, Pupil]]:
    start = clock.at_local(since, time(0, 0), school.timezone)
    query = (
        select(MarkAmendment, Pupil)
        .join(Pupil, Pupil.id == MarkAmendment.pupil_id)
        .where(MarkAmendment.school_id == school.id, MarkAmendment.amended_at >= start)
        .order_by(MarkAmendment.amended_at, MarkAmendment.id)
    )
    if not_written_back:
        # What the office still has to type in: the latest change of each mark, when the bot made it
        # and the MIS has not taken it (an earlier change of the same mark is superseded by it; a
        # change the MIS made itself is already there).
        latest = (
            select(func.max(MarkAmendment.id))
            .where(MarkAmendment.school_id == school.id)
            .group_by(MarkAmendment.mark_id)
        )
        query = query.where(
            MarkAmendment.written_back_at.is_(None),
            MarkAmendment.id.in_(latest),
            MarkAmendment.source.in_(("bot", "staff")),
        )
    return list(session.exec(query).all())


def write_csv(rows: list[tuple[MarkAmendment, Pupil]], *, school: School, out: IO[str]) -> int:
    def local(instant: datetime | None) -> str:
        return clock.to_local(instant, school.timezone).strftime("%Y-%m-%d %H:%M") if instant else ""

    writer = csv.writer(out, lineterminator="\r\n")  # CRLF: what Excel and the MIS importers expect
    writer.writerow(COLUMNS)
    for a, p in rows:
        writer.writerow(
            [
                a.date.isoformat(),
                a.session,
                p.mis_id,
                p.upn or "",
                f"{p.first_name} {p.last_name}",
                p.class_name or "",
                a.original_code,
                a.amended_code,
                a.reason,
                local(a.amended_at),
                a.amended_by_name,
                a.amended_by_role,
                a.source,
                local(a.written_back_at),
            ]
        )
    return len(rows)
