"""The parsers for one CSV cell each: the cell's text in, a value out, or ``ValueError`` with a
message fit to show next to the line number.

Kept apart from the column specs (``bot.importing.formats``) because other readers of school data
use the same rules: the MIS sync (``bot.mis.wire``) reads year groups and languages the way an
imported file does, and wide registers (``bot.importing.wide``) read dates the same way.
"""

import re
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import codes
from bot.calendar import KINDS
from bot.phones import InvalidPhone, parse_phone
from bot.policy import ROLES

_TRUE = {"y", "yes", "true", "1", "t"}
_FALSE = {"n", "no", "false", "0", "f", ""}
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


def text(value: str) -> str:
    return value.strip()


def boolean(value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"'{value}' is not yes or no (use Y/N, true/false, 1/0 or leave blank)")


def integer(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(f"'{value}' is not a whole number") from None


def positive(value: str) -> int:
    n = integer(value)
    if n < 1:
        raise ValueError(f"'{value}' must be 1 or more")
    return n


# Day first, always (UK): 03/04/2026 is 3 April. Excel adds a midnight time to exported dates.
DATE_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d/%m/%y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%d %b %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %B %Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
)


@lru_cache(maxsize=4096)  # a marks file repeats the same few values thousands of times
def day(value: str) -> date:
    """YYYY-MM-DD, or DD/MM/YYYY as UK spreadsheets write dates (and the other day-first forms MIS
    exports use: 03/04/26, 03-Apr-2026, 3 April 2026, with or without Excel's 00:00 time)."""
    v = " ".join(value.strip().split())
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(v, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"'{value}' is not a date (use YYYY-MM-DD or DD/MM/YYYY)")


def clock_time(value: str) -> time:
    v = value.strip()
    m = re.fullmatch(r"(\d{1,2})[:.](\d{2})", v)
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError(f"'{value}' is not a time (use HH:MM, e.g. 09:15)")
    return time(int(m[1]), int(m[2]))


def time_list(value: str) -> list[str]:
    """``11:00;14:30`` -> ["11:00", "14:30"] (sorted, each checked)."""
    parts = [p for p in re.split(r"[;\s]+", value.strip()) if p]
    return sorted(f"{clock_time(p):%H:%M}" for p in parts)


def year_list(value: str) -> list[int]:
    """``6;5`` -> [6, 5]: the order is the school's priority order."""
    return [year_group(p) for p in re.split(r"[;\s]+", value.strip()) if p]


def year_group(value: str) -> int:
    """A year group as a number: Reception is 0, Nursery -1; ``Y3`` and ``Year 3`` are 3."""
    v = value.strip().lower()
    if v in {"r", "rec", "reception", "yr", "yearr"}:
        return 0
    if v in {"n", "nur", "nursery"}:
        return -1
    m = re.fullmatch(r"(?:y|yr|year)?\s*(-?\d{1,2})", v)
    if not m or not -1 <= int(m[1]) <= 14:
        raise ValueError(f"'{value}' is not a year group (use R or 0 for Reception, 1 to 14)")
    return int(m[1])


def email(value: str) -> str:
    v = value.strip()
    if not _EMAIL.match(v):
        raise ValueError(f"'{value}' is not an email address")
    return v.lower()


_EXCEL_NUMBER = re.compile(r"^\s*\d(?:\.\d+)?[eE]\+?\d+\s*$")


def phone(value: str) -> str:
    if _EXCEL_NUMBER.match(value):
        raise ValueError(
            f"'{value.strip()}' is a phone number Excel turned into a number (its digits are "
            "lost): export it again from the MIS, or format the column as Text in Excel first"
        )
    try:
        return parse_phone(value)
    except InvalidPhone as exc:
        raise ValueError(str(exc)) from None


def mobile(value: str) -> str:
    from bot.phones import is_mobile

    number = phone(value)
    if not is_mobile(number):
        raise ValueError(f"'{value.strip()}' is a landline, not a mobile: it cannot receive texts")
    return number


