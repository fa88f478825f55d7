"""Sending the write-back queue to the MIS, and recording what it answered.

For each school with changes due, the sender first reads the register once more: a mark the MIS
changed since the bot last read it is taken then (the MIS wins, its queued write-back becomes a
``conflict`` and staff are told, ``bot.register.service.mis_wins``), so it is never overwritten.
What is left goes in one ``POST .../attendance/session`` per hundred changes:

- 200 ``{"writeback_id"}``: the rows are ``sent`` and the audit rows record when and the id; the
  next read of the register that shows the code makes them ``confirmed``;
- 422: the rows the MIS refused are ``rejected`` and the attendance officer sees the MIS's reason
  in chat (the change stays in the bot and its audit; the office enters it by hand);
- 429, 5xx, timeouts, refused connections: nothing is lost; the rows wait (``Retry-After``, else
  backoff) and the outage is recorded, telling staff only if it lasts.

Sending twice is harmless (writing the same code to a session again changes nothing), so a row
left ``sending`` by a crash is simply sent again after a few minutes.
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.alerts.service import raise_alert
from bot.mis.client import MisBusy, MisError, MisRejected, WondeClient
from bot.mis.connection import client_for, linked, record_failure, state
from bot.mis.marks import read_marks
from bot.settings import Settings
from bot.summary import JobSummary
from storage.db import session_scope
from storage.models import MarkAmendment, MisWriteback, Pupil, School

log = logging.getLogger(__name__)

BATCH = 100
STUCK_AFTER = timedelta(minutes=10)  # a row left "sending" by a crash is sent again after this
BACKOFF = (1, 2, 5, 10, 15)  # minutes between attempts while the MIS does not answer


def _due(now: datetime):
    return or_(
        (MisWriteback.status == "queued") & (MisWriteback.next_attempt_at <= now),
        (MisWriteback.status == "sending") & (MisWriteback.updated_at <= now - STUCK_AFTER),
    )


def send_due(
    engine: Engine, *, settings: Settings, now: datetime, clients: dict[int, WondeClient] | None = None
) -> JobSummary:
    """The clock's write-back job: every school with changes due, one school at a time."""
    with Session(engine) as session:
        school_ids = session.exec(select(MisWriteback.school_id).where(_due(now)).distinct()).all()
        schools = [session.get(School, sid) for sid in sorted(school_ids)]
    if not schools:
        return JobSummary.skip("nothing to write back")
    total = JobSummary(counts={"sent": 0, "rejected": 0, "waiting": 0})
    for school in schools:
        if not linked(school, settings):
            total = total + JobSummary(counts={"waiting": 1})
            continue
        total = total + send_school(
            engine, school=school, settings=settings, now=now, client=(clients or {}).get(school.id)
        )
    return total


def send_school(
    engine: Engine, *, school: School, settings: Settings, now: datetime, client: WondeClient | None = None
) -> JobSummary:
    client = client or client_for(school, settings)
    try:
        read_marks(engine, school=school, settings=settings, now=now, client=client)
    except MisError as exc:
        return _postpone(engine, school=school, error=exc, settings=settings, now=now)
    records, rows = _claim(engine, school=school, now=now)
    counts = {"sent": 0, "rejected": 0, "waiting": 0}
    for start in range(0, len(rows), BATCH):
        batch_rows, batch_records = rows[start : start + BATCH], records[start : start + BATCH]
        outcome = _send(
            engine,
            school=school,
            client=client,
            rows=batch_rows,
            records=batch_records,
            settings=settings,
            now=now,
        )
        for name, n in outcome.items():
            counts[name] = counts.get(name, 0) + n
        if outcome.get("waiting"):
            # The MIS stopped answering: leave the rest queued as they are.
            _release(engine, ids=[r for r in rows[start + BATCH :]], now=now)
            break
    return JobSummary(counts=counts)


def _claim(engine: Engine, *, school: School, now: datetime) -> tuple[list[dict], list[int]]:
    """Mark the school's due rows ``sending`` and build the records to send: (records, row ids).

    Only the latest change of a mark is sent (older ones are ``superseded``); a change that cannot
    be sent (pupil not linked to Wonde, a code the MIS does not have) is ``rejected`` at once.
    """
    with session_scope(engine) as session:
        link = state(session, school.id)
        code_ids = {national: code_id for code_id, national in (link.codes or {}).items() if national}
        query = select(MisWriteback).where(MisWriteback.school_id == school.id, _due(now))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        due = sorted(session.exec(query).all(), key=lambda r: r.amendment_id)
        latest = {}
        for row in due:
            if row.mark_id in latest:
                _finish(
                    session, latest[row.mark_id], "superseded", now=now, error="a later change of the mark"
                )
            latest[row.mark_id] = row
        wonde_ids = dict(
            session.exec(
                select(Pupil.id, Pupil.wonde_id).where(Pupil.id.in_([r.pupil_id for r in latest.values()]))
            ).all()
        )
        records, ids = [], []
        for row in latest.values():
            problem = None
            if not wonde_ids.get(row.pupil_id):
                problem = "the pupil is not linked to a Wonde student yet (run attendance-bot mis sync)"
            elif row.code not in code_ids:
                problem = f"the MIS has no attendance code {row.code}"
            if problem:
                _reject(session, school=school, row=row, reason=problem, now=now)
                continue
            record = {
                "student_id": wonde_ids[row.pupil_id],
                "date": row.date.isoformat(),
                "session": row.session,
                "attendance_code_id": code_ids[row.code],
                "comment": row.comment,
            }
            if row.minutes_late:
                record["minutes_late"] = row.minutes_late
            records.append(record)
            ids.append(row.id)
            row.status, row.updated_at = "sending", now
            session.add(row)
    return records, ids


