"""What register close does with notices (``bot.firstday.service.register_close`` calls one function).

For the session being closed:

1. **Discrepancies.** A child a notice (given before this register closed) says is away but who is
   marked present: listed for the attendance officer, and the notice stops covering later sessions
   (presence is per session: an afternoon N after a morning ``/`` is a new absence).
2. **Covered N marks.** The absence was already reported: no "no reason" message and no chasing. The
   child's open case is explained by the notice; else the notice's (or the absence's) explained
   case is extended; else an explained case is opened. The first time a notice meets the register,
   staff get it with one-tap actions: "reported by parent: illness (I), back Wed — Accept / Pick
   another". A code staff already accepted for the notice is applied through the audited path.
3. **Still away after the notice ran out.** Children whose notice ended with the session before
   this one and who have not been seen since get a specific follow-up ("we expected Amy back
   today") instead of a first-day "no reason" message; register close picks the template.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import insert
from sqlmodel import Session, select

from bot import clock, codes
from bot.actors import Actor
from bot.alerts.service import raise_alert
from bot.calendar import SchoolCalendar
from bot.cases import service as cases
from bot.errors import UserError
from bot.notices import wording
from bot.notices.service import ACTIVE, covering, covers, end
from bot.notices.spans import order, previous_session
from bot.policy import ladder
from bot.register.service import recode
from storage.models import AbsenceCase, AbsenceNotice, Mark, Pupil, School, SchoolPolicy, Staff

SEEN_CODES = sorted(codes.PRESENT_CODES | {"U"})
# How far back register close looks for a notice that has just run out.
FOLLOW_UP_LOOKBACK = timedelta(days=14)


@dataclass
class Honoured:
    """Register close's answer: who still needs a message, and which of them as a follow-up."""

    uncovered: list[Pupil]
    expected_back: dict[int, AbsenceNotice] = field(default_factory=dict)  # pupil id -> notice run out
    counts: dict = field(default_factory=dict)


def at_register_close(
    session: Session,
    *,
    school: School,
    policy: SchoolPolicy,
    calendar: SchoolCalendar,
    pupils: list[Pupil],
    day: date,
    session_name: str,
    now: datetime,
) -> Honoured:
    """Apply the school's notices to this session's N marks (``pupils``, in urgency order)."""
    counts = {
        "covered_by_notice": 0,
        "notice_alerts": 0,
        "recoded_by_notice": 0,
        "notice_discrepancies": 0,
        "expected_back": 0,
    }
    counts["notice_discrepancies"] = check_presence(
        session, school=school, policy=policy, calendar=calendar, day=day, session_name=session_name, now=now
    )
    covered = covering(session, pupil_ids=[p.id for p in pupils], day=day, session_name=session_name)
    uncovered = []
    for pupil in pupils:
        notice = covered.get(pupil.id)
        if notice is None:
            uncovered.append(pupil)
            continue
        counts["covered_by_notice"] += 1
        alerted = _attach(
            session,
            notice=notice,
            pupil=pupil,
            policy=policy,
            calendar=calendar,
            day=day,
            session_name=session_name,
            now=now,
        )
        counts["notice_alerts"] += int(alerted)
        counts["recoded_by_notice"] += _apply_accepted(
            session, notice=notice, pupil=pupil, day=day, session_name=session_name, now=now
        )
    run_out = ran_out(session, pupil_ids=[p.id for p in uncovered], day=day, session_name=session_name)
    counts["expected_back"] = len(run_out)
    return Honoured(uncovered=uncovered, expected_back=run_out, counts=counts)


# --------------------------------------------------------------------------------------------------
# Covered N marks
# --------------------------------------------------------------------------------------------------


def _attach(
    session: Session,
    *,
    notice: AbsenceNotice,
    pupil: Pupil,
    policy: SchoolPolicy,
    calendar: SchoolCalendar,
    day: date,
    session_name: str,
    now: datetime,
) -> bool:
    """Put this N on an explained case of the absence; True when staff were sent the notice to act on."""
    case, first_meeting = _explained_case(
        session,
        notice=notice,
        pupil=pupil,
        policy=policy,
        calendar=calendar,
        day=day,
        session_name=session_name,
        now=now,
    )
    if day > case.last_absent_date:
        case.last_absent_date = day
        session.add(case)
    notice.case_id = case.id
    session.add(notice)
    if not first_meeting:
        return False
    return _alert_staff(
        session, notice=notice, pupil=pupil, case=case, day=day, session_name=session_name, now=now
    )


