"""The weekly attendance report: whole school, classes and year groups, for the week and the year.

The numbers come from one GROUP BY per school (``pupil_tallies``); Python only sums per-pupil rows
into classes and years and sorts lists. The report is what the seeds' weekly review looks at:
persistent and severe absence, the lowest 20%, tier changes, open cases, thresholds met, and the
class cup winner.
"""

import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlmodel import Session, select

from bot import clock
from bot.attendance import Tally
from bot.calendar import SchoolCalendar
from bot.policy import thresholds as policy_thresholds
from bot.pupils import compulsory_from, year_label
from bot.reports.queries import academic_year_start, pupil_tallies, tallies_from
from bot.templates import ROOT
from storage.models import AbsenceCase, Alert, CaseEvent, Pupil, School, SchoolPolicy

THRESHOLD_KINDS = ("penalty_threshold", "la_unauthorised", "la_illness", "cme")


def week_bounds(day: date) -> tuple[date, date]:
    """Monday and Friday of ``day``'s week (a Saturday or Sunday belongs to the week just ended)."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=4)


def _sum(tallies: list[Tally]) -> Tally:
    return Tally(
        *(sum(getattr(t, f) for t in tallies) for f in ("possible", "attended", "authorised", "unauthorised"))
    )


def _group_row(name: str, week: list[Tally], ytd: list[Tally], pupils: int) -> dict:
    w, y = _sum(week), _sum(ytd)
    return {
        "name": name,
        "pupils": pupils,
        "week_percent": w.percent,
        "ytd_percent": y.percent,
        "week_possible": w.possible,
        "ytd_possible": y.possible,
    }


def _year_label(year: int | None) -> str:
    if year is None:
        return "Year unknown"
    return year_label(year)


def _pupil_row(p: Pupil, ytd: Tally, week: Tally) -> dict:
    return {
        "id": p.id,
        "name": f"{p.first_name} {p.last_name}",
        "year_group": p.year_group,
        "class_name": p.class_name or "",
        "ytd_percent": ytd.percent,
        "week_percent": week.percent,
        "absence_percent": ytd.absence_percent,
        "tier": p.tier,
    }


def sessions_covered(
    *,
    school: School,
    policy: SchoolPolicy,
    cal: SchoolCalendar,
    monday: date,
    friday: date,
    as_of: datetime | None,
) -> list[tuple[date, str]]:
    """The week's sessions whose register had closed by ``as_of`` (all of them when None).

    A report run by hand on a Wednesday covers Monday to Wednesday morning, and must say so rather
    than call itself a five-day week.
    """
    out = []
    for day in cal.school_days_between(monday, friday):
        for name, closes in (("AM", policy.am_close), ("PM", policy.pm_close)):
            if as_of is None or clock.at_local(day, _wall(closes), school.timezone) <= as_of:
                out.append((day, name))
    return out


def _wall(value) -> time:
    return value if isinstance(value, time) else time.fromisoformat(str(value))


def build(
    session: Session,
    *,
    school: School,
    policy: SchoolPolicy,
    cal: SchoolCalendar,
    week_ending: date,
    as_of: datetime | None = None,
) -> dict:
    """Everything the weekly report shows, as plain data (JSON-safe), as it stands at ``as_of``."""
    th = policy_thresholds(policy)
    monday, friday = week_bounds(week_ending)
    covered = sessions_covered(
        school=school, policy=policy, cal=cal, monday=monday, friday=friday, as_of=as_of
    )
    in_week = 2 * cal.count_school_days(monday, friday)
    year_start = academic_year_start(friday)
    tallies = pupil_tallies(
        session, school_id=school.id, ranges={"week": (monday, friday), "ytd": (year_start, friday)}
    )
    pupils = session.exec(select(Pupil).where(Pupil.school_id == school.id, Pupil.on_roll)).all()
    compulsory = _compulsory_tallies(session, pupils=pupils, year_start=year_start, friday=friday)
    rows, classes, years, whole = _groups(pupils, tallies)
    measured = [(p, w, y) for p, w, y in rows if y.percent is not None]
    persistent = _persistent(measured, compulsory, th=th)
    severe = [r for r in persistent if r["absence_percent"] >= float(th["severe"])]
    tier_changes, open_cases, met = _week_events(
        session, school=school, cal=cal, pupils=pupils, monday=monday, friday=friday
    )
    return {
        "school": {"id": school.id, "urn": school.urn, "name": school.name},
        "week_start": monday.isoformat(),
        "week_ending": friday.isoformat(),
        "year_start": year_start.isoformat(),
        "school_days_this_week": cal.count_school_days(monday, friday),
        "sessions_in_week": in_week,
        "sessions_covered": len(covered),
        "partial": len(covered) < in_week,
        "covered_through": (f"{covered[-1][0]:%a %d %b} {covered[-1][1]}" if covered else None),
        "whole": whole,
        "classes": classes,
        "years": years,
        "persistent": persistent,
        "severe": severe,
        "lowest": _lowest(measured),
        "tier_changes": tier_changes,
        "tiers": _tier_counts(pupils),
        "open_cases": open_cases,
        "thresholds_met": met,
        "cup": _cup(classes),
        "target": float(th["letter_concern"]),
    }


def _compulsory_tallies(
    session: Session, *, pupils: list[Pupil], year_start: date, friday: date
) -> dict[int, Tally | None]:
    """Tallies for pupils who reached compulsory school age after the year began.

    Persistent and severe absence concern pupils of compulsory school age, over their sessions since
    (``bot.pupils``): None for a pupil not of that age by Friday, a tally from then for one who
    became so this year, and the year's tally (absent here) for everyone else.
    """
    later = {p.id: b for p in pupils if (b := compulsory_from(p)) is not None and b > year_start}
    compulsory: dict[int, Tally | None] = dict(
        tallies_from(session, starts={pid: b for pid, b in later.items() if b <= friday}, until=friday)
    )
    compulsory.update({pid: None for pid, b in later.items() if b > friday})
    return compulsory


def _lowest(measured: list) -> list[dict]:
    """The fifth of measured pupils with the lowest attendance this year, lowest first."""
    lowest_n = math.ceil(len(measured) * 0.2)
    return [
        _pupil_row(p, y, w)
        for p, w, y in sorted(measured, key=lambda r: (r[2].percent, r[0].last_name, r[0].id))[:lowest_n]
    ]


def _cup(classes: list[dict]) -> dict | None:
    """The class with the best attendance this week (the year's figure, then the name, breaks ties)."""
    candidates = [c for c in classes if c["week_percent"] is not None and c["name"] != "(no class)"]
    return max(candidates, key=lambda c: (c["week_percent"], c["ytd_percent"] or 0, c["name"]), default=None)


def _tier_counts(pupils: list[Pupil]) -> dict[str, int]:
    """How many pupils are on each tier of the support ladder."""
    tiers: dict[str, int] = defaultdict(int)
    for p in pupils:
        tiers[p.tier or "not yet set"] += 1
    return dict(tiers)


def _groups(pupils: list[Pupil], tallies: dict) -> tuple[list, list[dict], list[dict], dict]:
    """(pupil, week, year) per pupil, and the rows by class, by year group and for the whole school."""
    empty = Tally(0, 0, 0, 0)
    rows, by_class, by_year = [], defaultdict(list), defaultdict(list)
    for p in pupils:
        t = tallies.get(p.id, {"week": empty, "ytd": empty})
        rows.append((p, t["week"], t["ytd"]))
        by_class[p.class_name or "(no class)"].append(t)
        by_year[p.year_group].append(t)

    def groups(buckets: dict, label, order) -> list[dict]:
        return [
            _group_row(
                label(k), [t["week"] for t in buckets[k]], [t["ytd"] for t in buckets[k]], len(buckets[k])
            )
            for k in sorted(buckets, key=order)
        ]

    classes = groups(by_class, str, str)
    years = groups(by_year, _year_label, lambda y: (y is None, y or 0))
    whole = _group_row("Whole school", [r[1] for r in rows], [r[2] for r in rows], len(rows))
    return rows, classes, years, whole


def _persistent(measured: list, compulsory: dict, *, th: dict) -> list[dict]:
    """Pupils whose absence (over their sessions of compulsory school age) is persistent, lowest first."""
    persistent = []
    for p, w, y in measured:
        counted = compulsory.get(p.id, y)
        if counted is not None and counted.possible and counted.absence_percent >= float(th["persistent"]):
            persistent.append({**_pupil_row(p, y, w), "absence_percent": counted.absence_percent})
    persistent.sort(key=lambda r: r["ytd_percent"])
    return persistent


def _week_events(
    session: Session, *, school: School, cal: SchoolCalendar, pupils: list[Pupil], monday: date, friday: date
) -> tuple[list[dict], list[dict], list[dict]]:
    """This week's tier changes and thresholds met, and the cases open now."""
    tz = school.timezone
    since = clock.at_local(monday, time(0, 0), tz)
    until = clock.at_local(friday + timedelta(days=3), time(0, 0), tz)  # to the end of Sunday
    names = {p.id: f"{p.first_name} {p.last_name}" for p in pupils}
    tier_changes = [
        {
            "pupil": names.get(e.pupil_id, "?"),
            "from": e.data.get("from"),
            "to": e.data.get("to"),
            "percent": e.data.get("percent"),
            "at": clock.to_local(e.at, tz).strftime("%a %d %b"),
        }
        for e in session.exec(
            select(CaseEvent)
            .where(
                CaseEvent.school_id == school.id,
                CaseEvent.kind == "tier_change",
                CaseEvent.at >= since,
                CaseEvent.at < until,
            )
            .order_by(CaseEvent.at)
        ).all()
    ]
    open_cases = [
        {
            "pupil": names.get(c.pupil_id, "?"),
            "since": c.first_date.isoformat(),
            "day": cal.school_day_number(c.first_date, c.last_absent_date),
        }
        for c in session.exec(
            select(AbsenceCase)
            .where(AbsenceCase.school_id == school.id, AbsenceCase.status == "open")
            .order_by(AbsenceCase.first_date)
        ).all()
    ]
    met = [
        {
            "kind": a.kind,
            "title": a.title,
            "status": a.status,
            "at": clock.to_local(a.created_at, tz).strftime("%a %d %b"),
        }
        for a in session.exec(
            select(Alert)
            .where(
                Alert.school_id == school.id,
                Alert.kind.in_(THRESHOLD_KINDS),
                Alert.created_at >= since,
                Alert.created_at < until,
            )
            .order_by(Alert.created_at)
        ).all()
    ]
    return tier_changes, open_cases, met


@cache
def _env() -> Environment:
    # Staff reports carry names: autoescape every value (the shared env escapes *.html only).
    # One environment for the process, so the template is compiled once, not once per school.
    return Environment(
        loader=FileSystemLoader(str(ROOT)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(report: dict, *, chart_file: str | None, generated_at: datetime) -> str:
    return (
        _env()
        .get_template("reports/weekly.html.j2")
        .render(r=report, chart_file=chart_file, generated_at=generated_at)
    )


def save(report: dict, *, out_dir: Path, generated_at: datetime) -> tuple[Path, Path | None]:
    """Write the chart (PNG) and the HTML page next to it; returns their paths."""
    from bot.reports.chart import class_chart

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"weekly-{report['school']['urn']}-{report['week_ending']}"
    chart = class_chart(report, out_dir / f"{stem}.png")
    html = out_dir / f"{stem}.html"
    html.write_text(
        render_html(report, chart_file=chart.name if chart else None, generated_at=generated_at),
        encoding="utf-8",
    )
    return html, chart


def summary_text(report: dict) -> str:
    w = report["whole"]

    def pct(v):
        return "—" if v is None else f"{v:.1f}%"

    scope = (
        f" (partial week: {report['sessions_covered']} of {report['sessions_in_week']} sessions, "
        f"to {report['covered_through'] or 'none yet'})"
        if report.get("partial")
        else ""
    )
    lines = [
        f"Week ending {date.fromisoformat(report['week_ending']):%a %d %b %Y}{scope}: "
        f"{pct(w['week_percent'])} this week, {pct(w['ytd_percent'])} this year.",
        f"Persistent absence: {len(report['persistent'])}; severe: {len(report['severe'])}; "
        f"open cases: {len(report['open_cases'])}; thresholds met: {len(report['thresholds_met'])}; "
        f"tier changes: {len(report['tier_changes'])}.",
    ]
    if report["cup"]:
        lines.append(f"Class cup: {report['cup']['name']} ({pct(report['cup']['week_percent'])}).")
    return "\n".join(lines)
