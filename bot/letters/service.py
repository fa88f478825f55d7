"""Stage letters from the template policy's monitoring appendix, prepared for staff to review.

- attendance below 96% (``letter_concern``): a letter raising concern;
- below 90% (``letter_formal``): attendance is now formally monitored;
- back at 96% or above after either: a congratulations letter.

The bot only prepares the letters and lists what is due: a person reads, signs and sends every
letter. Nothing here queues a message. A letter counts as prepared once rendered (a ``letter_prepared``
case-log entry), so the same stage is not listed twice in a school year.

Each letter is written in the language of the family's first contact with parental responsibility
(``bot.templates``; English when we do not ship theirs), as printable HTML and as PDF (WeasyPrint,
which needs Pango and the Noto fonts: ``scripts/ensure-pdf.sh``), plus an English copy for the
school's file when the family's letter is in another language.
"""

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from babel.dates import format_date
from babel.numbers import format_decimal
from sqlmodel import Session, select

from bot import clock
from bot.cases.service import log
from bot.policy import policy_for
from bot.policy import thresholds as policy_thresholds
from bot.reports.queries import academic_year_start, pupil_tallies
from bot.templates import ENGLISH_NAMES, N_, SOURCE_LANGUAGE, env_for, language, translate
from storage.models import CaseEvent, Contact, Pupil, PupilContact, School

TYPES = {
    "concern": N_("Attendance below the expected standard"),
    "formal": N_("Attendance now formally monitored"),
    "congratulations": N_("Congratulations on improved attendance"),
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
    rows = session.exec(
        select(CaseEvent).where(CaseEvent.school_id == school_id, CaseEvent.kind == "letter_prepared")
    ).all()
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
    pupils = {
        p.id: p for p in session.exec(select(Pupil).where(Pupil.school_id == school.id, Pupil.on_roll)).all()
    }
    out = []
    for pid, entry in tallies.items():
        ytd, pupil = entry["ytd"], pupils.get(pid)
        if pupil is None or ytd.percent is None:
            continue
        kind = stage_for(ytd.percent, [k for _, k in history.get(pid, [])], th)
        if kind:
            out.append(
                LetterDue(
                    pid,
                    f"{pupil.first_name} {pupil.last_name}",
                    pupil.class_name or "",
                    kind,
                    ytd.percent,
                    ytd.possible,
                    ytd.possible - ytd.attended,
                )
            )
    return sorted(out, key=lambda d: (d.percent, d.pupil_name))


@dataclass(frozen=True)
class Addressee:
    name: str | None  # None: no contact with parental responsibility ("Parent/Carer")
    language: str  # the language the family's letter is written in


def _addressee(session: Session, pupil_id: int) -> Addressee:
    row = session.exec(
        select(Contact)
        .join(PupilContact, PupilContact.contact_id == Contact.id)
        .where(PupilContact.pupil_id == pupil_id, PupilContact.parental_responsibility)
        .order_by(PupilContact.priority, Contact.id)
    ).first()
    if row is None:
        return Addressee(None, SOURCE_LANGUAGE)
    return Addressee(f"{row.first_name} {row.last_name}", language(row.language))


def _number(value: float, lang: str, pattern: str) -> str:
    return format_decimal(value, format=pattern, locale=_locale(lang))


def _locale(lang: str) -> str:
    # CLDR: Punjabi in Gurmukhi is ``pa_Guru``; English dates the British way (14 October 2026).
    return {"pa": "pa_Guru", "en": "en_GB"}.get(lang, lang)


def render_letter(
    session: Session,
    *,
    school: School,
    item: LetterDue,
    today: date,
    lang: str | None = None,
    copy_of: str | None = None,
) -> str:
    """The letter as HTML, in ``lang`` (default: the family's language).

    ``copy_of`` names the family's language on the school's English copy. The formal letter says
    "we wrote to you earlier" only when a letter was prepared for the pupil earlier this year.
    """
    pupil = session.get(Pupil, item.pupil_id)
    th = policy_thresholds(policy_for(session, school.id))
    addressee = _addressee(session, item.pupil_id)
    lang = lang or addressee.language
    year_start = academic_year_start(today)
    earlier = _prepared(session, school_id=school.id, since=year_start).get(item.pupil_id, [])
    parent = addressee.name or translate(lang, "Parent/Carer")
    return (
        env_for(lang)
        .get_template(f"letters/{item.kind}.html.j2")
        .render(
            school=school,
            parent_name=parent,
            pupil=pupil,
            pupil_name=item.pupil_name,
            percent=_number(item.percent, lang, "0.0"),
            missed=item.missed,
            possible=item.possible,
            year_start=format_date(year_start, format="long", locale=_locale(lang)),
            date_text=format_date(today, format="long", locale=_locale(lang)),
            target=_number(float(th["letter_concern"]), lang, "0.##"),
            formal_threshold=_number(float(th["letter_formal"]), lang, "0.##"),
            title=translate(lang, TYPES[item.kind]),
            wrote_before=bool(earlier),
            copy_of=copy_of,
        )
    )


def write_pdf(html: str, path: Path) -> set[str]:
    """Render the HTML to PDF with WeasyPrint; returns the font families embedded in it.

    WeasyPrint is imported here (it loads Pango: ~0.3 s once). Pango picks, per script, a font
    that has its glyphs (Noto Naskh Arabic, Noto Nastaliq Urdu, Noto Sans Bengali/Gurmukhi from
    ``fonts-noto-core``), so the families embedded show whether the script really printed.
    """
    from weasyprint import HTML

    document = HTML(string=html).render()
    document.write_pdf(str(path))
    return {font.family for font in document.fonts.values()}


def render_due(
    session: Session,
    *,
    school: School,
    now: datetime,
    out_dir: Path,
    actor: str = "system",
    today: date | None = None,
    pdf: bool = True,
) -> list[Path]:
    """Write each due letter and record it as prepared (never sent by the bot).

    Per letter: ``….<lang>.html`` (and ``.pdf``) in the family's language, and ``….en.html``
    (``.pdf``) as the school's English copy when the family's language is not English. Returns the
    family letters' HTML paths; the log entry lists every file.
    """
    today = today or clock.to_local(now, school.timezone).date()
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for item in due(session, school=school, today=today):
        lang = _addressee(session, item.pupil_id).language
        stem = f"letter-{school.urn}-{item.pupil_id}-{item.kind}-{today.isoformat()}"
        versions = [(lang, None)]
        if lang != SOURCE_LANGUAGE:
            versions.append((SOURCE_LANGUAGE, ENGLISH_NAMES[lang]))
        files = []
        for version, copy_of in versions:
            html = render_letter(
                session, school=school, item=item, today=today, lang=version, copy_of=copy_of
            )
            path = out_dir / f"{stem}.{version}.html"
            path.write_text(html, encoding="utf-8")
            files.append(path)
            if pdf:
                write_pdf(html, path.with_suffix(".pdf"))
                files.append(path.with_suffix(".pdf"))
        log(
            session,
            school_id=school.id,
            pupil_id=item.pupil_id,
            kind="letter_prepared",
            summary=f"{TYPES[item.kind]} letter prepared for review ({item.percent:.1f}%, "
            f"{ENGLISH_NAMES[lang]})",
            actor=actor,
            data={
                "type": item.kind,
                "percent": item.percent,
                "as_of": today.isoformat(),
                "path": str(files[0]),
                "language": lang,
                "files": [str(f) for f in files],
            },
            now=now,
        )
        paths.append(files[0])
    return paths
