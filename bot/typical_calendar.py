"""A typical 2026/27 English school calendar: three terms, half-terms, INSET days, bank holidays.

The October clock change (Sun 25 Oct 2026) falls in the autumn half-term and the March one
(Sun 28 Mar 2027) in the Easter holiday, as they usually do.
"""

from datetime import date

from bot.calendar import SchoolCalendar, Span

SPANS_2026_27: list[Span] = [
    Span("term", date(2026, 9, 2), date(2026, 10, 23), "Autumn 1"),
    Span("inset", date(2026, 9, 2), date(2026, 9, 2), "INSET day"),
    Span("holiday", date(2026, 10, 26), date(2026, 10, 30), "Autumn half-term"),
    Span("term", date(2026, 11, 2), date(2026, 12, 18), "Autumn 2"),
    Span("inset", date(2026, 11, 2), date(2026, 11, 2), "INSET day"),
    Span("holiday", date(2026, 12, 21), date(2027, 1, 1), "Christmas holiday"),
    Span("bank_holiday", date(2026, 12, 25), date(2026, 12, 25), "Christmas Day"),
    Span("bank_holiday", date(2026, 12, 28), date(2026, 12, 28), "Boxing Day (substitute)"),
    Span("bank_holiday", date(2027, 1, 1), date(2027, 1, 1), "New Year's Day"),
    Span("term", date(2027, 1, 4), date(2027, 2, 12), "Spring 1"),
    Span("inset", date(2027, 1, 4), date(2027, 1, 4), "INSET day"),
    Span("holiday", date(2027, 2, 15), date(2027, 2, 19), "Spring half-term"),
    Span("term", date(2027, 2, 22), date(2027, 3, 25), "Spring 2"),
    Span("holiday", date(2027, 3, 26), date(2027, 4, 9), "Easter holiday"),
    Span("bank_holiday", date(2027, 3, 26), date(2027, 3, 26), "Good Friday"),
    Span("bank_holiday", date(2027, 3, 29), date(2027, 3, 29), "Easter Monday"),
    Span("term", date(2027, 4, 12), date(2027, 5, 28), "Summer 1"),
    Span("bank_holiday", date(2027, 5, 3), date(2027, 5, 3), "Early May bank holiday"),
    Span("holiday", date(2027, 5, 31), date(2027, 6, 4), "Summer half-term"),
    Span("bank_holiday", date(2027, 5, 31), date(2027, 5, 31), "Spring bank holiday"),
    Span("term", date(2027, 6, 7), date(2027, 7, 21), "Summer 2"),
    Span("inset", date(2027, 7, 21), date(2027, 7, 21), "INSET day"),
]


def calendar_2026_27() -> SchoolCalendar:
    return SchoolCalendar(SPANS_2026_27)
