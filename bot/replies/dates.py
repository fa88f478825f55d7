"""Return dates: the school day a reply says the child is back, from a small date grammar.

Runs after the final code is chosen. Every date lands on a school day of the school's calendar;
phrases about the calendar itself ("back after half term", "after Christmas") use its holidays.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.replies.date_words import (
    AFTER_BREAK,
    AFTER_CHRISTMAS,
    AFTER_EASTER,
    AMOUNT_NOT_AWAY_AFTER,
    AMOUNT_NOT_AWAY_BEFORE,
    APPOINTMENT_NOUNS,
    AWAY_THIS_WEEK,
    DAY_AFTER_TOMORROW,
    DAY_OF_MONTH_PATTERNS,
    DAY_UNITS,
    HOUR_UNITS,
    KAL_NOT_TOMORROW,
    MANANA_THIS_MORNING,
    MONTHS,
    NEGATIONS,
    NEXT_WEEK,
    NUMBER_WORDS,
    ORDINAL_NOT_A_DATE,
    PAST_CUES,
    PRESENT_AGAIN,
    REFUSAL_STEMS,
    REST_OF_WEEK,
    RETURN_CUES,
    SAME_DAY,
    SCRIPT_AFTER_BREAK,
    SCRIPT_NEXT_MONDAY,
    SCRIPT_NOT_TOMORROW,
    SCRIPT_TOMORROW,
    SCRIPT_WEEKDAYS,
    SINCE_CUES,
    SINCE_OR_FROM,
    STAYING_OFF,
    TODAY_AND,
    TODAY_WORDS,
    TOMORROW,
    TOMORROW_TOO,
    UNTIL_NOT_A_DAY,
    UNTIL_WORDS,
    URDU_TWO_UNITS,
    WEEK_UNITS,
    YESTERDAY_WORDS,
)
from bot.replies.text import TOKEN, WEEKDAY_TABLES, normalise

# --------------------------------------------------------------------------------------------------
# Return dates
# --------------------------------------------------------------------------------------------------


def _roll_forward(day: date, school_day: Callable[[date], bool]) -> date | None:
    """The first school day on or after `day` (a year ahead at most: outside term there may be none)."""
    for _ in range(366):
        if school_day(day):
            return day
        day += timedelta(days=1)
    return None


def _add_school_days(day: date, n: int, school_day: Callable[[date], bool]) -> date | None:
    for _ in range(n):
        nxt = _roll_forward(day + timedelta(days=1), school_day)
        if nxt is None:
            return None
        day = nxt
    return day


def _next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def _weekday_of(token: str) -> int | None:
    for day, table in WEEKDAY_TABLES.items():
        if token in table.words or any(token.startswith(s) for s in table.stems):
            return day
    return None


_MONTH_OF = {normalise(w): n for n, words in MONTHS.items() for w in words}
_MONTH_RE = "|".join(sorted(_MONTH_OF, key=len, reverse=True))
_DATE_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+(?:of|de|d))?\s+({_MONTH_RE})\b")
_UNITS_RE = "|".join(sorted({*DAY_UNITS, *HOUR_UNITS, *WEEK_UNITS}, key=len, reverse=True))
_DATE_MONTH_DAY = re.compile(
    rf"\b({_MONTH_RE})\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?:am|pm|[:.]\d|{_UNITS_RE}\b))"
)
_DATE_NUMERIC = re.compile(r"\b(\d{1,2})([/.\-])(\d{1,2})(?:[/.\-](\d{2,4}))?\b")
_ORDINAL = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)\b(?!\s+(?:{'|'.join(ORDINAL_NOT_A_DATE)}))")
_UNTIL_NUMBER = re.compile(
    rf"\b(?:{'|'.join(UNTIL_WORDS)})\s+(?:the\s+)?(\d{{1,2}})\b(?!\s*(?:{'|'.join(UNTIL_NOT_A_DAY)}))"
)
_AMOUNT = re.compile(rf"\b(\d{{1,3}}|{'|'.join(NUMBER_WORDS)}|do)\s+({_UNITS_RE})\b")
_TOMORROW_RE = re.compile(r"\b(?:" + "|".join(TOMORROW) + r")\b")
_DAY_AFTER_RE = re.compile(r"\b(?:" + "|".join(map(re.escape, DAY_AFTER_TOMORROW)) + r")\b")
_REST_OF_WEEK_RE = re.compile(r"\b(?:" + "|".join(map(re.escape, REST_OF_WEEK)) + r")\b")
_THIS_WEEK_RE = re.compile(rf"\b(?:{'|'.join(AWAY_THIS_WEEK)})\b(?:\s+\w+){{0,2}}\s+this week\b")
_NEXT_WEEK_RE = re.compile(r"(?<!last )\b(?:" + "|".join(map(re.escape, NEXT_WEEK)) + r")\b")
_DAY_OF_MONTH = tuple(re.compile(p) for p in DAY_OF_MONTH_PATTERNS)


def _phrases(words) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(normalise(w)) for w in sorted(words, key=len, reverse=True)))


_AFTER_BREAK_RE = _phrases([*AFTER_BREAK, *SCRIPT_AFTER_BREAK])
_AFTER_CHRISTMAS_RE = _phrases(AFTER_CHRISTMAS)
_AFTER_EASTER_RE = _phrases(AFTER_EASTER)
_SCRIPT_TOMORROW_RE = _phrases(SCRIPT_TOMORROW)
_SCRIPT_NEXT_MONDAY_RE = _phrases(SCRIPT_NEXT_MONDAY)
_SCRIPT_WEEKDAY_RES = {d: _phrases(words) for d, words in SCRIPT_WEEKDAYS.items()}
_SCRIPT_NOT_TOMORROW = tuple(normalise(w) for w in SCRIPT_NOT_TOMORROW)


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    day: date
    cued: bool  # preceded by a word like "back" or "till"


def _before(text: str, start: int, n: int = 4) -> list[str]:
    """The last `n` words before position `start`, nearest last."""
    return TOKEN.findall(text[:start])[-n:]


def _after(text: str, end: int, n: int = 4) -> list[str]:
    return TOKEN.findall(text[end:])[:n]


def _is_cued(text: str, start: int) -> bool:
    return any(w in RETURN_CUES for w in _before(text, start, 3))


def _skip_as_past_or_appointment(text: str, start: int) -> bool:
    """'ill since Monday', 'appointment on Thursday': not the day the child is back."""
    before = _before(text, start, 3)
    if before and before[-1] in SINCE_CUES:
        return not (before[-1] in SINCE_OR_FROM and any(w in RETURN_CUES - {"do"} for w in before))
    return any(w in APPOINTMENT_NOUNS for w in before) and not any(w in RETURN_CUES for w in before)


def _month_day(today: date, month: int, day: int, year: int | None = None) -> date | None:
    """The date with that month and day, this year or (when already past) next year."""
    try:
        if year is not None:
            return date(year + 2000 if year < 100 else year, month, day)
        candidate = date(today.year, month, day)
        return candidate if candidate >= today else date(today.year + 1, month, day)
    except ValueError:
        return None


def _day_of_month(today: date, day: int) -> date | None:
    """'till the 4th': the next 4th after today (this month or the one after)."""
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate and candidate > today:
            return candidate
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    return None


def _tomorrow_candidates(text: str, today: date, sd: Callable[[date], bool]) -> list[_Candidate]:
    found = []
    for m in _DAY_AFTER_RE.finditer(text):
        day = _roll_forward(today + timedelta(days=2), sd)
        if day:
            found.append(_Candidate(m.start(), m.end(), day, _is_cued(text, m.start())))
    for m in _TOMORROW_RE.finditer(text):
        if any(c.start <= m.start() < c.end for c in found):
            continue
        clause = max(text.rfind(p, 0, m.start()) for p in ",.;!?")  # "off sick, in tmrw": "off" is
        before = _before(text[clause + 1 :], m.start() - clause - 1, 4)  # another clause's word
        after = _after(text, m.end(), 5)
        word = m.group(0)
        if word == "manana" and before and before[-1] in MANANA_THIS_MORNING:
            continue  # "esta mañana" is this morning
        if word == "kal" and (
            after[:1] and after[0] in KAL_NOT_TOMORROW or any(w in PAST_CUES for w in after)
        ):
            continue  # "kal raat" last night, "kal se" since yesterday, "kal ... tha" yesterday
        first = _first_cue(before)
        extra = first == "neg" or tuple(before[-2:]) in TODAY_AND or (after[:1] and after[0] in TOMORROW_TOO)
        day = _add_school_days(today, 2 if extra else 1, sd)
        if day:
            found.append(_Candidate(m.start(), m.end(), day, first == "cue"))
    return found


def _first_cue(before: list[str]) -> str | None:
    """Scanning back from a date: is the nearest telling word a return cue or a negation?"""
    for w in reversed(before):
        if w in RETURN_CUES:
            return "cue"
        if w in NEGATIONS:
            return "neg"
    return None


def _amount_candidates(text: str, today: date, sd: Callable[[date], bool]) -> list[_Candidate]:
    """'48 hours', '2 days', 'a week' from today."""
    found = []
    for m in _AMOUNT.finditer(text):
        number, unit = m.group(1), m.group(2)
        if number == "do" and unit not in URDU_TWO_UNITS:
            continue
        n = int(number) if number.isdigit() else NUMBER_WORDS.get(number, 2)
        before, after = _before(text, m.start(), 4), _after(text, m.end(), 2)
        if before and before[-1] in AMOUNT_NOT_AWAY_BEFORE:
            continue
        if after[:1] and after[0] in AMOUNT_NOT_AWAY_AFTER:
            continue
        if _first_past_cue(before):
            continue
        if unit in HOUR_UNITS and n < 24:
            continue  # "a 2 hour drive", "in 2 hours": not a day back
        if unit in HOUR_UNITS:
            day = _roll_forward(today + timedelta(days=(n + 23) // 24 if n >= 24 else 0), sd)
        elif unit in WEEK_UNITS:
            day = _roll_forward(today + timedelta(days=7 * n), sd)
        else:
            day = _add_school_days(today, n, sd)
        if day:
            found.append(_Candidate(m.start(), m.end(), day, _is_cued(text, m.start())))
    return found


def _first_past_cue(before: list[str]) -> bool:
    """'he's had d&v for 2 days' is history; 'has d&v so off 2 days' is the future."""
    for w in reversed(before):
        if w in PAST_CUES:
            return True
        if w in RETURN_CUES or w in NEGATIONS or w in STAYING_OFF:
            return False
    return False


