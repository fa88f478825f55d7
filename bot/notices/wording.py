"""How notices read for staff: the /absences line, alert titles and bodies, case-log summaries.

Staff need the child's full name and the family's words to act; nothing here is sent to a family.
"""

from datetime import date

from bot import codes
from storage.models import AbsenceNotice, Pupil

SOURCE_WORDS = {
    "sms": "by text",
    "email": "by email",
    "reply_page": "on the reply page",
    "report_form": "on the report page",
    "call": "on a call",
    "staff": "to the office",
}
# The reason as staff say it ("reported by parent: illness (I)").
REASON_WORDS = {
    "I": "illness",
    "M": "medical or dental appointment",
    "R": "religious observance",
    "C": "exceptional circumstances",
    "G": "holiday",
    "O": "other reason",
    "T": "parent travelling for work",
    "LATE": "running late",
    "NONE": "no reason given",
}


def reason_label(notice: AbsenceNotice) -> str:
    code = notice.suggested_code
    if code:
        words = REASON_WORDS.get(code) or codes.CODES[code].meaning.lower()
        return f"{words} ({code})"
    return REASON_WORDS.get(notice.understood, "reason given, no code")


def _day(d: date) -> str:
    return f"{d:%a %d %b}"


def back_words(notice: AbsenceNotice) -> str:
    if notice.return_date:
        return f"back {notice.return_date:%a %d %b}"
    if notice.last_date is None:
        return "until further notice"
    return (
        f"for {_day(notice.last_date)}"
        if notice.last_date == notice.first_date
        else (f"to {_day(notice.last_date)}")
    )


def who(notice: AbsenceNotice) -> str:
    return "parent"  # staff taking a notice write down what the family said


def line(notice: AbsenceNotice) -> str:
    """``reported by parent: illness (I), back Wed 25 Nov`` — the /absences and digest wording."""
    text = f"reported by {who(notice)}: {reason_label(notice)}, {back_words(notice)}"
    if notice.accepted_code:
        text += f"; {notice.accepted_code} accepted"
    return text


def covers_words(notice: AbsenceNotice) -> str:
    """ "covers Mon 23 Nov AM to Tue 24 Nov PM" (or "from Mon 23 Nov AM until further notice")."""
    start = f"{_day(notice.first_date)} {notice.first_session}"
    if notice.last_date is None:
        return f"covers {start} until further notice"
    return f"covers {start} to {_day(notice.last_date)} {notice.last_session}"


def logged_summary(notice: AbsenceNotice) -> str:
    last = _day(notice.last_date) + f" {notice.last_session}" if notice.last_date else "until further notice"
    return (
        f"Absence reported {SOURCE_WORDS.get(notice.source, notice.source)}: {reason_label(notice)}, "
        f"{_day(notice.first_date)} {notice.first_session} to {last}: “{_short(notice.words)}”"
    )


def notice_alert_text(
    notice: AbsenceNotice, pupil: Pupil, *, session_name: str, day: date
) -> tuple[str, str]:
    """(title, body) of the alert staff act on when a reported absence meets the register."""
    title = f"{pupil.display_first_name} {pupil.last_name}: {line(notice)}"
    said = f"{notice.reported_by or 'The family'} reported {SOURCE_WORDS.get(notice.source, '')}".strip()
    body = (
        f"{said}:\n“{notice.words}”\n"
        f"Marked N on {_day(day)} {session_name}. The absence was already reported, so the family was "
        "not messaged and is not chased. "
    )
    body += (
        "Accept the suggested code, or pick another."
        if notice.suggested_code
        else "Pick the code that fits the reason."
    )
    if not notice.child_named:
        body += (
            "\nThe message did not say which child: every child of the family marked absent is "
            "covered by it. Check with the family if only one of them is away."
        )
    return title, body


def discrepancy_text(
    why: str,
    *,
    notice: AbsenceNotice,
    pupil: Pupil,
    day: date | None = None,
    session_name: str | None = None,
    code: str | None = None,
) -> tuple[str, str]:
    name = f"{pupil.display_first_name} {pupil.last_name}"
    said = (
        f"{notice.reported_by or 'The family'} reported {SOURCE_WORDS.get(notice.source, '')}: "
        f"“{_short(notice.words)}”"
    )
    if why == "present":
        return (
            f"Reported absent but marked present: {name} ({session_name})",
            f"{said}\nThe register shows {code} for {_day(day)} {session_name}. The notice no longer "
            "covers later sessions; please check the register or speak to the family.",
        )
    return (
        f"Absence reported for a pupil not on roll: {name}",
        f"{said}\n{name} is not on roll. Please check who the family meant.",
    )


def _short(text: str, n: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"
