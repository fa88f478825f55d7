"""Opening, explaining and closing absence cases, and the append-only case log.

A case opens at the first N of an episode and snapshots the escalation ladder in force. It is
*explained* when a reason arrives (a parent's reply, a call, a recode) and *closed* when the pupil
is seen in school or staff close it. Chasing and escalation act only on open cases.
"""

from datetime import date, datetime

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import codes
from bot.actors import SYSTEM, Actor
from bot.policy import ladder, policy_for
from storage.models import AbsenceCase, CaseEvent, Mark, MarkAmendment, Pupil


def log(
    session: Session,
    *,
    school_id: int,
    kind: str,
    summary: str,
    case_id: int | None = None,
    pupil_id: int | None = None,
    actor: str = "system",
    data: dict | None = None,
    now: datetime,
) -> CaseEvent:
    event = CaseEvent(
        school_id=school_id,
        case_id=case_id,
        pupil_id=pupil_id,
        kind=kind,
        summary=summary,
        actor=actor,
        data=data or {},
        at=now,
    )
    session.add(event)
    return event


def open_case_for(session: Session, pupil_id: int) -> AbsenceCase | None:
    return session.exec(
        select(AbsenceCase).where(AbsenceCase.pupil_id == pupil_id, AbsenceCase.status == "open")
    ).first()


def open_or_extend(
    session: Session, *, pupil: Pupil, day: date, session_name: str, now: datetime
) -> tuple[AbsenceCase, bool]:
    """The pupil's open case, extended to ``day``; or a new one. Returns (case, created)."""
    opened, extended = open_or_extend_many(
        session, pupils=[pupil], day=day, session_name=session_name, now=now
    )
    return (opened[0], True) if opened else (extended[0], False)


def _one_by_one(
    session: Session, new: list[Pupil], *, day: date, session_name: str, now: datetime
) -> tuple[list[AbsenceCase], list[AbsenceCase]]:
    """After a race on the set-based insert: each pupil alone; a case another worker opened is extended."""
    if len(new) == 1:
        case = open_case_for(session, new[0].id)
        if case is None:
            raise  # the conflict was something else: re-raise it (called inside the except block)
        return [], [case]
    results = [
        open_or_extend_many(session, pupils=[p], day=day, session_name=session_name, now=now) for p in new
    ]
    return [c for o, _ in results for c in o], [c for _, e in results for c in e]


def open_or_extend_many(
    session: Session, *, pupils: list[Pupil], day: date, session_name: str, now: datetime
) -> tuple[list[AbsenceCase], list[AbsenceCase]]:
    """Open a case for each pupil without one, extend the others to ``day``: (opened, extended).

    Set-based, because register close does this for a whole trust at once. A new case snapshots
    the escalation ladder in force, so later policy edits don't change what an open case does.
    """
    if not pupils:
        return [], []
    existing = _open_cases_by_pupil(session, pupils=pupils)
    extended = _extend_to(session, cases=list(existing.values()), day=day)
    new = [p for p in pupils if p.id not in existing]
    if not new:
        return [], extended
    rows = _new_case_rows(session, pupils=new, day=day, session_name=session_name, now=now)
    try:
        with session.begin_nested():
            opened = session.scalars(insert(AbsenceCase).returning(AbsenceCase), rows).all()
    except IntegrityError:
        # Another worker opened some of these between our read and write: go one by one.
        opened, also_extended = _one_by_one(session, new, day=day, session_name=session_name, now=now)
        return opened, extended + also_extended
    _log_opened(session, cases=opened, day=day, session_name=session_name, now=now)
    return list(opened), extended


def _open_cases_by_pupil(session: Session, *, pupils: list[Pupil]) -> dict[int, AbsenceCase]:
    """The open case of each pupil that has one, in one query (a pupil has at most one)."""
    cases = session.exec(
        select(AbsenceCase).where(
            AbsenceCase.pupil_id.in_([p.id for p in pupils]), AbsenceCase.status == "open"
        )
    ).all()
    return {c.pupil_id: c for c in cases}


def _extend_to(session: Session, *, cases: list[AbsenceCase], day: date) -> list[AbsenceCase]:
    """Move each case's last absent date on to ``day`` (never back: a late, older mark can't shorten it)."""
    for case in cases:
        if day > case.last_absent_date:
            case.last_absent_date = day
            session.add(case)
    return cases


