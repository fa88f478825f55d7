"""Stage letters on SQLite and PostgreSQL: who is due which letter, rendering, never sending."""

from datetime import date

import pytest
from click.testing import CliRunner
from sqlmodel import select

from bot.letters.service import due, render_due, stage_for
from bot.policy import DEFAULT_THRESHOLDS
from bot.typical_calendar import calendar_2026_27
from storage.models import CaseEvent, OutboxMessage
from tests import factories

CAL = calendar_2026_27()
DAYS = CAL.school_days_between(date(2026, 9, 3), date(2026, 10, 14))  # 30 school days, 60 sessions


def attend(session, pupil, missed: int):
    """Present every session but ``missed`` (authorised illness, the first mornings)."""
    for i, day in enumerate(DAYS):
        factories.mark(session, pupil, day, "AM", "I" if i < missed else "/")
        factories.mark(session, pupil, day, "PM", "\\")


@pytest.fixture
def school(session):
    row = factories.school(session, urn="654321", name="Oakfield Primary", phone="01234 567890")
    session.commit()
    return row


def test_stage_rules():
    th = DEFAULT_THRESHOLDS
    assert stage_for(97.0, [], th) is None
    assert stage_for(95.0, [], th) == "concern"
    assert stage_for(95.0, ["concern"], th) is None
    assert stage_for(85.0, ["concern"], th) == "formal"
    assert stage_for(85.0, ["concern", "formal"], th) is None
    assert stage_for(96.5, ["concern", "formal"], th) == "congratulations"
    assert stage_for(96.5, ["concern", "congratulations"], th) is None


def test_letters_due_render_and_are_not_listed_twice_or_sent(engine, session, school, tmp_path):
    fine = factories.pupil(session, school, first="Ada", last="Fine")
    below = factories.pupil(session, school, first="Ben", last="Low", class_name="4B")
    far = factories.pupil(session, school, first="Cal", last="Far", class_name="4B")
    factories.contact(session, school, below, first="Sara", last="Low")
    attend(session, fine, 1)  # 98.3%
    attend(session, below, 3)  # 95.0%
    attend(session, far, 9)  # 85.0%
    session.commit()
    today = date(2026, 10, 14)
    items = due(session, school=school, today=today)
    assert [(i.pupil_name, i.kind, i.percent) for i in items] == [
        ("Cal Far", "formal", 85.0),
        ("Ben Low", "concern", 95.0),
    ]
    paths = render_due(session, school=school, out_dir=tmp_path, now=factories.at(today, "16:00"))
    session.commit()
    assert len(paths) == 2
    concern = next(p for p in paths if "concern" in p.name).read_text()
    assert "Dear Sara Low," in concern and "Ben Low (4B)" in concern
    assert "95.0% of sessions (3 of 60 sessions missed)" in concern and "Oakfield Primary" in concern
    assert "14 October 2026" in concern
    formal = next(p for p in paths if "formal" in p.name).read_text()
    assert "Dear Parent/Carer," in formal and "formally monitored" in formal
    # No letter was prepared for Cal before: the formal letter must not say we wrote earlier.
    assert "wrote to you earlier" not in formal and "We are writing about Cal's attendance" in formal
    assert all(p.with_suffix(".pdf").read_bytes().startswith(b"%PDF") for p in paths)
    assert due(session, school=school, today=today) == []
    assert session.exec(select(OutboxMessage)).all() == []  # never sent by the bot
    assert len(session.exec(select(CaseEvent).where(CaseEvent.kind == "letter_prepared")).all()) == 2

    # Ben's attendance recovers to 96%+ → congratulations, once.
    for day in CAL.school_days_between(date(2026, 10, 15), date(2026, 12, 18)):
        factories.mark(session, below, day, "AM", "/")
        factories.mark(session, below, day, "PM", "\\")
    session.commit()
    later = date(2026, 12, 18)
    assert [(i.pupil_name, i.kind) for i in due(session, school=school, today=later)] == [
        ("Ben Low", "congratulations")
    ]
    [path] = render_due(session, school=school, out_dir=tmp_path, now=factories.at(later, "15:00"))
    assert "Congratulations" in path.read_text() and "Senior Leadership Team" in path.read_text()


