"""Wonde's JSON as plain values: students, contacts, employees, session marks, attendance codes.

Wonde nests related objects as ``{"data": ...}``, writes dates as ``{"date": "2026-11-23
00:00:00.000000", "timezone_type": 3, "timezone": "Europe/London"}`` and adds fields over time; every
reader here takes what it knows and ignores the rest. A field that is absent gives ``None`` (the
bot's value is left alone), never a guess.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot import codes
from bot.phones import is_mobile, normalise_phone

# --------------------------------------------------------------------------------------------------
# Shapes
# --------------------------------------------------------------------------------------------------


def data(value: Any) -> Any:
    """The payload of an included object: ``{"data": X}`` -> X."""
    if isinstance(value, dict) and "data" in value and len(value) <= 2:
        return value["data"]
    return value


def items(value: Any) -> list[dict]:
    """An included list (or a single object) as a list of dicts."""
    value = data(value)
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def obj(value: Any) -> dict:
    value = data(value)
    if isinstance(value, list):
        value = value[0] if value else {}
    return value if isinstance(value, dict) else {}


def ident(value: Any) -> str | None:
    """An id given as a string or as an included object."""
    if isinstance(value, dict):
        value = obj(value).get("id")
    return str(value) if value not in (None, "") else None


def text(value: Any) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def flag(value: Any) -> bool | None:
    """Wonde's flags: true/false, "Y"/"N", "Yes"/"No", "T"/"F", 1/0; None when absent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    v = str(value).strip().lower()
    if v in {"y", "yes", "true", "t", "1"}:
        return True
    if v in {"n", "no", "false", "f", "0"}:
        return False
    return None


_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


def day(value: Any) -> date | None:
    """``{"date": "2010-01-04 00:00:00.000000", ...}`` or ``"2010-01-04"`` -> a date."""
    if isinstance(value, dict):
        value = value.get("date")
    return _day(str(value or "").strip())


@lru_cache(maxsize=1024)  # a register is thousands of marks on the same few dates
def _day(value: str) -> date | None:
    m = _DATE.match(value)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def instant(value: Any) -> datetime | None:
    """A Wonde timestamp (in its stated zone, UTC when none is given) as an aware UTC datetime."""
    zone = "UTC"
    if isinstance(value, dict):
        zone = value.get("timezone") or "UTC"
        value = value.get("date")
    m = _TIME.match(str(value or "").strip())
    if not m:
        return None
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return datetime(*(int(g) for g in m.groups()), tzinfo=tz).astimezone(UTC)


# --------------------------------------------------------------------------------------------------
# Students and contacts
# --------------------------------------------------------------------------------------------------

# The bot's flag -> the Wonde fields (student or extended_details) that set it, first found wins.
# Absent fields leave the flag as it is: CP/CIN, social worker and YOT are shared only when the
# school grants Wonde's sensitive-data permissions.
FLAG_FIELDS: dict[str, tuple[str, ...]] = {
    "free_school_meals": ("free_school_meals", "fsm", "eligible_for_free_school_meals"),
    "looked_after": ("in_lea_care", "looked_after", "in_care", "child_looked_after"),
    "send_ehcp": ("ehcp", "has_ehcp", "education_health_care_plan"),
    "young_carer": ("young_carer", "young_carer_indicator"),
    "has_social_worker": ("has_social_worker", "social_worker", "child_protection_plan", "child_in_need"),
    "child_protection": ("child_protection", "child_protection_plan", "cp_plan", "child_in_need", "cin"),
    "has_yot_worker": ("youth_offending_team", "yot", "yot_worker", "youth_offending"),
}
EHCP_SEN_STATUS = {"E"}  # SEN status "E": education, health and care plan

_LANGUAGES = {
    "eng": "en",
    "pol": "pl",
    "rum": "ro",
    "ron": "ro",
    "urd": "ur",
    "ara": "ar",
    "spa": "es",
    "por": "pt",
    "lit": "lt",
    "fre": "fr",
    "fra": "fr",
    "ben": "bn",
    "pan": "pa",
    "pnj": "pa",
    "guj": "gu",
    "som": "so",
    "tur": "tr",
    "ita": "it",
    "ger": "de",
    "deu": "de",
    "rus": "ru",
    "ukr": "uk",
    "chi": "zh",
    "zho": "zh",
    "tam": "ta",
    "hun": "hu",
    "bul": "bg",
    "slo": "sk",
    "slk": "sk",
    "cze": "cs",
    "ces": "cs",
    "lat": "lv",
    "lav": "lv",
    "per": "fa",
    "fas": "fa",
    "pus": "ps",
    "kur": "ku",
    "tir": "ti",
    "alb": "sq",
    "sqi": "sq",
    "hin": "hi",
    "wel": "cy",
    "cym": "cy",
}