def _new_case_rows(
    session: Session, *, pupils: list[Pupil], day: date, session_name: str, now: datetime
) -> list[dict]:
    """Insert rows for new cases, each with a copy of its school's ladder for the pupil.

    The ladder is worked out once per (school, vulnerable) rather than per pupil, because a whole
    trust's register close can open hundreds of cases across a handful of schools.
    """
    ladders = {
        (sid, vulnerable): ladder(policy_for(session, sid), vulnerable=vulnerable)
        for sid in {p.school_id for p in pupils}
        for vulnerable in (False, True)
    }
    return [
        {
            "school_id": p.school_id,
            "pupil_id": p.id,
            "status": "open",
            "first_date": day,
            "first_session": session_name,
            "last_absent_date": day,
            "opened_at": now,
            "ladder": [dict(step) for step in ladders[(p.school_id, p.vulnerable)]],
            "next_step": 0,
            "contact_round": 0,
        }
        for p in pupils
    ]


def _log_opened(
    session: Session, *, cases: list[AbsenceCase], day: date, session_name: str, now: datetime
) -> None:
    """One case-log entry per opened case, written in a single statement like the insert."""
    log_many(
        session,
        [
            {
                "school_id": c.school_id,
                "case_id": c.id,
                "pupil_id": c.pupil_id,
                "kind": "case_opened",
                "summary": f"Unexplained absence from {day:%a %d %b} {session_name}",
                "data": {"date": day.isoformat(), "session": session_name},
            }
            for c in cases
        ],
        now=now,
    )


def log_many(session: Session, events: list[dict], *, now: datetime) -> None:
    """Append many case-log entries in one statement (same fields as ``log``)."""
    if not events:
        return
    session.execute(
        insert(CaseEvent),
        [{"actor": "system", "data": {}, "at": now, "case_id": None, "pupil_id": None, **e} for e in events],
    )


def explain(
    session: Session,
    *,
    case: AbsenceCase,
    by: str,
    actor: Actor = SYSTEM,
    code: str | None = None,
    return_date: date | None = None,
    summary: str = "",
    now: datetime,
) -> bool:
    """Record that a reason is known. Chasing stops. Returns False if the case was not open."""
    if case.status != "open":
        if code and not case.suggested_code:
            case.suggested_code = code
            session.add(case)
        return False
    case.status = "explained"
    case.explained_at = now
    case.explained_by = by
    if code:
        case.suggested_code = code
    if return_date:
        case.return_date = return_date
    session.add(case)
    log(
        session,
        school_id=case.school_id,
        case_id=case.id,
        pupil_id=case.pupil_id,
        kind="case_explained",
        summary=summary or f"Reason received ({by})",
        actor=actor.label if actor.staff_id else actor.name,
        data={"by": by, "code": code, "return_date": return_date.isoformat() if return_date else None},
        now=now,
    )
    return True


def close(session: Session, *, case: AbsenceCase, reason: str, now: datetime, actor: Actor = SYSTEM) -> bool:
    if case.status == "closed":
        return False
    case.status = "closed"
    case.closed_at = now
    case.closed_reason = reason
    session.add(case)
    log(
        session,
        school_id=case.school_id,
        case_id=case.id,
        pupil_id=case.pupil_id,
        kind="case_closed",
        summary=f"Case closed: {reason}",
        actor=actor.label if actor.staff_id else actor.name,
        now=now,
    )
    return True


# Marks that show the pupil was accounted for in a session: present, at approved education, or
# arrived after the register closed (U: in school, though late).
SEEN_CODES = frozenset(codes.PRESENT_CODES | {"U"})
UNEXPLAINED = frozenset({"N", "O"})

SessionKey = tuple[date, str]  # (date, "AM" | "PM"): sorts in register order, AM before PM


def seen_after_absence(
    marks: list[tuple[date, str, str]], *, first: SessionKey, before: SessionKey | None = None
) -> bool:
    """Was the pupil seen in a session *after* the episode's latest unexplained one?

    Presence is per session: an AM ``/`` never explains a PM ``N`` (a child who leaves at lunch is
    exactly the case to catch). ``marks`` are the pupil's ``(date, session, code)`` rows; only those
    from ``first`` (the episode's first session) and before ``before`` (exclusive) count. With no N
    or O left in the episode (every one recoded), any seen mark from ``first`` on counts.
    """
    window = [((d, s), c) for d, s, c in marks if (d, s) >= first and (before is None or (d, s) < before)]
    absent = [key for key, code in window if code in UNEXPLAINED]
    if absent:
        latest = max(absent)
        return any(key > latest and code in SEEN_CODES for key, code in window)
    return any(code in SEEN_CODES for _key, code in window)