def test_letters_cli(engine, session, school, tmp_path, settings_env):
    from bot.cli import main

    p = factories.pupil(session, school, first="Dee", last="Mid")
    attend(session, p, 4)  # 93.3%
    session.commit()
    listed = CliRunner().invoke(main, ["letters", "list", "--school", "654321", "--today", "2026-10-14"])
    assert listed.exit_code == 0, listed.output
    assert "Dee Mid" in listed.output and "below the expected standard" in listed.output
    rendered = CliRunner().invoke(
        main, ["letters", "render", "--school", "654321", "--today", "2026-10-14", "--out", str(tmp_path)]
    )
    assert rendered.exit_code == 0, rendered.output
    assert "1 letter(s) written" in rendered.output
    again = CliRunner().invoke(main, ["letters", "list", "--school", "654321", "--today", "2026-10-14"])
    assert "No letters due." in again.output


def test_formal_letter_says_we_wrote_earlier_only_after_an_earlier_letter(engine, session, school, tmp_path):
    p = factories.pupil(session, school, first="Eve", last="Slide")
    attend(session, p, 3)  # 95.0%: concern first
    session.commit()
    [concern] = render_due(
        session, school=school, out_dir=tmp_path, now=factories.at(date(2026, 10, 14), "16:00"), pdf=False
    )
    assert "concern" in concern.name
    for day in CAL.school_days_between(date(2026, 10, 15), date(2026, 10, 23)):
        factories.mark(session, p, day, "AM", "O")
        factories.mark(session, p, day, "PM", "O")
    session.commit()
    [formal] = render_due(
        session, school=school, out_dir=tmp_path, now=factories.at(date(2026, 10, 23), "16:00"), pdf=False
    )
    assert "formal" in formal.name and "We wrote to you earlier about Eve's attendance" in formal.read_text()


@pytest.mark.parametrize(
    ("language", "words", "font"),
    [
        ("pl", "Szanowni Państwo,", "Noto Serif"),
        ("ar", "مع خالص التحية", "Noto Naskh Arabic"),
        ("ur", "مخلص", "Noto Nastaliq Urdu"),
        ("bn", "বিনীত", "Bengali"),
        ("pa", "ਸਤਿਕਾਰ ਸਹਿਤ", "Gurmukhi"),
    ],
)
def test_letter_in_the_familys_language_with_an_english_copy_and_a_pdf(
    engine, session, school, tmp_path, language, words, font
):
    from bot.letters.service import write_pdf

    pupil = factories.pupil(session, school, first="Zara", last="Ali", class_name="4B")
    factories.contact(session, school, pupil, first="Huma", last="Ali", language=language)
    attend(session, pupil, 3)
    session.commit()
    pdf = language == "ar"  # every PDF costs ~0.2 s: the files are checked once, the fonts for each script
    [path] = render_due(
        session, school=school, out_dir=tmp_path, now=factories.at(date(2026, 10, 14), "16:00"), pdf=pdf
    )
    assert path.name.endswith(f".{language}.html")
    family_html = path.read_text()
    rtl = language in ("ar", "ur")
    assert f'lang="{language}" dir="{"rtl" if rtl else "ltr"}"' in family_html
    assert words in family_html and "Zara" in family_html and "95" in family_html
    english = path.with_name(path.name.replace(f".{language}.html", ".en.html")).read_text()
    assert "English copy for the school's file" in english and "Yours sincerely," in english
    pdfs = [path.with_suffix(".pdf"), path.with_name(path.name.replace(f".{language}.html", ".en.pdf"))]
    if pdf:
        assert all(p.read_bytes().startswith(b"%PDF-") for p in pdfs)
    else:
        assert not any(p.exists() for p in pdfs)
    # The script's own font was embedded: the letter printed in that script, not as empty boxes.
    families = write_pdf(family_html, tmp_path / "check.pdf")
    assert any(font in family for family in families), families
    event = session.exec(select(CaseEvent).where(CaseEvent.kind == "letter_prepared")).one()
    assert event.data["language"] == language and len(event.data["files"]) == (4 if pdf else 2)
