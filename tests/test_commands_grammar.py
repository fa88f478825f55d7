"""The command language: every command parses to a typed request; bad input gets a friendly error."""

from datetime import date

import pytest

from bot.commands import grammar as g
from bot.errors import UserError

TODAY = date(2026, 9, 16)  # a Wednesday


def test_absences_defaults_to_today_and_reads_filters():
    assert g.parse("absences", today=TODAY) == g.Absences(day=TODAY)
    assert g.parse("/absences year 6", today=TODAY) == g.Absences(day=TODAY, year=6)
    assert g.parse("absences Y6", today=TODAY).year == 6
    r = g.parse("absences 2026-09-14 class 4B", today=TODAY)
    assert (r.day, r.class_name, r.explicit_day) == (date(2026, 9, 14), "4B", True)
    assert g.parse("absences yesterday", today=TODAY).day == date(2026, 9, 15)
    assert g.parse("absences mon", today=TODAY).day == date(2026, 9, 14)
    assert g.parse("absences 14/09", today=TODAY).day == date(2026, 9, 14)
    assert g.parse("absences year R", today=TODAY).year == 0


@pytest.mark.parametrize("text", ["absences banana", "absences year 99", "absences 2026-02-30"])
def test_absences_bad_words(text):
    with pytest.raises(UserError) as err:
        g.parse(text, today=TODAY)
    assert "absences" in str(err.value).lower() or "date" in str(err.value)


def test_call_splits_pupil_outcome_and_note():
    r = g.parse("call Amelia Khan spoke ill with a temperature, back Thursday", today=TODAY)
    assert r == g.Call(pupil="Amelia Khan", outcome="spoke", note="ill with a temperature, back Thursday")
    assert g.parse("/call Amelia no answer", today=TODAY).outcome == "no-answer"
    assert g.parse("call Amelia Khan wrong number", today=TODAY).outcome == "wrong-number"
    assert g.parse("call A123456789012 vm", today=TODAY) == g.Call("A123456789012", "voicemail", "")
    assert g.parse('call "Jo Li" message-left', today=TODAY).pupil == "Jo Li"
    for outcome in g.OUTCOME_NAMES:
        assert g.parse(f"call Amelia {outcome}", today=TODAY).outcome == outcome


def test_call_without_outcome_explains():
    with pytest.raises(UserError) as err:
        g.parse("call Amelia Khan", today=TODAY)
    assert "spoke" in str(err.value) and "Usage" in str(err.value)


def test_recode_parses_code_date_session_and_reason():
    r = g.parse("recode Amelia Khan I ill, mum phoned", today=TODAY)
    assert r == g.Recode("Amelia Khan", "I", TODAY, None, "ill, mum phoned")
    r = g.parse("/recode Amelia Khan m 2026-09-14 am dentist", today=TODAY)
    assert (r.code, r.day, r.sessions, r.reason) == ("M", date(2026, 9, 14), ("AM",), "dentist")
    r = g.parse('recode "Jo Li" C pm funeral', today=TODAY)
    assert (r.pupil, r.code, r.sessions) == ("Jo Li", "C", ("PM",))


def test_recode_errors_are_friendly():
    with pytest.raises(UserError, match="retired"):
        g.parse("recode Amelia Khan H holiday", today=TODAY)
    with pytest.raises(UserError, match="not a national attendance code"):
        g.parse("recode Amelia Khan ZZ because", today=TODAY)
    with pytest.raises(UserError, match="reason"):
        g.parse("recode Amelia Khan I", today=TODAY)
    with pytest.raises(UserError, match="reason"):
        g.parse("recode Amelia Khan I today am", today=TODAY)


def test_pupil_act_help_and_unknown():
    assert g.parse("pupil amelia khan", today=TODAY) == g.PupilTimeline("amelia khan")
    assert g.parse("act 42 acknowledge", today=TODAY) == g.Act(42, "acknowledge", "")
    assert g.parse("help recode", today=TODAY) == g.Help("recode")
    assert g.parse("", today=TODAY) == g.Help(None)
    with pytest.raises(UserError, match="don't know the command"):
        g.parse("dance now", today=TODAY)
    with pytest.raises(UserError):
        g.parse("pupil", today=TODAY)


def test_help_has_examples_for_every_command():
    text = g.help_text()
    for name in ("/absences", "/call", "/recode", "/pupil"):
        assert name in text
    assert "e.g." in g.help_text("call") and "/recode" not in g.help_text("call")


def test_with_pupil_rebuilds_the_command():
    r = g.parse("recode amelia I am ill", today=TODAY)
    assert g.with_pupil(r, "#7") == "recode #7 I am ill"
    again = g.parse(g.with_pupil(r, "#7"), today=TODAY)
    assert (again.pupil, again.code, again.sessions, again.reason) == ("#7", "I", ("AM",), "ill")


def test_class_names_with_spaces_and_quotes():
    """Issue 12, item 6: ``/absences class 4 Birch`` names the class ``4 Birch``."""
    assert g.parse("absences class 4 Birch", today=TODAY).class_name == "4 Birch"
    assert g.parse("/absences class R Willow", today=TODAY).class_name == "R Willow"
    r = g.parse("absences class 4 Birch year 4", today=TODAY)
    assert (r.class_name, r.year) == ("4 Birch", 4)
    r = g.parse("absences class 4 Birch yesterday", today=TODAY)
    assert (r.class_name, r.day) == ("4 Birch", date(2026, 9, 15))
    r = g.parse("absences 2026-09-14 class Year 4 Birch", today=TODAY)
    assert (r.class_name, r.day) == ("Year 4 Birch", date(2026, 9, 14))
    assert g.parse('absences class "4 Birch" Y4', today=TODAY).class_name == "4 Birch"
    with pytest.raises(UserError, match="quote"):
        g.parse('absences class "4 Birch', today=TODAY)
