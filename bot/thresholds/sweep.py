"""The daily statutory sweep for one school: N→O, then one small step per threshold (penalty notice,
illness, continuous unauthorised absence and children missing education), then every pupil's tier.

One pass over the year's marks (``pupil_tallies``) feeds every step; the steps share it through
``_Sweep``. What each threshold means is in ``bot.thresholds.service``'s docstring.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlmodel import Session, select

from bot import clock
from bot.calendar import SchoolCalendar
from bot.policy import thresholds as policy_thresholds
from bot.pupils import compulsory_from
from bot.reports.queries import UNAUTHORISED, academic_year_start, pupil_tallies, tallies_from
from bot.thresholds.service import (
    Run,
    continuous_runs,
    evidence,
    n_cutoff,
    n_to_o,
    no_contact_for_days,
    raise_threshold,
    update_tiers,
    whereabouts_known_since,
)
from storage.models import Alert, Pupil, School, SchoolPolicy


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


def sweep(
    session: Session, *, school: School, policy: SchoolPolicy, cal: SchoolCalendar, now: datetime
) -> dict:
    """The statutory thresholds for one school: N→O, penalty notice, local authority (illness,
    continuous unauthorised absence), children missing education, then every pupil's tier."""
    today = clock.to_local(now, school.timezone).date()
    th = policy_thresholds(policy)
    year_start = academic_year_start(today)
    window_start = cal.rolling_weeks_start(today, int(th["penalty_weeks"])) or year_start
    cutoff = n_cutoff(cal, today=today, school_days=policy.n_to_o_school_days) or date.min
    tallies = _year_tallies(
        session,
        school_id=school.id,
        year_start=year_start,
        window_start=window_start,
        cutoff=cutoff,
        today=today,
    )
    overdue = {pid for pid, e in tallies.items() if e["overdue_n"]}
    summary = {
        "n_to_o": n_to_o(
            session, school_id=school.id, policy=policy, cal=cal, today=today, now=now, pupil_ids=overdue
        )
    }
    session.flush()
    pupils = {
        p.id: p for p in session.exec(select(Pupil).where(Pupil.school_id == school.id, Pupil.on_roll)).all()
    }
    known = _alerted_episodes(session, school_id=school.id)
    # Penalty-notice, persistent-absence and local-authority thresholds concern pupils of compulsory
    # school age, and only their sessions since then (``bot.pupils.compulsory_from``).
    run = _Sweep(
        session=session,
        school=school,
        cal=cal,
        th=th,
        today=today,
        now=now,
        year_start=year_start,
        window_start=window_start,
        tallies=tallies,
        pupils=pupils,
        csa={pid: compulsory_from(p) for pid, p in pupils.items()},
        known=known,
    )
    penalty, illness = _penalty(run), _illness(run)
    la_unauthorised, cme_referrals, cme = _continuous(run)
    summary.update(penalty=penalty, la_unauthorised=la_unauthorised, la_illness=illness, cme=cme_referrals)
    summary["tier_changes"] = _tiers(run, cme=cme)
    summary["not_compulsory_age"] = sum(1 for b in run.csa.values() if b is not None and b > today)
    return summary


def _year_tallies(
    session: Session, *, school_id: int, year_start: date, window_start: date, cutoff: date, today: date
) -> dict[int, dict]:
    """Each pupil's year so far, penalty-window unauthorised sessions, illness and overdue N marks.

    One pass over the year's marks gives every count the sweep uses. N→O moves a mark between two
    unauthorised codes, so it changes none of them and can run after.
    """
    return pupil_tallies(
        session,
        school_id=school_id,
        ranges={"ytd": (year_start, today)},
        counts={
            "penalty": (UNAUTHORISED, max(window_start, year_start), today),
            "illness": (["I"], year_start, today),
            "overdue_n": (["N"], year_start, max(cutoff, year_start)),
        },
    )


def _alerted_episodes(session: Session, *, school_id: int) -> set[str]:
    """Keys of threshold episodes already alerted (one query), so a steady-state run gathers no
    evidence it won't use."""
    return set(
        session.exec(
            select(Alert.idempotency_key).where(
                Alert.school_id == school_id, Alert.idempotency_key.like("thr:%")
            )
        ).all()
    )


