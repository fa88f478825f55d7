"""The statutory sweeps, run daily after PM close, all derived from the marks.

- N not resolved ``n_to_o_school_days`` after its session becomes O (through ``recode``, by system);
- 10 unauthorised sessions in a rolling 10 school weeks: penalty notice threshold met;
- 10 school days of continuous unauthorised absence: notify the local authority;
- 15 school days of illness in the year: notify the local authority;
- 20 continuous school days unauthorised with whereabouts unknown: children missing education;
- the graduated-response tier of every pupil.

Each threshold alert has an idempotency key naming its episode (the run's first day, the school
year, or the day a new penalty window was met), so re-runs and concurrent runs fire it once.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

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
from bot.policy import thresholds as policy_thresholds
from bot.pupils import compulsory_from, year_and_class
from bot.register.service import recode
from bot.reports.queries import (
    ATTENDED,
    AUTHORISED,
    UNAUTHORISED,
    academic_year_start,
    pupil_tallies,
    tallies_from,
)
from storage.models import (
    AbsenceCase,
    Alert,
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


def n_to_o(session: Session, *, school_id: int, policy: SchoolPolicy, cal: SchoolCalendar,
           today: date, now: datetime, pupil_ids: set[int] | None = None) -> int:
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
        Mark.school_id == school_id, Mark.code == "N", Mark.date <= cutoff)
    if pupil_ids is not None:
        query = query.where(Mark.pupil_id.in_(sorted(pupil_ids)))
    rows = session.exec(
        query.order_by(Mark.pupil_id, Mark.date, Mark.session).with_for_update(skip_locked=True)
    ).all()
    done = 0
    for _id, pupil_id, day, name in rows:
        try:
            with session.begin_nested():
                done += len(recode(session, school_id=school_id, pupil_id=pupil_id, day=day, sessions=[name],
                                   new_code="O", reason=f"No reason received within {n} school days",
                                   actor=SYSTEM, now=now))
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
    return {"id": p.id, "name": f"{p.first_name} {p.last_name}", "year_group": p.year_group,
            "class_name": p.class_name}


def _raise(session: Session, *, school: School, pupil: Pupil, key: str, kind: str, title: str, text: str,
           audience: str, severity: str, actions: list[str], data: dict, now: datetime,
           email_to: str | None = None) -> bool:
    case = session.exec(select(AbsenceCase.id).where(AbsenceCase.pupil_id == pupil.id,
                                                     AbsenceCase.status == "open")).first()
    ev = data.get("evidence", [])
    span = f"{ev[0]['date']} to {ev[-1]['date']}" if ev else ""
    who = f"{pupil.first_name} {pupil.last_name} ({year_and_class(pupil.year_group, pupil.class_name)})"
    body = (f"{who}: {text}"
            + (f"\nEvidence: {len(ev)} sessions, {span}." if ev else ""))
    alert, created = raise_alert(
        session, school_id=school.id, key=key, kind=kind,
        title=f"{title}: {pupil.first_name} {pupil.last_name}", body=body,
        audience=audience, severity=severity, pupil_id=pupil.id, case_id=case,
        data={"pupil": _pupil_dict(pupil), "actions": actions, **data}, now=now,
    )
    if not created:
        return False
    alert.raised_count, alert.last_raised_at = 1, now
    session.add(alert)
    if email_to:
        enqueue(session, school_id=school.id, key=f"email:{key}", kind="staff_email", channel="email",
                to_address=email_to, subject=f"{school.name}: {alert.title}", body=body, now=now)
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
    recent = cal.add_school_days(cal.previous_school_day(today, inclusive=True) or today,
                                 -(RUN_LOOKBACK_SCHOOL_DAYS + min_days)) or start
    candidates = session.exec(
        select(Mark.pupil_id)
        .where(Mark.school_id == school_id, Mark.date >= max(recent, start), Mark.date <= today,
               Mark.code.in_(UNAUTHORISED))
        .group_by(Mark.pupil_id)
        .having(func.count(func.distinct(Mark.date)) >= min_days)
    ).all()
    if not candidates:
        return []
    last_break = (
        select(Mark.pupil_id.label("pupil_id"), func.max(Mark.date).label("last_break"))
        .where(Mark.pupil_id.in_(candidates), Mark.date >= start, Mark.date <= today,
               Mark.code.in_(BREAKS_A_RUN))
        .group_by(Mark.pupil_id)
        .subquery()
    )
    after = func.coalesce(last_break.c.last_break, literal(start - timedelta(days=1)))
    rows = session.exec(
        select(Mark.pupil_id, func.min(Mark.date), func.max(Mark.date), func.count(func.distinct(Mark.date)))
        .join(last_break, last_break.c.pupil_id == Mark.pupil_id, isouter=True)
        .where(Mark.pupil_id.in_(candidates), Mark.date >= start, Mark.date <= today,
               Mark.code.in_(UNAUTHORISED), Mark.date > after)
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
        .where(PupilContact.pupil_id == pupil_id, InboundMessage.received_at >= since).limit(1)
    ).first()
    call = session.exec(select(CallLog.id).where(CallLog.pupil_id == pupil_id, CallLog.outcome == "spoke",
                                                 CallLog.at >= since).limit(1)).first()
    seen = session.exec(select(CaseEvent.id).where(CaseEvent.pupil_id == pupil_id,
                                                   CaseEvent.kind.in_(SIGHTINGS),
                                                   CaseEvent.at >= since).limit(1)).first()
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


def no_contact_for_days(session: Session, *, school_id: int, cal: SchoolCalendar, today: date, tz: str,
                        days: int = 3) -> set[int]:
    """Pupils with an open case and ``days`` or more school days without any contact."""
    out = set()
    for case in session.exec(select(AbsenceCase).where(AbsenceCase.school_id == school_id,
                                                       AbsenceCase.status == "open")).all():
        contact = last_contact(session, case=case)
        base = case.first_date
        if contact is not None:
            base = cal.next_school_day(clock.to_local(contact, tz).date()) or today + timedelta(days=1)
        if base <= today and cal.count_school_days(base, today) >= days:
            out.add(case.pupil_id)
    return out


def update_tiers(session: Session, *, school: School, pupils: dict[int, Pupil], tallies: dict[int, dict],
                 flags: dict[int, set[str]], th: dict, today: date, now: datetime,
                 compulsory: dict[int, Tally | None] | None = None) -> int:
    """Store each pupil's tier and log a ``tier_change`` per change.

    Persistent and severe absence count only for pupils of compulsory school age, over their sessions
    since then (``compulsory``: pupil -> that tally, or None for a pupil not of that age yet; a pupil
    missing from it is measured over the year). One conditional UPDATE per (old tier, new tier)
    pair, ``RETURNING`` the rows it changed: a concurrent sweep that already moved a pupil matches
    nothing, so each change is logged once.
    """
    compulsory = compulsory or {}
    moves: dict[tuple[str | None, str], list[tuple[int, float, list[str]]]] = {}
    for pupil_id, entry in tallies.items():
        pupil = pupils.get(pupil_id)
        ytd = entry["ytd"]
        if pupil is None or ytd.percent is None:
            continue
        pf = set(flags.get(pupil_id, set()))
        counted = compulsory.get(pupil_id, ytd)
        absence = counted.absence_percent if counted is not None else None
        if absence is not None and absence >= float(th["persistent"]):
            pf.add("persistent")
        if absence is not None and absence >= float(th["severe"]):
            pf.add("severe")
        if pupil.send_ehcp:
            pf.add("ehcp")
        tier, reasons = tier_for(ytd.percent, pf, th)
        if tier != pupil.tier:
            moves.setdefault((pupil.tier, tier), []).append((pupil_id, ytd.percent, reasons))
    changed = 0
    for (old, new), items in moves.items():
        detail = {pid: (pct, reasons) for pid, pct, reasons in items}
        ids = list(detail)
        done: list[int] = []
        for i in range(0, len(ids), 1000):
            done += session.execute(
                update(Pupil).where(Pupil.id.in_(ids[i:i + 1000]), Pupil.tier.is_not_distinct_from(old))
                .values(tier=new).returning(Pupil.id).execution_options(synchronize_session=False)
            ).scalars().all()
        events = []
        for pid in done:
            pct, reasons = detail[pid]
            pupils[pid].tier = new
            events.append(CaseEvent(
                school_id=school.id, pupil_id=pid, kind="tier_change", at=now, actor="system",
                summary=f"Tier {old or 'none'} → {new} ({', '.join(reasons)})",
                data={"from": old, "to": new, "percent": pct, "reasons": reasons, "date": today.isoformat()}))
        session.add_all(events)
        changed += len(done)
    return changed


# --------------------------------------------------------------------------------------------------
# The sweep
# --------------------------------------------------------------------------------------------------


@dataclass
class _Sweep:
    """What every threshold check of one sweep reads: the school's pupils on roll, their tallies for
    the year, when each became of compulsory school age, and the alerts already raised."""

    session: Session
    school: School
    cal: SchoolCalendar
    th: dict
    today: date
    now: datetime
    year_start: date
    window_start: date
    tallies: dict
    pupils: dict[int, Pupil]
    csa: dict[int, date | None]
    known: set[str]

    def counted_from(self, pid: int, start: date) -> date | None:
        """The first day from ``start`` whose sessions count for ``pid``; None: none by today."""
        begins = self.csa.get(pid)
        if begins is None:
            return start
        return None if begins > self.today else max(start, begins)


def sweep(session: Session, *, school: School, policy: SchoolPolicy, cal: SchoolCalendar,
          now: datetime) -> dict:
    """The statutory thresholds for one school: N→O, penalty notice, local authority (illness,
    continuous unauthorised absence), children missing education, then every pupil's tier."""
    today = clock.to_local(now, school.timezone).date()
    th = policy_thresholds(policy)
    year_start = academic_year_start(today)
    window_start = cal.rolling_weeks_start(today, int(th["penalty_weeks"])) or year_start
    cutoff = n_cutoff(cal, today=today, school_days=policy.n_to_o_school_days) or date.min
    # One pass over the year's marks gives every count below. N→O moves a mark between two
    # unauthorised codes, so it changes none of them and can run after.
    tallies = pupil_tallies(
        session, school_id=school.id, ranges={"ytd": (year_start, today)},
        counts={"penalty": (UNAUTHORISED, max(window_start, year_start), today),
                "illness": (["I"], year_start, today),
                "overdue_n": (["N"], year_start, max(cutoff, year_start))},
    )
    overdue = {pid for pid, e in tallies.items() if e["overdue_n"]}
    summary = {"n_to_o": n_to_o(session, school_id=school.id, policy=policy, cal=cal, today=today, now=now,
                                pupil_ids=overdue)}
    session.flush()
    pupils = {p.id: p for p in session.exec(select(Pupil).where(Pupil.school_id == school.id,
                                                                 Pupil.on_roll)).all()}
    # Episodes already alerted (one query), so a steady-state run gathers no evidence it won't use.
    known = set(session.exec(select(Alert.idempotency_key).where(
        Alert.school_id == school.id, Alert.idempotency_key.like("thr:%"))).all())
    # Penalty-notice, persistent-absence and local-authority thresholds concern pupils of compulsory
    # school age, and only their sessions since then (``bot.pupils.compulsory_from``).
    run = _Sweep(session=session, school=school, cal=cal, th=th, today=today, now=now, year_start=year_start,
                 window_start=window_start, tallies=tallies, pupils=pupils,
                 csa={pid: compulsory_from(p) for pid, p in pupils.items()}, known=known)
    penalty, illness = _penalty(run), _illness(run)
    la_unauthorised, cme_referrals, cme = _continuous(run)
    summary.update(penalty=penalty, la_unauthorised=la_unauthorised, la_illness=illness, cme=cme_referrals)
    summary["tier_changes"] = _tiers(run, cme=cme)
    summary["not_compulsory_age"] = sum(1 for b in run.csa.values() if b is not None and b > today)
    return summary