def _named_day_candidates(text: str, today: date, sd: Callable[[date], bool]) -> list[_Candidate]:
    """Weekday names, explicit dates, 'till the 4th', week phrases."""
    found: list[_Candidate] = []

    def add(start: int, end: int, day: date | None) -> None:
        if day is None or any(c.start <= start < c.end for c in found):
            return
        if _skip_as_past_or_appointment(text, start):
            return
        rolled = _roll_forward(day, sd)
        if rolled:
            found.append(_Candidate(start, end, rolled, _is_cued(text, start)))

    for m in _DATE_DAY_MONTH.finditer(text):
        add(m.start(), m.end(), _month_day(today, _MONTH_OF[m.group(2)], int(m.group(1))))
    for m in _DATE_MONTH_DAY.finditer(text):
        add(m.start(), m.end(), _month_day(today, _MONTH_OF[m.group(1)], int(m.group(2))))
    for m in _DATE_NUMERIC.finditer(text):
        day, sep, month, year = int(m.group(1)), m.group(2), int(m.group(3)), m.group(4)
        if sep != "/" and not year and not _is_cued(text, m.start()):
            continue  # "9.30" is a time; "do 12.12" is a date
        if 1 <= month <= 12:
            add(m.start(), m.end(), _month_day(today, month, day, int(year) if year else None))
    for m in _ORDINAL.finditer(text):
        add(m.start(), m.end(), _day_of_month(today, int(m.group(1))))
    for m in _UNTIL_NUMBER.finditer(text):
        add(m.start(1), m.end(), _day_of_month(today, int(m.group(1))))
    for regex in _DAY_OF_MONTH:
        for m in regex.finditer(text):
            add(m.start(), m.end(), _day_of_month(today, int(m.group(1))))
    for regex in (_REST_OF_WEEK_RE, _THIS_WEEK_RE, _NEXT_WEEK_RE):
        for m in regex.finditer(text):
            add(m.start(), m.end(), _next_monday(today))
    for m in TOKEN.finditer(text):
        weekday = _weekday_of(m.group(0))
        if weekday is not None and not any(c.start <= m.start() < c.end for c in found):
            ahead = (weekday - today.weekday() - 1) % 7 + 1
            add(m.start(), m.end(), today + timedelta(days=ahead))
    return found