def _penalty(run: _Sweep) -> int:
    """Penalty notice threshold: a new episode once the window no longer overlaps the last one met."""
    session, th, today, window_start = run.session, run.th, run.today, run.window_start
    met = {
        pid
        for pid, e in run.tallies.items()
        if e["penalty"] >= int(th["penalty_sessions"]) and pid in run.pupils
    }
    last_met: dict[int, date] = {}
    for pid, key in session.exec(
        select(Alert.pupil_id, Alert.idempotency_key).where(
            Alert.school_id == run.school.id, Alert.kind == "penalty_threshold"
        )
    ).all():
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
        raised += raise_threshold(
            session,
            school=run.school,
            pupil=run.pupils[pid],
            key=f"thr:penalty:{pid}:{today.isoformat()}",
            kind="penalty_threshold",
            title="Penalty notice threshold met",
            text=f"{len(ev)} unauthorised sessions since {since:%d %b %Y} "
            f"(threshold {th['penalty_sessions']} in {th['penalty_weeks']} school weeks).",
            audience="attendance",
            severity="normal",
            actions=["acknowledge"],
            now=run.now,
            data={"window_start": window_start.isoformat(), "as_of": today.isoformat(), "evidence": ev},
            email_to=run.school.attendance_lead_email,
        )
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
        raised += raise_threshold(
            run.session,
            school=run.school,
            pupil=run.pupils[pid],
            key=key,
            kind="la_illness",
            title="Notify the local authority: 15 days of illness",
            text=f"{len(ev) / 2:g} school days of illness this year.",
            audience="attendance",
            severity="high",
            actions=["la_notified", "acknowledge"],
            now=run.now,
            data={"evidence": ev, "days": len(ev) / 2},
        )
    return raised


def _continuous(run: _Sweep) -> tuple[int, int, set[int]]:
    """Continuous unauthorised absence: 10 days -> LA; 20 with whereabouts unknown -> CME.

    Returns (LA alerts raised, CME alerts raised, pupils with a CME referral, new or earlier)."""
    la_days, cme_days = int(run.th["la_unauthorised_days"]), int(run.th["cme_days"])
    la = cme_raised = 0
    cme: set[int] = set()
    for found in continuous_runs(
        run.session,
        school_id=run.school.id,
        cal=run.cal,
        start=run.year_start,
        today=run.today,
        min_days=min(la_days, cme_days),
    ):
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
        ev = evidence(
            run.session, pupil_id=found.pupil_id, start=found.start, end=found.end, codes_in=UNAUTHORISED
        )
        base = {
            "run_start": found.start.isoformat(),
            "run_end": found.end.isoformat(),
            "days": found.days,
            "evidence": ev,
        }
        if found.days >= la_days:
            la += _raise_la_unauthorised(run, found, key=la_key, data=base)
        since = clock.at_local(found.start, time(0, 0), run.school.timezone)
        if found.days >= cme_days and not whereabouts_known_since(
            run.session, pupil_id=found.pupil_id, since=since
        ):
            cme.add(found.pupil_id)
            cme_raised += raise_threshold(
                run.session,
                school=run.school,
                pupil=run.pupils[found.pupil_id],
                key=cme_key,
                kind="cme",
                title="Children missing education referral",
                text=f"{found.days} school days of continuous unauthorised absence since "
                f"{found.start:%d %b %Y} and no contact with the family or sighting of the child.",
                audience="dsl",
                severity="urgent",
                actions=["cme_referred", "la_notified"],
                now=run.now,
                data=base,
            )
    return la, cme_raised, cme


def _raise_la_unauthorised(run: _Sweep, found: Run, *, key: str, data: dict) -> bool:
    return raise_threshold(
        run.session,
        school=run.school,
        pupil=run.pupils[found.pupil_id],
        key=key,
        kind="la_unauthorised",
        title="Notify the local authority: 10 days unauthorised absence",
        text=f"{found.days} school days of continuous unauthorised absence since {found.start:%d %b %Y}.",
        audience="attendance",
        severity="high",
        actions=["la_notified", "acknowledge"],
        now=run.now,
        data=data,
    )


def _tiers(run: _Sweep, *, cme: set[int]) -> int:
    """Every pupil's tier from the year's tallies (only sessions of compulsory school age count)."""
    flags: dict[int, set[str]] = {}
    for pid in no_contact_for_days(
        run.session, school_id=run.school.id, cal=run.cal, today=run.today, tz=run.school.timezone
    ):
        flags.setdefault(pid, set()).add("no_contact_3_days")
    for pid in cme:
        flags.setdefault(pid, set()).add("cme")
    later = {pid: begins for pid, begins in run.csa.items() if begins is not None and begins > run.year_start}
    compulsory = tallies_from(
        run.session, starts={p: b for p, b in later.items() if b <= run.today}, until=run.today
    )
    compulsory.update({pid: None for pid, begins in later.items() if begins > run.today})
    return update_tiers(
        run.session,
        school=run.school,
        pupils=run.pupils,
        tallies=run.tallies,
        flags=flags,
        th=run.th,
        today=run.today,
        now=run.now,
        compulsory=compulsory,
    )


def compulsory_part(session: Session, run: Run, *, since: date | None) -> Run | None:
    """The part of a run of unauthorised absence from ``since`` (compulsory school age) on."""
    if since is None:
        return None
    if since <= run.start:
        return run
    dates = sorted(
        {
            e["date"]
            for e in evidence(session, pupil_id=run.pupil_id, start=since, end=run.end, codes_in=UNAUTHORISED)
        }
    )
    if not dates:
        return None
    return Run(run.pupil_id, date.fromisoformat(dates[0]), run.end, len(dates))
