"""One vocabulary for a pupil as staff read it: the flags that matter for safeguarding, and labels.

Register close's urgency order, ``/absences``, ``/pupil`` and the alerts all read these, so a flag
means the same thing everywhere.
"""

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
