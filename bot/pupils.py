"""One vocabulary for a pupil as staff read it: the flags that matter for safeguarding, labels, and
the urgency order.

Register close's urgency order, ``/absences``, ``/pupil``, the escalation alerts and the alert cards
all read these, so a flag is spelled the same way everywhere and "most urgent first" means the same
order in the register-close run and in the list staff read afterwards.
"""

from datetime import date

from storage.models import Pupil, SchoolPolicy

NURSERY = -1  # the year group number of the nursery class (Reception is 0)

# (attribute, short label for lists and cards, words for a DSL alert), in the order staff read them.
FLAGS = (
    ("child_protection", "CP", "child-protection plan / child in need"),
    ("looked_after", "CLA", "looked after"),
    ("has_social_worker", "SW", "social worker"),
    ("send_ehcp", "EHCP", "EHCP"),
    ("young_carer", "YC", "young carer"),
    ("has_yot_worker", "YOT", "youth offending worker"),
)
FLAG_LABELS = tuple((attr, short) for attr, short, _words in FLAGS)


def flags(pupil: Pupil) -> list[str]:
    """The pupil's flags as short labels (``["CP", "SW"]``)."""
    return [short for attr, short, _words in FLAGS if getattr(pupil, attr)]


def flag_words(pupil: Pupil) -> list[str]:
    """The pupil's flags written out (``["child-protection plan / child in need", "social worker"]``)."""
    return [words for attr, _short, words in FLAGS if getattr(pupil, attr)]


def year_label(year_group: int | None) -> str:
    """``0`` -> "Reception", ``4`` -> "Year 4", ``-1`` -> "Nursery", unknown -> ""."""
    if year_group is None:
        return ""
    if year_group <= NURSERY:
        return "Nursery"
    return "Reception" if year_group == 0 else f"Year {year_group}"


def year_and_class(year_group: int | None, class_name: str | None) -> str:
    """``"Year 4, 4B"``, or whichever half is known, or ""."""
    return ", ".join(x for x in (year_label(year_group), class_name) if x)


def named(name: str, year_group: int | None, class_name: str | None) -> str:
    """``First Last (Year 4, 4B)``; the name alone when neither year nor class is known."""
    extra = year_and_class(year_group, class_name)
    return f"{name} ({extra})" if extra else name


def label(pupil: Pupil) -> str:
    """``First Last (Year 4, 4B)``: how a pupil is named to staff (their preferred first name)."""
    return named(f"{pupil.display_first_name} {pupil.last_name}", pupil.year_group, pupil.class_name)


# --------------------------------------------------------------------------------------------------
# Urgency: who is contacted first at register close, and listed first by /absences
# --------------------------------------------------------------------------------------------------


def urgency(pupil: Pupil, policy: SchoolPolicy) -> tuple:
    """Sort key, most urgent first: vulnerable pupils (``Pupil.vulnerable``: a social worker, a
    child-protection or child-in-need plan, looked after, or a youth offending worker) when the school
    puts them first, then the school's priority year groups in its order, then by surname."""
    priority_years = policy.priority_year_groups or []
    year_rank = (
        priority_years.index(pupil.year_group) if pupil.year_group in priority_years else len(priority_years)
    )
    first = 0 if (policy.vulnerable_first and pupil.vulnerable) else 1
    return (first, year_rank, pupil.last_name.casefold(), pupil.first_name.casefold(), pupil.id or 0)


# --------------------------------------------------------------------------------------------------
# Compulsory school age
# --------------------------------------------------------------------------------------------------

# A child is of compulsory school age from the start of the term after their fifth birthday (the
# prescribed days are 31 December, 31 March and 31 August; terms begin 1 January, 1 April and
# 1 September). Penalty-notice, persistent-absence and local-authority thresholds concern only
# these children; younger ones (most of Reception) are still messaged and escalated when absent.
TERM_STARTS = ((1, 1), (4, 1), (9, 1))


def _fifth_birthday(dob: date) -> date:
    try:
        return dob.replace(year=dob.year + 5)
    except ValueError:  # born on 29 February
        return date(dob.year + 5, 3, 1)


def compulsory_school_age_from(dob: date) -> date:
    """The first day of compulsory school age: the first term start after the fifth birthday.

    Born 15 August 2021: five on 15 August 2026, of compulsory school age from 1 September 2026.
    Born 10 September 2021: five on 10 September 2026, from 1 January 2027.
    """
    fifth = _fifth_birthday(dob)
    return min(
        date(y, m, d) for y in (fifth.year, fifth.year + 1) for m, d in TERM_STARTS if date(y, m, d) > fifth
    )


def compulsory_from(pupil: Pupil) -> date | None:
    """When the pupil's sessions start to count for the statutory thresholds; None: they always do.

    With no date of birth on file the pupil is treated as of compulsory school age (the safe side for
    the thresholds), except in the nursery, which is never compulsory.
    """
    if pupil.date_of_birth is not None:
        return compulsory_school_age_from(pupil.date_of_birth)
    if pupil.year_group is not None and pupil.year_group <= NURSERY:
        return date.max
    return None


def of_compulsory_school_age(pupil: Pupil, day: date) -> bool:
    start = compulsory_from(pupil)
    return start is None or day >= start
