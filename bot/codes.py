"""The national attendance codes (School Attendance (Pupil Registration) (England) Regulations 2024).

Every code belongs to one statistical category; attendance percentages and thresholds are built on
these categories alone, so this table is the one place to change if the regulations do.
"""

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    PRESENT = "present"
    APPROVED = "approved_education"  # counts as present
    AUTHORISED = "authorised"
    UNAUTHORISED = "unauthorised"
    NOT_POSSIBLE = "not_possible"  # left out of the percentage


@dataclass(frozen=True)
class Code:
    code: str
    category: Category
    meaning: str


_TABLE: list[tuple[str, Category, str]] = [
    ("/", Category.PRESENT, "Present (AM)"),
    ("\\", Category.PRESENT, "Present (PM)"),
    ("L", Category.PRESENT, "Late, arrived before the register closed"),
    ("K", Category.APPROVED, "Education provision arranged by the local authority"),
    ("V", Category.APPROVED, "Educational visit or trip"),
    ("P", Category.APPROVED, "Approved sporting activity"),
    ("W", Category.APPROVED, "Work experience"),
    ("B", Category.APPROVED, "Other approved educational activity"),
    ("C1", Category.AUTHORISED, "Regulated performance or employment abroad"),
    ("C2", Category.AUTHORISED, "Part-time timetable"),
    ("C", Category.AUTHORISED, "Exceptional circumstances"),
    ("M", Category.AUTHORISED, "Medical or dental appointment"),
    ("J1", Category.AUTHORISED, "Interview"),
    ("S", Category.AUTHORISED, "Study leave"),
    ("T", Category.AUTHORISED, "Parent travelling for occupational purposes"),
    ("R", Category.AUTHORISED, "Religious observance"),
    ("I", Category.AUTHORISED, "Illness (physical or mental health)"),
    ("E", Category.AUTHORISED, "Suspended or excluded, no alternative provision"),
    ("G", Category.UNAUTHORISED, "Holiday not granted by the school"),
    ("N", Category.UNAUTHORISED, "Reason not yet provided"),
    ("O", Category.UNAUTHORISED, "Other unauthorised absence"),
    ("U", Category.UNAUTHORISED, "Arrived after the register closed"),
    ("D", Category.NOT_POSSIBLE, "Dual registered, at another school"),
    ("X", Category.NOT_POSSIBLE, "Not required to be in school"),
    ("Q", Category.NOT_POSSIBLE, "Unable to attend: lack of access arrangements"),
    ("Y1", Category.NOT_POSSIBLE, "Unable to attend: transport not available"),
    ("Y2", Category.NOT_POSSIBLE, "Unable to attend: widespread travel disruption"),
    ("Y3", Category.NOT_POSSIBLE, "Unable to attend: part of premises closed"),
    ("Y4", Category.NOT_POSSIBLE, "Unable to attend: whole site unexpectedly closed"),
    ("Y5", Category.NOT_POSSIBLE, "Unable to attend: criminal justice detention"),
    ("Y6", Category.NOT_POSSIBLE, "Unable to attend: public health guidance or law"),
    ("Y7", Category.NOT_POSSIBLE, "Unable to attend: other unavoidable cause"),
    ("Z", Category.NOT_POSSIBLE, "Prospective pupil not on roll"),
    ("#", Category.NOT_POSSIBLE, "Planned whole or partial school closure"),
]

CODES: dict[str, Code] = {c: Code(c, cat, meaning) for c, cat, meaning in _TABLE}
RETIRED = {"H", "F", "J", "Y"}

ABSENT_CATEGORIES = {Category.AUTHORISED, Category.UNAUTHORISED}
ATTENDED_CATEGORIES = {Category.PRESENT, Category.APPROVED}
UNAUTHORISED = frozenset(c for c, code in CODES.items() if code.category is Category.UNAUTHORISED)
PRESENT_CODES = frozenset(c for c, code in CODES.items() if code.category in ATTENDED_CATEGORIES)
ILLNESS = "I"
NO_REASON = "N"


class UnknownCode(ValueError):
    pass


def normalise(raw: str) -> str:
    """Accept the ways staff type codes (``i``, `` N ``, ``y1``) and return the canonical code."""
    code = (raw or "").strip().upper()
    if code in {"PRESENT", "/AM"}:
        code = "/"
    if code == "\\PM":
        code = "\\"
    return code


def lookup(raw: str) -> Code:
    code = normalise(raw)
    if code in CODES:
        return CODES[code]
    if code in RETIRED:
        raise UnknownCode(f"'{code}' was retired in August 2024; use one of the 2024 codes")
    raise UnknownCode(f"'{raw}' is not a national attendance code")


def category(raw: str) -> Category:
    return lookup(raw).category


def is_possible(code: str) -> bool:
    return category(code) is not Category.NOT_POSSIBLE


def counts_present(code: str) -> bool:
    return category(code) in ATTENDED_CATEGORIES


def is_absence(code: str) -> bool:
    return category(code) in ABSENT_CATEGORIES


def present_code_for(session: str) -> str:
    return "/" if session.upper() == "AM" else "\\"
