"""One vocabulary for a pupil as staff read it: the flags that matter for safeguarding, and labels.

Register close's urgency order, ``/absences``, ``/pupil`` and the alerts all read these, so a flag
means the same thing everywhere.
"""

from datetime import date

from storage.models import Pupil

# (attribute, label shown to staff), in the order staff read them.
FLAG_LABELS = (
    ("child_protection", "CP"),
    ("looked_after", "CLA"),
    ("has_social_worker", "SW"),
    ("send_ehcp", "EHCP"),
    ("young_carer", "YC"),
    ("has_yot_worker", "YOT"),
)


def flags(pupil: Pupil) -> list[str]:
    """The pupil's flags as short labels (``["CP", "SW"]``)."""
    return [text for attr, text in FLAG_LABELS if getattr(pupil, attr)]


def year_label(year_group: int | None) -> str:
    """``0`` -> "Reception", ``4`` -> "Year 4", unknown -> ""."""
    if year_group is None:
        return ""
    return "Reception" if year_group == 0 else f"Year {year_group}"


# --------------------------------------------------------------------------------------------------
# Compulsory school age
# --------------------------------------------------------------------------------------------------

# A child is of compulsory school age from the start of the term after their fifth birthday (the
# prescribed days are 31 December, 31 March and 31 August; terms begin 1 January, 1 April and
# 1 September). Penalty-notice, persistent-absence and local-authority thresholds concern only
# these children; younger ones (most of Reception) are still messaged and escalated when absent.
TERM_STARTS = ((1, 1), (4, 1), (9, 1))
NURSERY = -1


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
    return min(date(y, m, d) for y in (fifth.year, fifth.year + 1) for m, d in TERM_STARTS
               if date(y, m, d) > fifth)


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