def episode_marks(session: Session, *, pupil_id: int, since: date, until: date) -> list[tuple]:
    return list(
        session.exec(
            select(Mark.date, Mark.session, Mark.code).where(
                Mark.pupil_id == pupil_id, Mark.date >= since, Mark.date <= until
            )
        ).all()
    )


def seen_in_school(session: Session, *, case: AbsenceCase, day: date) -> bool:
    """True when the register shows the pupil in school after the case's latest unexplained session.

    Marks up to ``day`` are read. A present mark in an earlier session of the same day (AM ``/``
    before a PM ``N``) does not count: the PM absence is what the case is about.
    """
    marks = episode_marks(session, pupil_id=case.pupil_id, since=case.first_date, until=day)
    return seen_after_absence(marks, first=(case.first_date, case.first_session))


def close_seen_before(
    session: Session, *, pupils: list[Pupil], day: date, session_name: str, now: datetime
) -> int:
    """Close the open cases of these pupils (absent again at ``day`` ``session_name``) whose child
    was seen in school since the case's last absence: that episode ended, and the new absence must
    open a case of its own (and message the family) rather than silently extend the old one.

    One query for all the pupils' marks, so register close stays set-based.
    """
    if not pupils:
        return 0
    open_cases = session.exec(
        select(AbsenceCase).where(
            AbsenceCase.pupil_id.in_([p.id for p in pupils]), AbsenceCase.status == "open"
        )
    ).all()
    if not open_cases:
        return 0
    since = min(c.first_date for c in open_cases)
    by_pupil: dict[int, list[tuple[date, str, str]]] = {}
    for pupil_id, d, s, code in session.exec(
        select(Mark.pupil_id, Mark.date, Mark.session, Mark.code).where(
            Mark.pupil_id.in_([c.pupil_id for c in open_cases]), Mark.date >= since, Mark.date <= day
        )
    ).all():
        by_pupil.setdefault(pupil_id, []).append((d, s, code))
    closed = 0
    for case in open_cases:
        marks = by_pupil.get(case.pupil_id, [])
        if seen_after_absence(marks, first=(case.first_date, case.first_session), before=(day, session_name)):
            closed += close(session, case=case, reason="marked present", now=now)
    return closed


def remaining_n(session: Session, *, case: AbsenceCase) -> int:
    return len(
        session.exec(
            select(Mark.id).where(
                Mark.pupil_id == case.pupil_id,
                Mark.date >= case.first_date,
                Mark.date <= case.last_absent_date,
                Mark.code == "N",
            )
        ).all()
    )


def after_marks_changed(
    session: Session,
    *,
    school_id: int,
    pupil_id: int,
    actor: Actor,
    amendments: list[MarkAmendment],
    now: datetime,
) -> None:
    """A recode may answer the case: once no N is left in the episode, the reason is known.

    The amendment is logged on the case it belongs to: the open one, or else the latest case whose
    episode covers the amended date (accepting a parent's reason recodes an explained case).
    """
    case = open_case_for(session, pupil_id)
    logged_on = (
        case
        or session.exec(
            select(AbsenceCase)
            .where(
                AbsenceCase.pupil_id == pupil_id,
                AbsenceCase.first_date <= amendments[0].date,
                AbsenceCase.last_absent_date >= amendments[0].date,
            )
            .order_by(AbsenceCase.id.desc())
        ).first()
    )
    for a in amendments:
        log(
            session,
            school_id=school_id,
            case_id=logged_on.id if logged_on else None,
            pupil_id=pupil_id,
            kind="mark_amended",
            summary=f"{a.date:%a %d %b} {a.session}: {a.original_code} → {a.amended_code} ({a.reason})",
            actor=actor.label if actor.staff_id else actor.name,
            data={"amendment_id": a.id, "original": a.original_code, "amended": a.amended_code},
            now=now,
        )
    if case is None or remaining_n(session, case=case):
        return
    if actor.role == "system":
        # N -> O after five school days is bookkeeping, not a reason: the case stays open and
        # its escalation carries on.
        return
    last = amendments[-1].amended_code
    if codes.category(last) is codes.Category.PRESENT:
        close(session, case=case, reason="marked present", actor=actor, now=now)
    else:
        explain(
            session,
            case=case,
            by="mark",
            actor=actor,
            code=last,
            summary=f"Recoded to {last} by {actor.name}",
            now=now,
        )
