"""Return dates after the final code: the school's calendar, other languages, replies giving only a date."""

import json
from datetime import date
from pathlib import Path

import pytest

from bot.replies.understand import understand
from bot.typical_calendar import calendar_2026_27

CAL = calendar_2026_27()
DEV_2 = Path(__file__).resolve().parent / "data" / "parent-replies-dev-2.jsonl"


def back(text: str, today: date, calendar=CAL) -> str | None:
    got = understand(text, today, is_school_day=calendar.is_school_day if calendar else None)
    return got.return_date.isoformat() if got.return_date else None


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        # the calendar's own holidays (sample trust 2026/27)
        ("We left early for half term, back after half term", date(2027, 2, 10), "2027-02-22"),
        ("She'll be back after the break", date(2026, 10, 21), "2026-11-03"),  # 2 Nov is an INSET day
        ("Flown to Lagos for Christmas, back after Christmas", date(2026, 12, 14), "2027-01-05"),
        ("Wrócą po świętach", date(2026, 12, 16), "2027-01-05"),
        ("Back after Easter", date(2027, 3, 22), "2027-04-12"),
        ("Off sick, back tomorrow", date(2026, 12, 18), "2027-01-05"),  # last day of term
        ("Ill, back Monday", date(2026, 10, 29), "2026-11-03"),  # a Thursday in half-term week
    ],
)
def test_calendar_phrases_land_on_the_schools_days(text, today, expected):
    assert back(text, today) == expected


def test_without_a_calendar_after_half_term_is_unknown():
    assert back("Back after half term", date(2027, 2, 10), calendar=None) is None


@pytest.mark.parametrize(
    ("text", "today", "code", "expected"),
    [
        ("He'll be back in on Thursday", date(2026, 11, 23), "NONE", "2026-11-26"),
        ("Back in the new week", date(2026, 11, 25), "NONE", "2026-11-30"),
        ("Vine marți la școală", date(2026, 11, 25), "NONE", "2026-12-01"),
    ],
)
def test_a_reply_giving_only_a_date_has_no_reason_but_a_return_date(text, today, code, expected):
    got = understand(text, today, is_school_day=CAL.is_school_day)
    assert (got.code, got.return_date.isoformat()) == (code, expected)


@pytest.mark.parametrize(
    ("text", "today", "expected"),
    [
        ("Ramane acasa azi si maine, are febra", date(2026, 11, 5), "2026-11-09"),  # today and tomorrow
        ("off sick, in tmrw", date(2027, 3, 4), "2027-03-05"),  # "off" belongs to another clause
        ("Прийде в понеділок, температура", date(2026, 12, 2), "2026-12-07"),
        ("В школу пойдет 22-го", date(2027, 3, 16), "2027-03-22"),
        ("Carsamba gunu gelir, atesi var", date(2026, 11, 30), "2026-12-02"),
        ("Berri ayay imaan doontaa, qandho ayay qabtaa", date(2026, 11, 25), "2026-11-26"),
        ("বুখার, সোমবার আসবে", date(2026, 11, 25), "2026-11-30"),
        ("ਕੱਲ੍ਹ ਸਕੂਲ ਆਵੇਗਾ, ਬੁਖਾਰ ਹੈ", date(2026, 11, 25), "2026-11-26"),
        ("ਕੱਲ੍ਹ ਰਾਤ ਤੋਂ ਬੁਖਾਰ ਹੈ", date(2026, 11, 25), None),  # "since last night"
        ("عنده حرارة، بيرجع يوم الجمعة", date(2026, 11, 25), "2026-11-27"),
        ("Revine la scoala pe 25, suntem in Romania", date(2027, 1, 15), "2027-01-25"),
        ("Paediatrician in Sheffield, a 2 hour drive, won't be in today", date(2027, 2, 24), None),
    ],
)
def test_other_languages_and_phrasings(text, today, expected):
    assert back(text, today) == expected


def test_return_dates_are_school_days_and_come_after_the_code():
    """Whatever the reply, a return date is a school day on or after the day received; none for IN_SCHOOL."""
    rows = [json.loads(t) for t in DEV_2.read_text(encoding="utf-8").splitlines() if t.strip()]
    for row in rows:
        today = date.fromisoformat(row["today"])
        got = understand(row["text"], today, is_school_day=CAL.is_school_day)
        if got.return_date is not None:
            assert CAL.is_school_day(got.return_date) and got.return_date >= today, row["text"]
        if got.code in ("IN_SCHOOL", "STOP", "START"):
            assert got.return_date is None
    assert understand("Running late", date(2026, 11, 25)).return_date == date(2026, 11, 25)
