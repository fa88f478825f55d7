"""Bringing open cases in line with the register as it is now, and the sender's pre-send check.

Marks change after register close (a trip code, a late arrival, the MIS catching up). Before a
message goes, and whenever the live register moves, each affected open case is re-read from the
marks: a pupil seen in school closes it, an N replaced by another code explains it, and a message
whose cases are none of them open any more is cancelled rather than sent.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func
from sqlmodel import Session, select

from bot import clock, codes
from bot.cases import service as cases
from storage.models import AbsenceCase, Mark, MessageCase, School

# Marks that show a pupil was seen in school (``cases.seen_in_school``).
SEEN_CODES = sorted(cases.SEEN_CODES)


def reconcile_case(session: Session, *, case: AbsenceCase, now: datetime, day: date) -> str | None:
    """Bring one open case in line with the register as it is now; returns what changed.

    A pupil seen in school after the case's latest unexplained session (``cases.seen_in_school``:
    per session, so a morning ``/`` never explains an afternoon ``N``) closes the case and chasing
    stops. An episode whose N marks have all been replaced in the MIS (a trip code after close,
    say) is explained by the mark. The sender calls this just before a message goes, so a late
    register change stops it.
    """
    if case.status != "open":
        return None
    if cases.seen_in_school(session, case=case, day=day):
        cases.close(session, case=case, reason="marked present", now=now)
        return "closed"
    if not cases.remaining_n(session, case=case):
        latest = session.exec(
            select(Mark.code)
            .where(
                Mark.pupil_id == case.pupil_id,
                Mark.date >= case.first_date,
                Mark.date <= case.last_absent_date,
            )
            .order_by(Mark.date.desc(), Mark.session.desc())
        ).first()
        if latest is not None and codes.category(latest) is codes.Category.PRESENT:
            cases.close(session, case=case, reason="marked present", now=now)
            return "closed"
        cases.explain(
            session, case=case, by="mark", code=latest, summary=f"Register now shows {latest}", now=now
        )
        return "explained"
    return None


def reconcile(session: Session, *, school: School, now: datetime) -> dict:
    """Reconcile every open case of a school with today's register."""
    day = clock.to_local(now, school.timezone).date()
    changed = {"closed": 0, "explained": 0}
    open_cases = session.exec(
        select(AbsenceCase).where(AbsenceCase.school_id == school.id, AbsenceCase.status == "open")
    ).all()
    for case in open_cases:
        outcome = reconcile_case(session, case=case, now=now, day=day)
        if outcome:
            changed[outcome] += 1
    return changed


def check_before_send(session: Session, *, message_ids: list[int], now: datetime) -> dict[int, str]:
    """The sender's pre-send check: which of these messages should no longer go, and why.

    The register is re-read first for the cases whose marks changed since register close (a trip
    code, a late arrival), which explains or closes them (``reconcile_case``); then any message
    whose cases are none of them open any more is to be cancelled. Messages about no case (staff
    emails, thank-yous) always go.
    """
    for case_id, tz in _cases_whose_register_changed(session, message_ids, now=now):
        case = session.get(AbsenceCase, case_id)
        reconcile_case(session, case=case, now=now, day=clock.to_local(now, tz).date())
    with_cases = session.exec(
        select(MessageCase.message_id, func.count(AbsenceCase.id))
        .join(
            AbsenceCase,
            and_(AbsenceCase.id == MessageCase.case_id, AbsenceCase.status == "open"),
            isouter=True,
        )
        .where(MessageCase.message_id.in_(message_ids))
        .group_by(MessageCase.message_id)
    ).all()
    return {message_id: "cases no longer open" for message_id, open_count in with_cases if open_count == 0}


