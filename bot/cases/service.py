"""Opening, explaining and closing absence cases, and the append-only case log.

A case opens at the first N of an episode and snapshots the escalation ladder in force. It is
*explained* when a reason arrives (a parent's reply, a call, a recode) and *closed* when the pupil
is seen in school or staff close it. Chasing and escalation act only on open cases.
"""

from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot import clock, codes
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
) -> CaseEvent:
    event = CaseEvent(
        school_id=school_id,
        case_id=case_id,
        pupil_id=pupil_id,
        kind=kind,
        summary=summary,
        actor=actor,
        data=data or {},
        at=clock.now(),
    )
    session.add(event)
    return event


def open_case_for(session: Session, pupil_id: int) -> AbsenceCase | None:
    return session.exec(
        select(AbsenceCase).where(AbsenceCase.pupil_id == pupil_id, AbsenceCase.status == "open")
    ).first()


def open_or_extend(
    session: Session, *, pupil: Pupil, day: date, session_name: str
) -> tuple[AbsenceCase, bool]:
    """The pupil's open case, extended to ``day``; or a new one. Returns (case, created)."""
    case = open_case_for(session, pupil.id)
    if case is not None:
        if day > case.last_absent_date:
            case.last_absent_date = day
            session.add(case)
        return case, False
    policy = policy_for(session, pupil.school_id)
    case = AbsenceCase(
        school_id=pupil.school_id,
        pupil_id=pupil.id,
        first_date=day,
        first_session=session_name,
        last_absent_date=day,
        ladder=ladder(policy, vulnerable=pupil.vulnerable),
        opened_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:
        # Another worker opened it between our read and write: use theirs.
        existing = open_case_for(session, pupil.id)
        if existing is None:
            raise
        return existing, False
    log(
        session,
        school_id=pupil.school_id,
        case_id=case.id,
        pupil_id=pupil.id,
        kind="case_opened",
        summary=f"Unexplained absence from {day:%a %d %b} {session_name}",
        data={"date": day.isoformat(), "session": session_name},
    )
    return case, True


def explain(
    session: Session,
    *,
    case: AbsenceCase,
    by: str,
    actor: Actor = SYSTEM,
    code: str | None = None,
    return_date: date | None = None,
    summary: str = "",
) -> bool:
    """Record that a reason is known. Chasing stops. Returns False if the case was not open."""
    if case.status != "open":
        if code and not case.suggested_code:
            case.suggested_code = code
            session.add(case)
        return False
    case.status = "explained"
    case.explained_at = clock.now()
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
    )
    return True


def close(session: Session, *, case: AbsenceCase, reason: str, actor: Actor = SYSTEM) -> bool:
    if case.status == "closed":
        return False
    case.status = "closed"
    case.closed_at = clock.now()
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
    )
    return True


def seen_in_school(session: Session, *, case: AbsenceCase, day: date) -> bool:
    """True when a mark on ``day`` shows the pupil present (or at approved education)."""
    marks = session.exec(
        select(Mark.code).where(Mark.pupil_id == case.pupil_id, Mark.date == day)
    ).all()
    return any(codes.counts_present(c) or c == "U" for c in marks)


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
) -> None:
    """A recode may answer the case: once no N is left in the episode, the reason is known.

    The amendment is logged on the case it belongs to: the open one, or else the latest case whose
    episode covers the amended date (accepting a parent's reason recodes an explained case).
    """
    case = open_case_for(session, pupil_id)
    logged_on = case or session.exec(
        select(AbsenceCase)
        .where(AbsenceCase.pupil_id == pupil_id,
               AbsenceCase.first_date <= amendments[0].date,
               AbsenceCase.last_absent_date >= amendments[0].date)
        .order_by(AbsenceCase.id.desc())
    ).first()
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
        )
    if case is None or remaining_n(session, case=case):
        return
    last = amendments[-1].amended_code
    if codes.category(last) is codes.Category.PRESENT:
        close(session, case=case, reason="marked present", actor=actor)
    else:
        explain(session, case=case, by="mark", actor=actor, code=last,
                summary=f"Recoded to {last} by {actor.name}")