def _penalty(run: _Sweep) -> int:
    """Penalty notice threshold: a new episode once the window no longer overlaps the last one met."""
    session, th, today, window_start = run.session, run.th, run.today, run.window_start
    met = {pid for pid, e in run.tallies.items()
           if e["penalty"] >= int(th["penalty_sessions"]) and pid in run.pupils}
    last_met: dict[int, date] = {}
    for pid, key in session.exec(select(Alert.pupil_id, Alert.idempotency_key).where(
            Alert.school_id == run.school.id, Alert.kind == "penalty_threshold")).all():
        last_met[pid] = max(last_met.get(pid, date.min), date.fromisoformat(key.rsplit(":", 1)[1]))
    raised = 0
    for pid in sorted(met):
        if last_met.get(pid, date.min) >= window_start:
            continue
        since = run.counted_from(pid, window_start)
        if since is None:
            continue
        ev = evidence(session, pupil_id=pid, start=since, end=today, codes_in=UNAUTHORISED)
        if len(ev) < int(th["penalty_sessions"]):  # sessions before compulsory school age left out
            continue
        raised += _raise(
            session, school=run.school, pupil=run.pupils[pid], key=f"thr:penalty:{pid}:{today.isoformat()}",
            kind="penalty_threshold", title="Penalty notice threshold met",
            text=f"{len(ev)} unauthorised sessions since {since:%d %b %Y} "
                 f"(threshold {th['penalty_sessions']} in {th['penalty_weeks']} school weeks).",
            audience="attendance", severity="normal", actions=["acknowledge"], now=run.now,
            data={"window_start": window_start.isoformat(), "as_of": today.isoformat(), "evidence": ev},
            email_to=run.school.attendance_lead_email)
    return raised