def _explained_case(
    session: Session,
    *,
    notice: AbsenceNotice,
    pupil: Pupil,
    policy: SchoolPolicy,
    calendar: SchoolCalendar,
    day: date,
    session_name: str,
    now: datetime,
) -> tuple[AbsenceCase, bool]:
    """The explained case this N belongs to, and whether this is the notice's first meeting with it.

    An open (unexplained) case is explained by the notice, which staff must then hear about; else the
    notice's own explained case, or the one its absence continues, is reused; else one is opened.
    """
    case = cases.open_case_for(session, pupil.id)
    if case is not None:
        # The register closed on an unexplained absence that the notice explains.
        cases.explain(
            session,
            case=case,
            by="notice",
            code=notice.suggested_code,
            return_date=notice.return_date,
            summary=f"Explained by the family's notice: {wording.line(notice)}",
            now=now,
        )
        return case, True
    first_meeting = notice.case_id is None
    case = session.get(AbsenceCase, notice.case_id) if notice.case_id else None
    if case is None or case.status != "explained":
        case = _continuing_case(session, pupil=pupil, day=day, session_name=session_name, calendar=calendar)
    if case is None:
        case = _open_explained(
            session, notice=notice, pupil=pupil, policy=policy, day=day, session_name=session_name, now=now
        )
    return case, first_meeting


def _alert_staff(
    session: Session,
    *,
    notice: AbsenceNotice,
    pupil: Pupil,
    case: AbsenceCase,
    day: date,
    session_name: str,
    now: datetime,
) -> bool:
    """Send attendance staff the notice with one-tap actions; True when the alert is new."""
    title, body = wording.notice_alert_text(notice, pupil, session_name=session_name, day=day)
    national = notice.suggested_code if notice.suggested_code in codes.CODES else None
    _, created = raise_alert(
        session,
        school_id=pupil.school_id,
        key=f"notice:{notice.id}:{case.id}",
        kind="notice",
        title=title,
        body=body,
        audience="attendance",
        severity="normal",
        pupil_id=pupil.id,
        case_id=case.id,
        data={
            "notice_id": notice.id,
            "reply": notice.words,
            "reason_label": "Parent's notice",
            "suggested_code": national,
            "source": notice.source,
            "line": wording.line(notice),
            "return_date": notice.return_date.isoformat() if notice.return_date else None,
            "actions": ["accept_code", "pick_code"] if national else ["pick_code"],
        },
        now=now,
    )
    return created


def _continuing_case(
    session: Session, *, pupil: Pupil, day: date, session_name: str, calendar: SchoolCalendar
) -> AbsenceCase | None:
    """The child's explained case whose absence runs right up to this session (same absence)."""
    before = previous_session(day, session_name, calendar)
    if before is None:
        return None
    case = session.exec(
        select(AbsenceCase)
        .where(
            AbsenceCase.pupil_id == pupil.id,
            AbsenceCase.status == "explained",
            AbsenceCase.last_absent_date >= before[0],
        )
        .order_by(AbsenceCase.id.desc())
    ).first()
    return case


def _open_explained(
    session: Session,
    *,
    notice: AbsenceNotice,
    pupil: Pupil,
    policy: SchoolPolicy,
    day: date,
    session_name: str,
    now: datetime,
) -> AbsenceCase:
    """A case for an absence reported before the register: explained from the start, never chased."""
    [case] = session.scalars(
        insert(AbsenceCase).returning(AbsenceCase),
        [
            {
                "school_id": pupil.school_id,
                "pupil_id": pupil.id,
                "status": "explained",
                "first_date": day,
                "first_session": session_name,
                "last_absent_date": day,
                "opened_at": now,
                "explained_at": now,
                "explained_by": "notice",
                "suggested_code": notice.suggested_code,
                "return_date": notice.return_date,
                "ladder": [dict(s) for s in ladder(policy, vulnerable=pupil.vulnerable)],
                "next_step": 0,
                "contact_round": 0,
            }
        ],
    ).all()
    cases.log(
        session,
        school_id=case.school_id,
        case_id=case.id,
        pupil_id=pupil.id,
        kind="case_opened",
        summary=f"Absent {day:%a %d %b} {session_name}, already reported by the family",
        data={"date": day.isoformat(), "session": session_name, "notice_id": notice.id},
        now=now,
    )
    cases.log(
        session,
        school_id=case.school_id,
        case_id=case.id,
        pupil_id=pupil.id,
        kind="case_explained",
        summary=f"Explained by the family's notice: {wording.line(notice)}",
        data={"by": "notice", "code": notice.suggested_code, "notice_id": notice.id},
        now=now,
    )
    return case


def _apply_accepted(
    session: Session, *, notice: AbsenceNotice, pupil: Pupil, day: date, session_name: str, now: datetime
) -> int:
    """Recode this N with the code staff already accepted for the notice, naming them (audited)."""
    if not notice.accepted_code or notice.accepted_staff_id is None:
        return 0
    staff = session.get(Staff, notice.accepted_staff_id)
    if staff is None:
        return 0
    when = clock.to_local(notice.accepted_at).strftime("%a %d %b") if notice.accepted_at else "earlier"
    reason = (
        f"Parent's notice: {notice.accepted_code} accepted by {staff.name} on {when} for the whole "
        f"absence; applied at register close"
    )
    try:
        with session.begin_nested():
            return len(
                recode(
                    session,
                    school_id=pupil.school_id,
                    pupil_id=pupil.id,
                    day=day,
                    sessions=[session_name],
                    new_code=notice.accepted_code,
                    reason=reason,
                    actor=Actor.of(staff),
                    now=now,
                )
            )
    except UserError:  # their role may no longer allow it: the N stays for staff to code
        return 0