def _cases_whose_register_changed(
    session: Session, message_ids: list[int], *, now: datetime
) -> list[tuple[int, str]]:
    """The open cases of these messages that ``reconcile_case`` would change, found in two queries.

    ``reconcile_case`` acts only when no N mark is left in the episode or the pupil was seen in
    school after the episode's latest unexplained session (``cases.seen_after_absence``: an AM
    ``/`` does not explain a PM ``N``); everything else is left alone. Checking that set-based first
    keeps a register close of thousands of texts from paying several queries per case. Returns
    (case id, the school's time zone) pairs.
    """
    rows = _open_cases_of(session, message_ids)
    if not rows:
        return []
    zone_of = {row.case_id: row.tz for row in rows}
    day_of = {row.case_id: clock.to_local(now, row.tz).date() for row in rows}
    changed = {row.case_id for row in rows if row.n_left == 0}
    changed |= _seen_since_absence(
        session, [row for row in rows if row.case_id not in changed], day_of=day_of
    )
    return [(case_id, zone_of[case_id]) for case_id in sorted(changed)]


@dataclass(frozen=True)
class _OpenCase:
    """One open case of the batch, with what the pre-send check needs to know about it."""

    case_id: int
    pupil_id: int
    tz: str
    first: tuple[date, str]  # the episode's first (date, session)
    n_left: int  # N marks still in the episode


def _open_cases_of(session: Session, message_ids: list[int]) -> list[_OpenCase]:
    """The open cases these messages are about, each with its N marks still in the episode counted.

    One statement for the whole batch. The status is filtered here, not in SQL: with it in the
    WHERE clause SQLite starts from the status index (every open case in the database) instead of
    from this batch's messages.
    """
    return [
        _OpenCase(case_id, pupil_id, tz, (first_date, first_session), n_left)
        for case_id, pupil_id, tz, status, first_date, first_session, n_left in session.execute(
            select(
                AbsenceCase.id,
                AbsenceCase.pupil_id,
                School.timezone,
                AbsenceCase.status,
                AbsenceCase.first_date,
                AbsenceCase.first_session,
                func.count(Mark.id),
            )
            .join(MessageCase, MessageCase.case_id == AbsenceCase.id)
            .join(School, School.id == AbsenceCase.school_id)
            .join(
                Mark,
                and_(
                    Mark.pupil_id == AbsenceCase.pupil_id,
                    Mark.code == "N",
                    Mark.date >= AbsenceCase.first_date,
                    Mark.date <= AbsenceCase.last_absent_date,
                ),
                isouter=True,
            )
            .where(MessageCase.message_id.in_(message_ids))
            .group_by(
                AbsenceCase.id,
                AbsenceCase.pupil_id,
                School.timezone,
                AbsenceCase.status,
                AbsenceCase.first_date,
                AbsenceCase.first_session,
            )
        ).all()
        if status == "open"
    ]


def _seen_since_absence(session: Session, rows: list[_OpenCase], *, day_of: dict[int, date]) -> set[int]:
    """The cases whose pupil was seen in school after the episode's latest unexplained session.

    Only pupils with a seen mark today can have been seen since their absence; their episodes'
    marks are then read in one query and checked session by session.
    """
    if not rows:
        return set()
    seen_today = set(
        session.execute(
            select(Mark.pupil_id, Mark.date).where(
                Mark.pupil_id.in_({row.pupil_id for row in rows}),
                Mark.date.in_(set(day_of.values())),
                Mark.code.in_(SEEN_CODES),
            )
        ).all()
    )
    candidates = [row for row in rows if (row.pupil_id, day_of[row.case_id]) in seen_today]
    if not candidates:
        return set()
    marks: dict[int, list] = {}
    for pupil_id, d, s, code in session.execute(
        select(Mark.pupil_id, Mark.date, Mark.session, Mark.code).where(
            Mark.pupil_id.in_({row.pupil_id for row in candidates}),
            Mark.date >= min(row.first[0] for row in candidates),
            Mark.date <= max(day_of.values()),
        )
    ).all():
        marks.setdefault(pupil_id, []).append((d, s, code))
    seen = set()
    for row in candidates:
        upto = [m for m in marks.get(row.pupil_id, []) if m[0] <= day_of[row.case_id]]
        if cases.seen_after_absence(upto, first=row.first):
            seen.add(row.case_id)
    return seen