def _illness(run: _Sweep) -> int:
    """Fifteen school days of illness in the year (thirty sessions), consecutive or not."""
    sessions_needed = 2 * int(run.th["la_illness_days"])
    raised = 0
    for pid, e in sorted(run.tallies.items()):
        key = f"thr:illness:{pid}:{run.year_start.isoformat()}"
        if pid not in run.pupils or e["illness"] < sessions_needed or key in run.known:
            continue
        since = run.counted_from(pid, run.year_start)
        if since is None:
            continue
        ev = evidence(run.session, pupil_id=pid, start=since, end=run.today, codes_in=["I"])
        if len(ev) < sessions_needed:
            continue
        raised += _raise(
            run.session, school=run.school, pupil=run.pupils[pid], key=key,
            kind="la_illness", title="Notify the local authority: 15 days of illness",
            text=f"{len(ev) / 2:g} school days of illness this year.", audience="attendance",
            severity="high", actions=["la_notified", "acknowledge"], now=run.now,
            data={"evidence": ev, "days": len(ev) / 2})
    return raised


def _continuous(run: _Sweep) -> tuple[int, int, set[int]]:
    """Continuous unauthorised absence: 10 days -> LA; 20 with whereabouts unknown -> CME.

    Returns (LA alerts raised, CME alerts raised, pupils with a CME referral, new or earlier)."""
    la_days, cme_days = int(run.th["la_unauthorised_days"]), int(run.th["cme_days"])
    la = cme_raised = 0
    cme: set[int] = set()
    for found in continuous_runs(run.session, school_id=run.school.id, cal=run.cal, start=run.year_start,
                                 today=run.today, min_days=min(la_days, cme_days)):
        if found.pupil_id not in run.pupils:
            continue
        found = compulsory_part(run.session, found, since=run.counted_from(found.pupil_id, found.start))
        if found is None or found.days < min(la_days, cme_days):
            continue
        la_key = f"thr:la_unauth:{found.pupil_id}:{found.start.isoformat()}"
        cme_key = f"thr:cme:{found.pupil_id}:{found.start.isoformat()}"
        if la_key in run.known and (cme_key in run.known or found.days < cme_days):
            if cme_key in run.known:
                cme.add(found.pupil_id)
            continue
        ev = evidence(run.session, pupil_id=found.pupil_id, start=found.start, end=found.end,
                      codes_in=UNAUTHORISED)
        base = {"run_start": found.start.isoformat(), "run_end": found.end.isoformat(), "days": found.days,
                "evidence": ev}
        if found.days >= la_days:
            la += _raise_la_unauthorised(run, found, key=la_key, data=base)
        since = clock.at_local(found.start, time(0, 0), run.school.timezone)
        if found.days >= cme_days and not whereabouts_known_since(run.session, pupil_id=found.pupil_id,
                                                                  since=since):
            cme.add(found.pupil_id)
            cme_raised += _raise(
                run.session, school=run.school, pupil=run.pupils[found.pupil_id], key=cme_key,
                kind="cme", title="Children missing education referral",
                text=f"{found.days} school days of continuous unauthorised absence since "
                     f"{found.start:%d %b %Y} and no contact with the family or sighting of the child.",
                audience="dsl", severity="urgent", actions=["cme_referred", "la_notified"], now=run.now,
                data=base)
    return la, cme_raised, cme