def language(value: Any) -> str | None:
    """A language as Wonde gives it (``"POL"``, ``"Polish"``, ``{"code": ..., "description": ...}``)
    as an ISO 639-1 code; None when it cannot be told."""
    from bot.importing.cells import _LANGUAGE_NAMES

    if isinstance(value, dict):
        candidates = [value.get(k) for k in ("code", "description", "name")]
    else:
        candidates = [value]
    for candidate in candidates:
        v = (text(candidate) or "").lower()
        if not v:
            continue
        if re.fullmatch(r"[a-z]{2}", v):
            return v
        if v in _LANGUAGES:
            return _LANGUAGES[v]
        if v.split()[0] in _LANGUAGE_NAMES:
            return _LANGUAGE_NAMES[v.split()[0]]
    return None


@dataclass
class ContactRecord:
    wonde_id: str
    mis_id: str
    first_name: str
    last_name: str
    relationship: str
    priority: int
    parental_responsibility: bool
    mobile: str | None = None  # E.164, only a number that can take texts
    email: str | None = None
    has_details: bool = False  # contact_details were included: blanks clear the stored values
    language: str | None = None


@dataclass
class StudentRecord:
    wonde_id: str
    mis_id: str
    upn: str | None
    first_name: str
    last_name: str
    preferred_name: str | None
    date_of_birth: date | None
    year_group: int | None
    class_name: str | None
    admission_date: date | None
    leaving_date: date | None
    flags: dict[str, bool] = field(default_factory=dict)
    language: str | None = None
    contacts: list[ContactRecord] | None = None  # None: contacts were not included


def _first(sources: list[dict], names: tuple[str, ...]) -> Any:
    for source in sources:
        for name in names:
            if source.get(name) not in (None, ""):
                return source[name]
    return None


def _year_group(student: dict, education: dict) -> int | None:
    from bot.importing.cells import year_group

    year = obj(student.get("year"))
    for candidate in (
        year.get("code"),
        year.get("name"),
        year.get("description"),
        education.get("current_nc_year"),
        education.get("nc_year"),
    ):
        if text(candidate):
            try:
                return year_group(str(candidate))
            except ValueError:
                continue
    return None


def _registration_group(student: dict) -> str | None:
    """The form the register is taken in: a ``REGISTRATION`` group, else the only class."""
    for group in items(student.get("groups")):
        if str(group.get("type") or "").upper() in {"REGISTRATION", "REGISTRATION_GROUP", "FORM"}:
            return text(group.get("name") or group.get("code"))
    registration = obj(student.get("registration") or student.get("registration_group"))
    if registration:
        return text(registration.get("name") or registration.get("code"))
    classes = items(student.get("classes"))
    return text(classes[0].get("name")) if len(classes) == 1 else None


def _flags(student: dict, extended: dict) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for attr, names in FLAG_FIELDS.items():
        value = flag(_first([extended, student], names))
        if value is not None:
            found[attr] = value
    sen = text(_first([extended, student], ("sen_status",)))
    if sen is not None and "send_ehcp" not in found:
        found["send_ehcp"] = sen.upper() in EHCP_SEN_STATUS
    # A child-protection plan or child-in-need plan always comes with a social worker.
    if found.get("child_protection"):
        found["has_social_worker"] = True
    return found


def student(raw: dict) -> StudentRecord | None:
    wonde_id = text(raw.get("id"))
    if not wonde_id:
        return None
    extended, education = obj(raw.get("extended_details")), obj(raw.get("education_details"))
    forename, legal_forename = text(raw.get("forename")), text(raw.get("legal_forename"))
    first = legal_forename or forename or ""
    contacts = None
    if "contacts" in raw:
        contacts = [c for c in (contact(x) for x in items(raw["contacts"])) if c is not None]
    upn = text(raw.get("upn") or education.get("upn"))
    return StudentRecord(
        wonde_id=wonde_id,
        mis_id=text(raw.get("mis_id")) or wonde_id,
        upn=upn.upper() if upn and re.fullmatch(r"[A-Za-z0-9]{13}", upn) else None,
        first_name=first,
        last_name=text(raw.get("legal_surname")) or text(raw.get("surname")) or "",
        preferred_name=forename if forename and forename != first else None,
        date_of_birth=day(raw.get("date_of_birth")),
        year_group=_year_group(raw, education),
        class_name=_registration_group(raw),
        admission_date=day(education.get("admission_date") or raw.get("admission_date")),
        leaving_date=day(education.get("leaving_date") or raw.get("leaving_date")),
        flags=_flags(raw, extended),
        language=language(_first([extended], ("home_language", "first_language", "language"))),
        contacts=contacts,
    )