def _after_next_break(today: date, sd: Callable[[date], bool]) -> date | None:
    """The first school day after the next holiday: a run of three or more weekdays without school.

    A lone INSET day or bank holiday is not a break. With no calendar (weekdays only) there is none.
    """
    day, end = today + timedelta(days=1), today + timedelta(days=200)
    while day <= end:
        if day.weekday() < 5 and not sd(day):
            run, probe = 0, day
            while probe <= end and not (probe.weekday() < 5 and sd(probe)):
                run += probe.weekday() < 5
                probe += timedelta(days=1)
            if run >= 3:
                return _roll_forward(probe, sd)
            day = probe
        day += timedelta(days=1)
    return None


def _easter(year: int) -> date:
    """Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _calendar_candidates(text: str, today: date, sd: Callable[[date], bool]) -> list[_Candidate]:
    """'Back after half term', 'after Christmas', 'after Easter', from the school's own calendar."""
    found = []
    school_year = today.year if today.month >= 8 else today.year - 1
    for regex, day in (
        (_AFTER_BREAK_RE, lambda: _after_next_break(today, sd)),
        (_AFTER_CHRISTMAS_RE, lambda: _roll_forward(max(date(school_year, 12, 26), today), sd)),
        (_AFTER_EASTER_RE, lambda: _roll_forward(max(_easter(school_year + 1), today) + timedelta(1), sd)),
    ):
        for m in regex.finditer(text):
            back = day()
            if back:
                found.append(_Candidate(m.start(), m.end(), back, True))
    return found