def _raise_la_unauthorised(run: _Sweep, found: Run, *, key: str, data: dict) -> bool:
    return _raise(
        run.session, school=run.school, pupil=run.pupils[found.pupil_id], key=key,
        kind="la_unauthorised", title="Notify the local authority: 10 days unauthorised absence",
        text=f"{found.days} school days of continuous unauthorised absence since {found.start:%d %b %Y}.",
        audience="attendance", severity="high", actions=["la_notified", "acknowledge"], now=run.now,
        data=data)


def _tiers(run: _Sweep, *, cme: set[int]) -> int:
    """Every pupil's tier from the year's tallies (only sessions of compulsory school age count)."""
    flags: dict[int, set[str]] = {}
    for pid in no_contact_for_days(run.session, school_id=run.school.id, cal=run.cal, today=run.today,
                                   tz=run.school.timezone):
        flags.setdefault(pid, set()).add("no_contact_3_days")
    for pid in cme:
        flags.setdefault(pid, set()).add("cme")
    later = {pid: begins for pid, begins in run.csa.items() if begins is not None and begins > run.year_start}
    compulsory = tallies_from(run.session, starts={p: b for p, b in later.items() if b <= run.today},
                              until=run.today)
    compulsory.update({pid: None for pid, begins in later.items() if begins > run.today})
    return update_tiers(run.session, school=run.school, pupils=run.pupils, tallies=run.tallies, flags=flags,
                        th=run.th, today=run.today, now=run.now, compulsory=compulsory)


def compulsory_part(session: Session, run: Run, *, since: date | None) -> Run | None:
    """The part of a run of unauthorised absence from ``since`` (compulsory school age) on."""
    if since is None:
        return None
    if since <= run.start:
        return run
    dates = sorted({e["date"] for e in evidence(session, pupil_id=run.pupil_id, start=since, end=run.end,
                                                 codes_in=UNAUTHORISED)})
    if not dates:
        return None
    return Run(run.pupil_id, date.fromisoformat(dates[0]), run.end, len(dates))
