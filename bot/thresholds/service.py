"""The statutory sweeps, run daily after PM close, all derived from the marks.

- N not resolved ``n_to_o_school_days`` after its session becomes O (through ``recode``, by system);
- 10 unauthorised sessions in a rolling 10 school weeks: penalty notice threshold met;
- 10 school days of continuous unauthorised absence: notify the local authority;
- 15 school days of illness in the year: notify the local authority;
- 20 continuous school days unauthorised with whereabouts unknown: children missing education;
- the graduated-response tier of every pupil.

The sweep itself (one step per threshold, in order) is ``bot.thresholds.sweep``; this module holds
the queries and the alerting it uses.

Each threshold alert has an idempotency key naming its episode (the run's first day, the school
year, or the day a new penalty window was met), so re-runs and concurrent runs fire it once.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, literal, update
from sqlmodel import Session, select

from bot import clock
from bot.actors import SYSTEM
from bot.alerts.service import raise_alert
from bot.attendance import Tally
from bot.calendar import SchoolCalendar
from bot.errors import UserError
from bot.escalation.service import last_contact
from bot.messaging.outbox import enqueue
from bot.pupils import year_and_class
from bot.register.service import recode
from bot.reports.queries import ATTENDED, AUTHORISED, UNAUTHORISED
from storage.models import (
    AbsenceCase,
    CallLog,
    CaseEvent,
    InboundMessage,
    Mark,
    Pupil,
    PupilContact,
    School,
    SchoolPolicy,
)

# Which flag lifts a pupil to at least which tier (named as in the policy's ``tiers``); a school can
# override with ``thresholds["tier_flags"]``. A name the school's tiers do not have is ignored.
TIER_FLAGS_DEFAULT = {
    "persistent": "intensive",
    "no_contact_3_days": "intensive",
    "ehcp": "intensive",
    "severe": "specialist",
    "cme": "specialist",
}
BREAKS_A_RUN = sorted(set(ATTENDED) | set(AUTHORISED))
SIGHTINGS = ("home_visit_seen", "child_found_safe")  # case-log kinds: someone saw the child


@dataclass(frozen=True)
class Run:
    pupil_id: int
    start: date
    end: date
    days: int


# --------------------------------------------------------------------------------------------------
# N -> O
# --------------------------------------------------------------------------------------------------


def n_cutoff(cal: SchoolCalendar, *, today: date, school_days: int) -> date | None:
    """Latest session date whose N is overdue today: ``school_days`` full school days have passed."""
    last = cal.previous_school_day(today, inclusive=True)
    return cal.add_school_days(last, -school_days) if last else None


def n_to_o(
    session: Session,
    *,
    school_id: int,
    policy: SchoolPolicy,
    cal: SchoolCalendar,
    today: date,
    now: datetime,
    pupil_ids: set[int] | None = None,
) -> int:
    """Recode overdue N marks to O, one audited amendment per mark, found in SQL.

    Rows are claimed with ``FOR UPDATE SKIP LOCKED``: a concurrent sweep skips them; a mark someone
    recoded meanwhile is no longer N and the system is (rightly) refused, so it is skipped.
    ``pupil_ids`` narrows the search to pupils already known to have one (from the tallies).
    """
    n = policy.n_to_o_school_days
    cutoff = n_cutoff(cal, today=today, school_days=n)
    if cutoff is None or pupil_ids == set():
        return 0
    query = select(Mark.id, Mark.pupil_id, Mark.date, Mark.session).where(
        Mark.school_id == school_id, Mark.code == "N", Mark.date <= cutoff
    )
    if pupil_ids is not None:
        query = query.where(Mark.pupil_id.in_(sorted(pupil_ids)))
    rows = session.exec(
        query.order_by(Mark.pupil_id, Mark.date, Mark.session).with_for_update(skip_locked=True)
    ).all()
    done = 0
    for _id, pupil_id, day, name in rows:
        try:
            with session.begin_nested():
                done += len(
                    recode(
                        session,
                        school_id=school_id,
                        pupil_id=pupil_id,
                        day=day,
                        sessions=[name],
                        new_code="O",
                        reason=f"No reason received within {n} school days",
                        actor=SYSTEM,
                        now=now,
                    )
                )
        except UserError:
            continue
    return done


# --------------------------------------------------------------------------------------------------
# Evidence and alerts
# --------------------------------------------------------------------------------------------------


def evidence(session: Session, *, pupil_id: int, start: date, end: date, codes_in: list[str]) -> list[dict]:
    rows = session.exec(
        select(Mark.date, Mark.session, Mark.code)
        .where(Mark.pupil_id == pupil_id, Mark.date >= start, Mark.date <= end, Mark.code.in_(codes_in))
        .order_by(Mark.date, Mark.session)
    ).all()
    return [{"date": d.isoformat(), "session": s, "code": c} for d, s, c in rows]


def _pupil_dict(p: Pupil) -> dict:
    return {
        "id": p.id,
        "name": f"{p.first_name} {p.last_name}",
        "year_group": p.year_group,
        "class_name": p.class_name,
    }


def raise_threshold(
    session: Session,
    *,
    school: School,
    pupil: Pupil,
    key: str,
    kind: str,
    title: str,
    text: str,
    audience: str,
    severity: str,
    actions: list[str],
    data: dict,
    now: datetime,
    email_to: str | None = None,
) -> bool:
    case = session.exec(
        select(AbsenceCase.id).where(AbsenceCase.pupil_id == pupil.id, AbsenceCase.status == "open")
    ).first()
    ev = data.get("evidence", [])
    span = f"{ev[0]['date']} to {ev[-1]['date']}" if ev else ""
    who = f"{pupil.first_name} {pupil.last_name} ({year_and_class(pupil.year_group, pupil.class_name)})"
    body = f"{who}: {text}" + (f"\nEvidence: {len(ev)} sessions, {span}." if ev else "")
    alert, created = raise_alert(
        session,
        school_id=school.id,
        key=key,
        kind=kind,
        title=f"{title}: {pupil.first_name} {pupil.last_name}",
        body=body,
        audience=audience,
        severity=severity,
        pupil_id=pupil.id,
        case_id=case,
        data={"pupil": _pupil_dict(pupil), "actions": actions, **data},
        now=now,
    )
    if not created:
        return False
    alert.raised_count, alert.last_raised_at = 1, now
    session.add(alert)
    if email_to:
        enqueue(
            session,
            school_id=school.id,
            key=f"email:{key}",
            kind="staff_email",
            channel="email",
            to_address=email_to,
            subject=f"{school.name}: {alert.title}",
            body=body,
            now=now,
        )
    return True


RUN_LOOKBACK_SCHOOL_DAYS = 10  # a run that ended this recently is still caught (a clock down 2 weeks)


def continuous_runs(
    session: Session, *, school_id: int, cal: SchoolCalendar, start: date, today: date, min_days: int
) -> list[Run]:
    """Each pupil's latest run of school days with unauthorised absence and nothing else, ≥ min_days.

    The run starts after the last day with any attendance or authorised absence (one GROUP BY for
    that day, one for the run); a day that is half present breaks the run. Only pupils with
    ``min_days`` unauthorised days in the last few weeks can have a run that matters now, so they
    are found first from those weeks' marks and the year is read for them alone.
    """
    recent = (
        cal.add_school_days(
            cal.previous_school_day(today, inclusive=True) or today, -(RUN_LOOKBACK_SCHOOL_DAYS + min_days)
        )
        or start
    )
    candidates = session.exec(
        select(Mark.pupil_id)
        .where(
            Mark.school_id == school_id,
            Mark.date >= max(recent, start),
            Mark.date <= today,
            Mark.code.in_(UNAUTHORISED),
        )
        .group_by(Mark.pupil_id)
        .having(func.count(func.distinct(Mark.date)) >= min_days)
    ).all()
    if not candidates:
        return []
    last_break = (
        select(Mark.pupil_id.label("pupil_id"), func.max(Mark.date).label("last_break"))
        .where(
            Mark.pupil_id.in_(candidates), Mark.date >= start, Mark.date <= today, Mark.code.in_(BREAKS_A_RUN)
        )
        .group_by(Mark.pupil_id)
        .subquery()
    )
    after = func.coalesce(last_break.c.last_break, literal(start - timedelta(days=1)))
    rows = session.exec(
        select(Mark.pupil_id, func.min(Mark.date), func.max(Mark.date), func.count(func.distinct(Mark.date)))
        .join(last_break, last_break.c.pupil_id == Mark.pupil_id, isouter=True)
        .where(
            Mark.pupil_id.in_(candidates),
            Mark.date >= start,
            Mark.date <= today,
            Mark.code.in_(UNAUTHORISED),
            Mark.date > after,
        )
        .group_by(Mark.pupil_id)
        .having(func.count(func.distinct(Mark.date)) >= min_days)
    ).all()
    return [Run(p, _d(s), _d(e), n) for p, s, e, n in rows]


def _d(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def whereabouts_known_since(session: Session, *, pupil_id: int, since: datetime) -> bool:
    """Has anyone heard from the family, spoken to them, or seen the child since ``since``?"""
    reply = session.exec(
        select(InboundMessage.id)
        .join(PupilContact, PupilContact.contact_id == InboundMessage.contact_id)
        .where(PupilContact.pupil_id == pupil_id, InboundMessage.received_at >= since)
        .limit(1)
    ).first()
    call = session.exec(
        select(CallLog.id)
        .where(CallLog.pupil_id == pupil_id, CallLog.outcome == "spoke", CallLog.at >= since)
        .limit(1)
    ).first()
    seen = session.exec(
        select(CaseEvent.id)
        .where(CaseEvent.pupil_id == pupil_id, CaseEvent.kind.in_(SIGHTINGS), CaseEvent.at >= since)
        .limit(1)
    ).first()
    return any(x is not None for x in (reply, call, seen))


# --------------------------------------------------------------------------------------------------
# Tiers
# --------------------------------------------------------------------------------------------------


def tier_for(percent: float, flags: set[str], th: dict) -> tuple[str, list[str]]:
    """The graduated-response tier: the % band, lifted by any flag that demands more support."""
    tiers = sorted(th["tiers"], key=lambda t: -float(t["min_percent"]))
    names = [t["name"] for t in tiers]
    index = next((i for i, t in enumerate(tiers) if percent >= float(t["min_percent"])), len(tiers) - 1)
    reasons = [f"{percent:.1f}% attendance"]
    for flag, tier_name in th.get("tier_flags", TIER_FLAGS_DEFAULT).items():
        if flag in flags and tier_name in names and names.index(tier_name) > index:
            index = names.index(tier_name)
        if flag in flags:
            reasons.append(flag.replace("_", " "))
    return names[index], reasons


def no_contact_for_days(
    session: Session, *, school_id: int, cal: SchoolCalendar, today: date, tz: str, days: int = 3
) -> set[int]:
    """Pupils with an open case and ``days`` or more school days without any contact."""
    out = set()
    for case in session.exec(
        select(AbsenceCase).where(AbsenceCase.school_id == school_id, AbsenceCase.status == "open")
    ).all():
        contact = last_contact(session, case=case)
        base = case.first_date
        if contact is not None:
            base = cal.next_school_day(clock.to_local(contact, tz).date()) or today + timedelta(days=1)
        if base <= today and cal.count_school_days(base, today) >= days:
            out.add(case.pupil_id)
    return out


def update_tiers(
    session: Session,
    *,
    school: School,
    pupils: dict[int, Pupil],
    tallies: dict[int, dict],
    flags: dict[int, set[str]],
    th: dict,
    today: date,
    now: datetime,
    compulsory: dict[int, Tally | None] | None = None,
) -> int:
    """Store each pupil's tier and log a ``tier_change`` per change.

    Persistent and severe absence count only for pupils of compulsory school age, over their sessions
    since then (``compulsory``: pupil -> that tally, or None for a pupil not of that age yet; a pupil
    missing from it is measured over the year). One conditional UPDATE per (old tier, new tier)
    pair, ``RETURNING`` the rows it changed: a concurrent sweep that already moved a pupil matches
    nothing, so each change is logged once.
    """
    moves = _tier_moves(pupils=pupils, tallies=tallies, flags=flags, th=th, compulsory=compulsory or {})
    changed = 0
    for (old, new), items in moves.items():
        detail = {pid: (pct, reasons) for pid, pct, reasons in items}
        done = _move_tier(session, ids=list(detail), old=old, new=new)
        for pid in done:
            pupils[pid].tier = new
        session.add_all(
            [
                _tier_event(
                    school=school, pupil_id=pid, old=old, new=new, detail=detail[pid], today=today, now=now
                )
                for pid in done
            ]
        )
        changed += len(done)
    return changed


Move = tuple[str | None, str]  # (old tier, new tier)


def _tier_moves(
    *,
    pupils: dict[int, Pupil],
    tallies: dict[int, dict],
    flags: dict[int, set[str]],
    th: dict,
    compulsory: dict[int, Tally | None],
) -> dict[Move, list[tuple[int, float, list[str]]]]:
    """The pupils whose tier should change, grouped by move, with their % and the reasons."""
    moves: dict[Move, list[tuple[int, float, list[str]]]] = {}
    for pupil_id, entry in tallies.items():
        pupil = pupils.get(pupil_id)
        ytd = entry["ytd"]
        if pupil is None or ytd.percent is None:
            continue
        pf = _absence_flags(
            pupil, set(flags.get(pupil_id, set())), counted=compulsory.get(pupil_id, ytd), th=th
        )
        tier, reasons = tier_for(ytd.percent, pf, th)
        if tier != pupil.tier:
            moves.setdefault((pupil.tier, tier), []).append((pupil_id, ytd.percent, reasons))
    return moves


def _absence_flags(pupil: Pupil, flags: set[str], *, counted: Tally | None, th: dict) -> set[str]:
    """``flags`` plus persistent/severe absence (over ``counted``, None: not of compulsory age) and EHCP."""
    absence = counted.absence_percent if counted is not None else None
    if absence is not None and absence >= float(th["persistent"]):
        flags.add("persistent")
    if absence is not None and absence >= float(th["severe"]):
        flags.add("severe")
    if pupil.send_ehcp:
        flags.add("ehcp")
    return flags


def _move_tier(session: Session, *, ids: list[int], old: str | None, new: str) -> list[int]:
    """Move these pupils from ``old`` to ``new``; the ids actually moved (a concurrent sweep's are not)."""
    done: list[int] = []
    for i in range(0, len(ids), 1000):
        done += (
            session.execute(
                update(Pupil)
                .where(Pupil.id.in_(ids[i : i + 1000]), Pupil.tier.is_not_distinct_from(old))
                .values(tier=new)
                .returning(Pupil.id)
                .execution_options(synchronize_session=False)
            )
            .scalars()
            .all()
        )
    return done


def _tier_event(
    *,
    school: School,
    pupil_id: int,
    old: str | None,
    new: str,
    detail: tuple[float, list[str]],
    today: date,
    now: datetime,
) -> CaseEvent:
    """The case-log line for one tier change, with the % and reasons that caused it."""
    pct, reasons = detail
    return CaseEvent(
        school_id=school.id,
        pupil_id=pupil_id,
        kind="tier_change",
        at=now,
        actor="system",
        summary=f"Tier {old or 'none'} → {new} ({', '.join(reasons)})",
        data={"from": old, "to": new, "percent": pct, "reasons": reasons, "date": today.isoformat()},
    )


# --------------------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------------------