def contact(raw: dict) -> ContactRecord | None:
    wonde_id = text(raw.get("id"))
    if not wonde_id:
        return None
    rel = raw.get("relationship")
    relation = obj(rel) if isinstance(rel, dict) else {"relationship": rel}
    details = obj(raw.get("contact_details"))
    phones, emails = obj(details.get("phones")), obj(details.get("emails"))
    mobile = None
    for candidate in (phones.get("mobile"), phones.get("phone"), phones.get("home")):
        number = normalise_phone(text(candidate))
        if number and is_mobile(number):
            mobile = number
            break
    email = text(emails.get("email") or emails.get("primary") or emails.get("home") or emails.get("work"))
    priority = relation.get("priority")
    try:
        priority = max(1, int(priority))
    except (TypeError, ValueError):
        priority = 1
    pr = flag(relation.get("parental_responsibility"))
    return ContactRecord(
        wonde_id=wonde_id,
        mis_id=text(raw.get("mis_id")) or wonde_id,
        first_name=text(raw.get("forename")) or text(raw.get("legal_forename")) or "",
        last_name=text(raw.get("surname")) or text(raw.get("legal_surname")) or "",
        relationship=(text(relation.get("relationship")) or "parent").lower(),
        priority=priority,
        parental_responsibility=True if pr is None else pr,
        mobile=mobile,
        email=email.lower() if email and "@" in email else None,
        has_details="contact_details" in raw,
        language=language(raw.get("language") or obj(raw.get("extended_details")).get("language")),
    )


def employee_emails(raw: dict) -> set[str]:
    details = obj(raw.get("contact_details"))
    emails = obj(details.get("emails"))
    found = {str(v).strip().lower() for v in emails.values() if isinstance(v, str) and "@" in v}
    if isinstance(raw.get("email"), str) and "@" in raw["email"]:
        found.add(raw["email"].strip().lower())
    return found


# --------------------------------------------------------------------------------------------------
# The register
# --------------------------------------------------------------------------------------------------


def code_table(raw_codes: list[dict]) -> dict[str, str]:
    """Wonde attendance code id -> national code (2024); "" for a code that is not one (``-``, no
    mark yet; a retired or school-made code), so an id missing from the table means a new code."""
    table = {}
    for row in raw_codes:
        code_id, code = text(row.get("id")), text(row.get("code"))
        if not code_id:
            continue
        try:
            table[code_id] = codes.lookup(code or "").code
        except codes.UnknownCode:
            table[code_id] = ""
    return table


def code_ids(raw_marks: list[dict]) -> set[str]:
    """The attendance code ids these marks use (given as ids, not as included objects)."""
    found = set()
    for raw in raw_marks:
        value = raw.get("attendance_code") or raw.get("attendance_code_id")
        if not isinstance(value, dict) and ident(value):
            found.add(ident(value))
    return found


@dataclass(frozen=True)
class SessionMark:
    student_id: str
    day: date
    session: str
    code: str | None  # national code; None when the MIS shows no mark or a code we do not know
    minutes_late: int | None


def session_mark(raw: dict, table: dict[str, str]) -> SessionMark | None:
    student_id = ident(raw.get("student") or raw.get("student_id"))
    when = day(raw.get("date") or raw.get("session_date"))
    name = raw.get("session")
    name = name.strip().upper() if isinstance(name, str) else ""
    if not student_id or when is None or name not in {"AM", "PM"}:
        return None
    code_value = raw.get("attendance_code") or raw.get("attendance_code_id")
    code = None
    if isinstance(code_value, dict):
        try:
            code = codes.lookup(obj(code_value).get("code") or "").code
        except codes.UnknownCode:
            code = None
    else:
        code = table.get(code_value if isinstance(code_value, str) else (ident(code_value) or "")) or None
    if code == "/" or code == "\\":
        code = "/" if name == "AM" else "\\"
    late = raw.get("minutes_late")
    try:
        late = int(late) if late not in (None, "") else None
    except (TypeError, ValueError):
        late = None
    return SessionMark(student_id, when, name, code, late or None)
