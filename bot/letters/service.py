"""Stage letters from the template policy's monitoring appendix, prepared for staff to review.

- attendance below 96% (``letter_concern``): a letter raising concern;
- below 90% (``letter_formal``): attendance is now formally monitored;
- back at 96% or above after either: a congratulations letter.

The bot only prepares printable HTML and lists what is due: a person reads, signs and sends every
letter. Nothing here queues a message. A letter counts as prepared once rendered (a ``letter_prepared``
case-log entry), so the same stage is not listed twice in a school year.
"""

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlmodel import Session, select

from bot import clock
from bot.cases.service import log
from bot.policy import policy_for
from bot.policy import thresholds as policy_thresholds
from bot.reports.queries import academic_year_start, pupil_tallies
from bot.templates import ROOT
from storage.models import CaseEvent, Contact, Pupil, PupilContact, School

TYPES = {
    "concern": "Attendance below the expected standard",
    "formal": "Attendance now formally monitored",
    "congratulations": "Congratulations on improved attendance",
}


@dataclass(frozen=True)
class LetterDue:
    pupil_id: int
    pupil_name: str
    class_name: str
    kind: str
    percent: float
    possible: int
    missed: int


def _prepared(session: Session, *, school_id: int, since: date) -> dict[int, list[tuple[datetime, str]]]:
    out: dict[int, list[tuple[datetime, str]]] = {}
    rows = session.exec(select(CaseEvent).where(CaseEvent.school_id == school_id,
                                                CaseEvent.kind == "letter_prepared")).all()
    for e in rows:
        if date.fromisoformat(e.data.get("as_of", "1900-01-01")) >= since:
            out.setdefault(e.pupil_id, []).append((e.at, e.data.get("type")))
    for v in out.values():
        v.sort()
    return out


def stage_for(percent: float, history: list[str], th: dict) -> str | None:
    """The letter due now, given the letters already prepared this year (oldest first)."""
    if percent < float(th["letter_formal"]):
        return None if "formal" in history else "formal"
    if percent < float(th["letter_concern"]):
        return None if {"concern", "formal"} & set(history) else "concern"
    if history and history[-1] in ("concern", "formal"):
        return "congratulations"
    return None


def due(session: Session, *, school: School, today: date) -> list[LetterDue]:
    """Letters due today, worst attendance first. Computed from one GROUP BY over the year's marks."""
    th = policy_thresholds(policy_for(session, school.id))
    year_start = academic_year_start(today)
    tallies = pupil_tallies(session, school_id=school.id, ranges={"ytd": (year_start, today)})
    history = _prepared(session, school_id=school.id, since=year_start)
    pupils = {p.id: p for p in session.exec(select(Pupil).where(Pupil.school_id == school.id,
                                                                 Pupil.on_roll)).all()}
    out = []
    for pid, entry in tallies.items():
        ytd, pupil = entry["ytd"], pupils.get(pid)
        if pupil is None or ytd.percent is None:
            continue
        kind = stage_for(ytd.percent, [k for _, k in history.get(pid, [])], th)
        if kind:
            out.append(LetterDue(pid, f"{pupil.first_name} {pupil.last_name}", pupil.class_name or "", kind,
                                 ytd.percent, ytd.possible, ytd.possible - ytd.attended))
    return sorted(out, key=lambda d: (d.percent, d.pupil_name))


def _addressee(session: Session, pupil_id: int) -> str:
    row = session.exec(
        select(Contact)
        .join(PupilContact, PupilContact.contact_id == Contact.id)
        .where(PupilContact.pupil_id == pupil_id, PupilContact.parental_responsibility)
        .order_by(PupilContact.priority, Contact.id)
    ).first()
    return f"{row.first_name} {row.last_name}" if row else "Parent/Carer"


def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(ROOT)), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def render_letter(session: Session, *, school: School, item: LetterDue, today: date) -> str:
    pupil = session.get(Pupil, item.pupil_id)
    th = policy_thresholds(policy_for(session, school.id))
    return _env().get_template(f"letters/{item.kind}.html.j2").render(
        school=school, parent_name=_addressee(session, item.pupil_id), pupil=pupil,
        pupil_name=item.pupil_name, percent=item.percent, missed_sessions=item.missed,
        possible_sessions=item.possible, year_start=academic_year_start(today), today=today,
        target=float(th["letter_concern"]), formal_threshold=float(th["letter_formal"]),
        title=TYPES[item.kind],
    )


def render_due(session: Session, *, school: School, now: datetime, out_dir: Path, actor: str = "system",
               today: date | None = None) -> list[Path]:
    """Write each due letter as printable HTML and record it as prepared (never sent by the bot)."""
    today = today or clock.to_local(now, school.timezone).date()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in due(session, school=school, today=today):
        path = out_dir / f"letter-{school.urn}-{item.pupil_id}-{item.kind}-{today.isoformat()}.html"
        path.write_text(render_letter(session, school=school, item=item, today=today), encoding="utf-8")
        log(session, school_id=school.id, pupil_id=item.pupil_id, kind="letter_prepared",
            summary=f"{TYPES[item.kind]} letter prepared for review ({item.percent:.1f}%)", actor=actor,
            data={"type": item.kind, "percent": item.percent, "as_of": today.isoformat(), "path": str(path)},
            now=now)
        paths.append(path)
    return paths