def _script_candidates(text: str, today: date, sd: Callable[[date], bool]) -> list[_Candidate]:
    """Tomorrow, weekdays and week phrases in Arabic, Urdu, Bengali and Gurmukhi script."""
    found = []
    for m in _SCRIPT_TOMORROW_RE.finditer(text):
        if not any(w in text[m.end() : m.end() + 12] for w in _SCRIPT_NOT_TOMORROW):
            day = _add_school_days(today, 1, sd)
            if day:
                found.append(_Candidate(m.start(), m.end(), day, True))
    for weekday, regex in _SCRIPT_WEEKDAY_RES.items():
        for m in regex.finditer(text):
            day = _roll_forward(today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1), sd)
            if day:
                found.append(_Candidate(m.start(), m.end(), day, True))
    for m in _SCRIPT_NEXT_MONDAY_RE.finditer(text):
        day = _roll_forward(_next_monday(today), sd)
        if day:
            found.append(_Candidate(m.start(), m.end(), day, True))
    return found


def return_date(text: str, today: date, sd: Callable[[date], bool], *, late: bool) -> date | None:
    """The school day the child is back, or None when the reply does not say.

    `text` is the normalised reply (``bot.replies.text.normalise``); `late` means the final code
    is LATE, so the child is back today.
    """
    candidates = [
        *_calendar_candidates(text, today, sd),
        *_tomorrow_candidates(text, today, sd),
        *_amount_candidates(text, today, sd),
        *_named_day_candidates(text, today, sd),
        *_script_candidates(text, today, sd),
    ]
    if candidates:
        cued = [c for c in candidates if c.cued]
        return max(cued or candidates, key=lambda c: c.start).day
    if any(r.search(text) for r in (_AFTER_BREAK_RE, _AFTER_CHRISTMAS_RE, _AFTER_EASTER_RE)):
        return None  # "back after half term" with no holidays in the calendar: unknown, not today
    if late or _same_day_return(text):
        return _roll_forward(today, sd)
    return None


def _same_day_return(text: str) -> bool:
    """'I'll bring him in after', 'she'll come in', not 'he won't come in'."""
    for m in SAME_DAY.finditer(text):
        before = _before(text, m.start(), 3)
        if not any(w in NEGATIONS or w.startswith(REFUSAL_STEMS) for w in before):
            return True
    return False


# --------------------------------------------------------------------------------------------------
# The first day away, for notices given before the absence
# --------------------------------------------------------------------------------------------------


def absence_start(text: str, today: date, sd: Callable[[date], bool]) -> tuple[str, date | None]:
    """When an absence announced in advance begins: ("today", None), ("later", day) or ("past", None).

    Read only for a message that comes when nothing is open (a notice). "Dentist tomorrow", "won't be
    in on Thursday", "Kasia jutro nie przyjdzie" name the day away; a day after "back", "till" or
    "in" is the return ("off till Wednesday" starts today). A text naming only yesterday explains
    the past ("past"). Anything else, or a text that says "today", starts today. `text` is normalised.
    """
    tokens = TOKEN.findall(text)
    if any(t in TODAY_WORDS for t in tokens) or "this morning" in text:
        return "today", None
    later: list[date] = []
    for m in [*_TOMORROW_RE.finditer(text), *TOKEN.finditer(text), *_DATE_DAY_MONTH.finditer(text)]:
        word = m.group(0)
        if _TOMORROW_RE.fullmatch(word):
            day = _add_school_days(today, 1, sd)
        elif _DATE_DAY_MONTH.fullmatch(word):
            day = _roll_forward(_month_day(today, _MONTH_OF[m.group(2)], int(m.group(1))) or today, sd)
        elif (weekday := _weekday_of(word)) is not None:
            day = _roll_forward(today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1), sd)
        else:
            continue
        before = _before(text, m.start(), 3)
        # "back/till/in Wednesday" is the return, unless negated ("won't be in tomorrow"); "off" is
        # no negation here ("off till Wednesday"), and "from tomorrow" starts the absence.
        returning = any((w in RETURN_CUES and w != "from") or w in PRESENT_AGAIN for w in before)
        negated = any(w in NEGATIONS and w != "off" for w in before)
        if day and day > today and not (before and before[-1] in SINCE_CUES) and (not returning or negated):
            later.append(day)
    if later:
        return "later", min(later)
    if any(t in YESTERDAY_WORDS for t in tokens):
        return "past", None
    return "today", None