# --------------------------------------------------------------------------------------------------
# Discrepancies and notices that ran out
# --------------------------------------------------------------------------------------------------


def check_presence(
    session: Session,
    *,
    school: School,
    policy: SchoolPolicy,
    calendar: SchoolCalendar,
    day: date,
    session_name: str,
    now: datetime,
) -> int:
    """List children marked present in a session a notice said they would miss; end those notices.

    Only notices given before this register's close count (a parent collecting a child at 11:00 does
    not contradict the morning's ``/``). A "running late" notice met by a late mark is no discrepancy.
    """
    close_at = clock.at_local(
        day, policy.am_close if session_name == "AM" else policy.pm_close, school.timezone
    )
    raised = 0
    for notice, code, pupil in _seen_despite_notice(
        session, school=school, day=day, session_name=session_name, close_at=close_at
    ):
        if not covers(notice, day, session_name):
            continue
        end(
            session,
            notice=notice,
            before=previous_session(day, session_name, calendar),
            why=f"marked {code} on {day:%a %d %b} {session_name}",
        )
        if notice.understood == "LATE" or not codes.counts_present(code) or not notice.child_named:
            continue  # late as announced; or "sick today" from a family of two, and this one came in
        raised += _alert_present(
            session,
            school=school,
            notice=notice,
            pupil=pupil,
            code=code,
            day=day,
            session_name=session_name,
            now=now,
        )
    return raised


def _seen_despite_notice(
    session: Session, *, school: School, day: date, session_name: str, close_at: datetime
) -> list[tuple[AbsenceNotice, str, Pupil]]:
    """Active notices given before ``close_at`` whose child has a seen mark in this session."""
    return session.exec(
        select(AbsenceNotice, Mark.code, Pupil)
        .join(
            Mark,
            (Mark.pupil_id == AbsenceNotice.pupil_id) & (Mark.date == day) & (Mark.session == session_name),
        )
        .join(Pupil, Pupil.id == AbsenceNotice.pupil_id)
        .where(
            AbsenceNotice.school_id == school.id,
            AbsenceNotice.status == ACTIVE,
            AbsenceNotice.first_date <= day,
            (AbsenceNotice.last_date.is_(None)) | (AbsenceNotice.last_date >= day),
            AbsenceNotice.received_at < close_at,
            Mark.code.in_(SEEN_CODES),
        )
        .order_by(AbsenceNotice.id)
    ).all()


def _alert_present(
    session: Session,
    *,
    school: School,
    notice: AbsenceNotice,
    pupil: Pupil,
    code: str,
    day: date,
    session_name: str,
    now: datetime,
) -> int:
    """Tell the attendance officer a child the notice said was away is here; 1 when the alert is new."""
    title, body = wording.discrepancy_text(
        "present", notice=notice, pupil=pupil, day=day, session_name=session_name, code=code
    )
    _, created = raise_alert(
        session,
        school_id=school.id,
        key=f"notice-present:{notice.id}:{day.isoformat()}",
        kind="notice_discrepancy",
        title=title,
        body=body,
        audience="attendance",
        severity="normal",
        pupil_id=pupil.id,
        case_id=notice.case_id,
        data={
            "notice_id": notice.id,
            "why": "present",
            "code": code,
            "session": session_name,
            "date": day.isoformat(),
            "reply": notice.words,
            "actions": ["acknowledge"],
        },
        now=now,
    )
    return int(created)


def ran_out(
    session: Session, *, pupil_ids: list[int], day: date, session_name: str
) -> dict[int, AbsenceNotice]:
    """Pupils absent now whose notice ended before this session and who were not seen since.

    They told us when the child would be back (or covered only the day they wrote); the child is
    still away, so the family gets "we expected Amy back today", not "we have no reason".
    """
    if not pupil_ids:
        return {}
    here = order(day, session_name)
    notices = [
        n
        for n in session.exec(
            select(AbsenceNotice)
            .where(
                AbsenceNotice.pupil_id.in_(pupil_ids),
                AbsenceNotice.status == ACTIVE,
                AbsenceNotice.last_date.is_not(None),
                AbsenceNotice.last_date <= day,
                AbsenceNotice.last_date >= day - FOLLOW_UP_LOOKBACK,
            )
            .order_by(AbsenceNotice.received_at.desc(), AbsenceNotice.id.desc())
        ).all()
        if order(n.last_date, n.last_session or "PM") < here
    ]
    latest: dict[int, AbsenceNotice] = {}
    for n in notices:
        latest.setdefault(n.pupil_id, n)
    if not latest:
        return {}
    seen = session.exec(
        select(Mark.pupil_id, Mark.date, Mark.session).where(
            Mark.pupil_id.in_(list(latest)),
            Mark.date >= min(n.last_date for n in latest.values()),
            Mark.date <= day,
            Mark.code.in_(SEEN_CODES),
        )
    ).all()
    for pupil_id, d, s in seen:
        n = latest.get(pupil_id)
        if n is not None and order(n.last_date, n.last_session or "PM") < order(d, s) < here:
            latest.pop(pupil_id)
    return latest