_LANGUAGE_NAMES = {
    "english": "en",
    "polish": "pl",
    "romanian": "ro",
    "urdu": "ur",
    "arabic": "ar",
    "spanish": "es",
    "portuguese": "pt",
    "lithuanian": "lt",
    "french": "fr",
    "bengali": "bn",
    "punjabi": "pa",
    "gujarati": "gu",
    "somali": "so",
    "turkish": "tr",
    "italian": "it",
    "german": "de",
    "russian": "ru",
    "ukrainian": "uk",
    "chinese": "zh",
    "tamil": "ta",
    "hungarian": "hu",
    "bulgarian": "bg",
    "slovak": "sk",
    "czech": "cs",
    "latvian": "lv",
    "farsi": "fa",
    "persian": "fa",
    "pashto": "ps",
    "kurdish": "ku",
    "tigrinya": "ti",
    "albanian": "sq",
    "hindi": "hi",
    "welsh": "cy",
}


def language(value: str) -> str:
    """An ISO 639-1 code (``pl``); English names of common languages (``Polish``) are accepted too."""
    v = value.strip().lower()
    if not v:
        return "en"
    v = _LANGUAGE_NAMES.get(v, v)
    if not re.fullmatch(r"[a-z]{2}", v):
        raise ValueError(f"'{value}' is not a language code (use two letters, e.g. en, pl, ur)")
    return v


def timezone(value: str) -> str:
    v = value.strip() or "Europe/London"
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not a time zone (e.g. Europe/London)") from None
    return v


def urn(value: str) -> str:
    v = value.strip()
    if not re.fullmatch(r"[0-9A-Za-z]{1,16}", v):
        raise ValueError(f"'{value}' is not a URN (the school's unique reference number, e.g. 100001)")
    return v


def upn(value: str) -> str:
    v = value.strip().upper()
    if not re.fullmatch(r"[A-Z0-9]{13}", v):
        raise ValueError(f"'{value}' is not a UPN (13 letters and digits, e.g. A123456789012)")
    return v


@lru_cache(maxsize=4096)  # a marks file repeats the same few values thousands of times
def session_name(value: str) -> str:
    v = value.strip().upper()
    if v not in {"AM", "PM"}:
        raise ValueError(f"'{value}' is not a session (use AM or PM)")
    return v


@lru_cache(maxsize=4096)  # a marks file repeats the same few values thousands of times
def attendance_code(value: str) -> str:
    try:
        return codes.lookup(value).code
    except codes.UnknownCode as exc:
        raise ValueError(str(exc)) from None


def wonde_id(value: str) -> str:
    v = value.strip()
    if not re.fullmatch(r"[A-Za-z0-9]{4,32}", v):
        raise ValueError(f"'{value}' is not a Wonde school id (letters and digits, e.g. A1930499544)")
    return v


def role(value: str) -> str:
    v = re.sub(r"[\s-]+", "_", value.strip().lower())
    v = {
        "head": "headteacher",
        "head_teacher": "headteacher",
        "designated_safeguarding_lead": "dsl",
        "attendance": "attendance_officer",
        "attendance_lead": "attendance_officer",
    }.get(v, v)
    if v not in ROLES:
        raise ValueError(f"'{value}' is not a role (use one of: {', '.join(ROLES)})")
    return v


def calendar_kind(value: str) -> str:
    v = re.sub(r"[\s-]+", "_", value.strip().lower())
    if v not in KINDS:
        raise ValueError(f"'{value}' is not a calendar kind (use one of: {', '.join(sorted(KINDS))})")
    return v


def slack_channel(value: str) -> str:
    v = value.strip()
    if not re.fullmatch(r"#[a-z0-9_\-]{1,80}|[CG][A-Z0-9]{6,}", v):
        raise ValueError(f"'{value}' is not a Slack channel (use #channel-name or a channel id)")
    return v


def https_url(value: str) -> str:
    v = value.strip()
    if not re.fullmatch(r"https://\S+", v):
        raise ValueError(f"'{value}' is not an https:// address")
    return v