def _send(
    engine: Engine,
    *,
    school: School,
    client: WondeClient,
    rows: list[int],
    records: list[dict],
    settings: Settings,
    now: datetime,
) -> dict[str, int]:
    try:
        writeback_id = client.write_session_marks(school.wonde_id, records)
    except MisRejected as exc:
        return _rejected(
            engine,
            school=school,
            client=client,
            rows=rows,
            records=records,
            error=exc,
            settings=settings,
            now=now,
        )
    except MisError as exc:
        _postpone(engine, school=school, error=exc, settings=settings, now=now, ids=rows)
        return {"waiting": len(rows)}
    with session_scope(engine) as session:
        for row_id in rows:
            row = session.get(MisWriteback, row_id)
            row.attempts += 1
            _finish(session, row, "sent", now=now)
            row.sent_at, row.writeback_id = now, writeback_id
            amendment = session.get(MarkAmendment, row.amendment_id)
            amendment.written_back_at, amendment.writeback_id = now, writeback_id
            session.add(amendment)
    log.info("mis: school %s wrote back %d changes (writeback %s)", school.id, len(rows), writeback_id)
    return {"sent": len(rows)}


def _rejected(
    engine: Engine,
    *,
    school: School,
    client: WondeClient,
    rows: list[int],
    records: list[dict],
    error: MisRejected,
    settings: Settings,
    now: datetime,
) -> dict[str, int]:
    """A 422: reject the changes the MIS refused (telling staff why) and send the rest again."""
    refused = {i: reason for i, reason in error.by_index().items() if i < len(rows)}
    if not refused and len(rows) > 1:
        # The MIS did not say which change it refused: send them one by one to find out.
        out: dict[str, int] = defaultdict(int)
        for row_id, record in zip(rows, records, strict=True):
            for name, n in _send(
                engine,
                school=school,
                client=client,
                rows=[row_id],
                records=[record],
                settings=settings,
                now=now,
            ).items():
                out[name] += n
        return dict(out)
    refused = refused or {0: str(error).removeprefix("the MIS refused the change: ")}
    with session_scope(engine) as session:
        for i in refused:
            row = session.get(MisWriteback, rows[i])
            _reject(session, school=school, row=row, reason=refused[i], now=now)
    out = {"rejected": len(refused)}
    rest = [i for i in range(len(rows)) if i not in refused]
    if rest:
        for name, n in _send(
            engine,
            school=school,
            client=client,
            rows=[rows[i] for i in rest],
            records=[records[i] for i in rest],
            settings=settings,
            now=now,
        ).items():
            out[name] = out.get(name, 0) + n
    return out


def _finish(
    session: Session, row: MisWriteback, status: str, *, now: datetime, error: str | None = None
) -> None:
    row.status, row.updated_at = status, now
    if error is not None:
        row.error = error
    session.add(row)


def _reject(session: Session, *, school: School, row: MisWriteback, reason: str, now: datetime) -> None:
    """The MIS will not take this change: say why to the attendance officer, once."""
    _finish(session, row, "rejected", now=now, error=reason[:500])
    pupil = session.get(Pupil, row.pupil_id)
    amendment = session.get(MarkAmendment, row.amendment_id)
    body = (
        f"The bot changed {pupil.first_name} {pupil.last_name}'s {row.date:%a %d %b} {row.session} mark "
        f"from {amendment.original_code} to {row.code} "
        f"({amendment.amended_by_name}: {amendment.reason}). "
        f"The MIS refused to take the change: {reason}.\nThe change stands in the bot and its audit; "
        "enter it in the MIS by hand (attendance-bot export amendments lists it), or correct it here."
    )
    raise_alert(
        session,
        school_id=school.id,
        key=f"mis-rejected:{row.id}",
        kind="mis_writeback_rejected",
        audience="attendance",
        severity="high",
        pupil_id=pupil.id,
        title=f"The MIS refused a change: {pupil.first_name} {pupil.last_name}, "
        f"{row.date:%a %d %b} {row.session} → {row.code}",
        body=body,
        data={"actions": ["acknowledge"], "reason": reason, "writeback": row.id},
        now=now,
    )


def _postpone(
    engine: Engine,
    *,
    school: School,
    error: MisError,
    settings: Settings,
    now: datetime,
    ids: list[int] | None = None,
) -> JobSummary:
    """The MIS did not answer: the rows wait (nothing is lost) and the outage is recorded."""
    record_failure(engine, school=school, error=error, settings=settings, now=now)
    with session_scope(engine) as session:
        query = select(MisWriteback).where(MisWriteback.school_id == school.id)
        query = query.where(MisWriteback.id.in_(ids)) if ids is not None else query.where(_due(now))
        rows = session.exec(query).all()
        for row in rows:
            row.attempts += 1
            if isinstance(error, MisBusy):
                wait = timedelta(seconds=error.retry_after)
            else:
                wait = timedelta(minutes=BACKOFF[min(row.attempts, len(BACKOFF)) - 1])
            row.status, row.next_attempt_at, row.updated_at = "queued", now + wait, now
            row.error = str(error)[:500]
            session.add(row)
    log.warning("mis: school %s write-back postponed (%d changes): %s", school.id, len(rows), error)
    return JobSummary(counts={"sent": 0, "rejected": 0, "waiting": len(rows)})


def _release(engine: Engine, *, ids: list[int], now: datetime) -> None:
    if not ids:
        return
    with session_scope(engine) as session:
        for row in session.exec(select(MisWriteback).where(MisWriteback.id.in_(ids))).all():
            row.status, row.updated_at = "queued", now
            session.add(row)
