"""The domain core, checked against hand-worked cases: codes and their categories, attendance
percentages, and school-day arithmetic across half-term, bank holidays, INSET days and DST."""

from datetime import date

import pytest

from bot import attendance, codes
from bot.calendar import SchoolCalendar, Span
from bot.clock import at_local, parse_now
from bot.typical_calendar import calendar_2026_27

CAL = calendar_2026_27()


# -- codes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("/", "present"),
        ("\\", "present"),
        ("L", "present"),
        ("K", "approved_education"),
        ("V", "approved_education"),
        ("P", "approved_education"),
        ("W", "approved_education"),
        ("B", "approved_education"),
        ("C1", "authorised"),
        ("C2", "authorised"),
        ("C", "authorised"),
        ("M", "authorised"),
        ("J1", "authorised"),
        ("S", "authorised"),
        ("T", "authorised"),
        ("R", "authorised"),
        ("I", "authorised"),
        ("E", "authorised"),
        ("G", "unauthorised"),
        ("N", "unauthorised"),
        ("O", "unauthorised"),
        ("U", "unauthorised"),
        ("D", "not_possible"),
        ("X", "not_possible"),
        ("Q", "not_possible"),
        ("Y1", "not_possible"),
        ("Y7", "not_possible"),
        ("Z", "not_possible"),
        ("#", "not_possible"),
    ],
)
def test_every_2024_code_has_its_statistical_category(code, category):
    assert codes.category(code).value == category


def test_codes_are_normalised_and_retired_ones_explained():
    assert codes.lookup(" i ").code == "I"
    assert codes.lookup("y2").code == "Y2"
    for retired in ("H", "F", "J", "Y"):
        with pytest.raises(codes.UnknownCode, match="retired"):
            codes.lookup(retired)
    with pytest.raises(codes.UnknownCode, match="not a national attendance code"):
        codes.lookup("Q9")
    assert len(codes.CODES) == 34
    assert {"G", "N", "O", "U"} == codes.UNAUTHORISED


def test_attendance_percentage_leaves_out_not_possible_sessions():
    # 10 possible sessions: 7 present, 1 trip (counts present), 1 illness, 1 holiday; 2 X not possible.
    marks = ["/"] * 4 + ["\\"] * 2 + ["L", "V", "I", "G", "X", "X"]
    t = attendance.tally(marks)
    assert (t.possible, t.attended, t.authorised, t.unauthorised) == (10, 8, 1, 1)
    assert t.percent == 80.0 and t.absence_percent == 20.0
    assert t.persistent and not t.severe
    assert attendance.tally(["/"] * 9 + ["I"]).persistent  # exactly 10% missed is persistent
    assert not attendance.tally(["/"] * 91 + ["I"] * 9).persistent
    assert attendance.tally(["N"] * 5 + ["/"] * 5).severe  # 50% is severe
    assert attendance.tally(["X", "#"]).percent is None


# -- school days ----------------------------------------------------------------------------------


def test_school_days_of_the_sample_calendar():
    assert not CAL.is_school_day(date(2026, 9, 2))  # INSET day
    assert CAL.is_school_day(date(2026, 9, 3))
    assert not CAL.is_school_day(date(2026, 10, 26))  # half-term
    assert not CAL.is_school_day(date(2026, 11, 2))  # INSET after half-term
    assert not CAL.is_school_day(date(2027, 5, 3))  # early May bank holiday, in term
    assert not CAL.is_school_day(date(2026, 11, 21))  # Saturday
    assert CAL.why_not(date(2027, 5, 3)).endswith("is a bank holiday (Early May bank holiday)")
    assert "INSET" in CAL.why_not(date(2026, 11, 2))
    assert "weekend" in CAL.why_not(date(2026, 11, 22))
    assert "outside term" in CAL.why_not(date(2026, 8, 20))
    assert CAL.why_not(date(2026, 11, 23)) is None


def test_the_third_school_day_of_an_absence_across_half_term_and_an_inset_day():
    # Absent from Thu 22 Oct: day 1 Thu, day 2 Fri 23, half-term, Mon 2 Nov INSET, day 3 Tue 3 Nov.
    assert CAL.nth_school_day(date(2026, 10, 22), 3) == date(2026, 11, 3)
    assert CAL.nth_school_day(date(2026, 10, 22), 5) == date(2026, 11, 5)
    assert CAL.school_day_number(date(2026, 10, 22), date(2026, 11, 3)) == 3
    # An episode "starting" on a non-school day counts from the next school day.
    assert CAL.nth_school_day(date(2026, 10, 24), 1) == date(2026, 11, 3)


def test_five_school_days_after_a_session_across_a_bank_holiday():
    # N on Wed 28 Apr 2027: Thu 29, Fri 30, (Mon 3 May bank holiday), Tue 4, Wed 5, Thu 6.
    assert CAL.add_school_days(date(2027, 4, 28), 5) == date(2027, 5, 6)
    # Across Christmas: Wed 16 Dec + 5 = Thu 17, Fri 18, (holiday, INSET Mon 4 Jan) Tue 5, Wed 6, Thu 7.
    assert CAL.add_school_days(date(2026, 12, 16), 5) == date(2027, 1, 7)
    assert CAL.add_school_days(date(2026, 11, 23), -1) == date(2026, 11, 20)
    assert CAL.next_school_day(date(2026, 10, 23)) == date(2026, 11, 3)
    assert CAL.previous_school_day(date(2026, 11, 3)) == date(2026, 10, 23)
    assert CAL.add_school_days(date(2027, 7, 20), 5) is None  # past the end of the year


def test_a_rolling_ten_school_weeks_skips_holiday_weeks():
    # Ten school weeks back from Fri 20 Nov 2026: weeks of 16, 9, 2 Nov, (half-term skipped),
    # 19, 12, 5 Oct, 28, 21, 14, 7 Sep -> starts Mon 7 Sep.
    assert CAL.rolling_weeks_start(date(2026, 11, 20), 10) == date(2026, 9, 7)
    # A short week with an INSET day still counts as a school week.
    assert CAL.rolling_weeks_start(date(2026, 11, 6), 1) == date(2026, 11, 3)
    assert CAL.count_school_days(date(2026, 9, 7), date(2026, 11, 20)) == 49  # 50 less the INSET


def test_closures_override_term_days():
    cal = SchoolCalendar(
        [
            Span("term", date(2026, 1, 5), date(2026, 1, 30)),
            Span("closure", date(2026, 1, 14), date(2026, 1, 15), "Snow"),
        ]
    )
    assert not cal.is_school_day(date(2026, 1, 14))
    assert cal.add_school_days(date(2026, 1, 13), 1) == date(2026, 1, 16)
    assert "closure (Snow)" in cal.why_not(date(2026, 1, 15))


def test_wall_clock_times_across_the_october_dst_change():
    # 09:15 Europe/London is 08:15 UTC in BST (Fri 23 Oct) and 09:15 UTC in GMT (Tue 3 Nov).
    assert at_local(date(2026, 10, 23), parse_now("2026-01-01T09:15").time()).strftime("%H:%M") == "08:15"
    assert at_local(date(2026, 11, 3), parse_now("2026-01-01T09:15").time()).strftime("%H:%M") == "09:15"
    assert parse_now("2026-10-23T09:15").isoformat() == "2026-10-23T08:15:00+00:00"
    assert parse_now("2026-10-23T09:15:00+00:00").isoformat() == "2026-10-23T09:15:00+00:00"


def test_a_school_without_a_calendar_says_so():
    assert "no calendar yet" in SchoolCalendar([]).why_not(date(2026, 11, 23))
