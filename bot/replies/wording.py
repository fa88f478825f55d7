"""How a parent's reply is shown to staff (alert titles, bodies and data) and to the reply page.

Staff see names and the reply verbatim (they need them to act); nothing here is ever sent to a
family. Unknown senders' numbers are masked except the last three digits.
"""

from dataclasses import dataclass
from datetime import date

from bot import codes, templates
from bot.templates import N_
from storage.models import AbsenceCase, Contact, Pupil, School

CHANNEL_WORDS = {"sms": "by text", "web": "on the reply page"}
WEB_REASON_LABELS = {
    "ill": "Ill",
    "medical": "Medical or dental appointment",
    "religious": "Religious observance",
    "emergency": "Family emergency",
    "other": "Other",
}

OTHER_LABELS = {
    "LATE": "running late (L or U, decided on arrival)",
    "IN_SCHOOL": "says the child left for school",
    "NONE": "no reason given",
    "STOP": "STOP",
    "START": "START",
}


@dataclass(frozen=True)
class ReplyContext:
    school: School
    contact: Contact
    body: str
    code: str
    return_date: date | None
    confidence: float
    channel: str
    language: str | None = None  # detected language of the reply ("pl", "ur-latn"), if read


def mask_number(number: str) -> str:
    """``+447700900123`` → ``**********123``: enough for staff to match a call-back, no more."""
    number = (number or "").strip()
    if len(number) <= 3:
        return "*" * len(number)
    return "*" * (len(number) - 3) + number[-3:]


def pupil_label(pupil: Pupil | None) -> str:
    if pupil is None:
        return "a pupil"
    group = f" ({pupil.class_name})" if pupil.class_name else ""
    return f"{pupil.display_first_name} {pupil.last_name}{group}"


def code_label(code: str | None) -> str:
    if code in codes.CODES:
        return f"{code} ({codes.CODES[code].meaning})"
    return OTHER_LABELS.get(code or "NONE", str(code))


def _sender(ctx: ReplyContext) -> str:
    name = f"{ctx.contact.first_name} {ctx.contact.last_name}".strip()
    return f"{name} replied {CHANNEL_WORDS.get(ctx.channel, '')}".strip()


def understood_line(ctx: ReplyContext) -> str | None:
    """The reply's language and what the bot read it as, in English, for staff who cannot read it."""
    if not ctx.language:
        return None
    from bot.replies.reader.language import name

    back = f"; back {ctx.return_date:%a %d %b}" if ctx.return_date else ""
    return f"Written in {name(ctx.language)}. Read as: {code_label(ctx.code)}{back}."


def _quoted(ctx: ReplyContext) -> str:
    lines = [f"{_sender(ctx)}:", f"“{ctx.body}”"]
    understood = understood_line(ctx)
    if understood:
        lines.append(understood)
    if ctx.return_date:
        lines.append(f"Expected back: {ctx.return_date:%a %d %b}.")
    return "\n".join(lines)


def alert_text(
    kind: str, ctx: ReplyContext, *, pupil: Pupil | None, case: AbsenceCase | None
) -> tuple[str, str]:
    """(title, body) of the staff alert for a reply."""
    who = pupil_label(pupil)
    quoted = _quoted(ctx)
    no_case = "" if case is not None else "\nThere is no open absence for this family right now."
    if kind == "reply":
        title, hint = _reply_title_and_hint(ctx.code, who)
        return title, f"{quoted}\n{hint}{no_case}"
    if kind == "missing_child":
        return (
            f"URGENT: {who} may be missing — parent says they left for school",
            f"{quoted}\nThe pupil is not in school. Act now: check the site, phone the family, "
            f"and follow the missing-child procedure. The case stays open.{no_case}",
        )
    if kind == "welfare_concern":
        return (
            f"Welfare concern in a reply about {who}",
            f"{quoted}\nThe reply suggests a welfare concern. Please review.{no_case}",
        )
    if kind == "reply_no_reason":
        return (
            f"Reply about {who}: no reason given",
            f"{quoted}\nNo reason could be read from the reply; chasing continues.{no_case}",
        )
    if kind == "needs_reading":
        return (
            f"Needs reading: reply about {who}",
            f"{quoted}\nThe bot is not sure what this reply means. Please read it now and pick "
            f"the code, or contact the family.{no_case}",
        )
    if kind == "reply_follow_up":
        return (
            f"Follow-up reply about {who}",
            f"{quoted}\nThe absence was already explained; nothing has changed.",
        )
    if kind in ("opt_out", "opt_in", "asks_opt_out", "asks_opt_in"):
        return _texting_alert(kind, ctx, quoted)
    return f"Reply about {who}", quoted


def _reply_title_and_hint(code: str, who: str) -> tuple[str, str]:
    """A reply's title says what it suggests; the hint, what staff do next (chasing has stopped)."""
    if code in codes.CODES:
        return (
            f"Reply about {who}: suggests {code_label(code)}",
            "Accept the code, or pick another. The parent has been thanked; chasing has stopped.",
        )
    if code == "LATE":
        return (
            f"Reply about {who}: running late",
            "Chasing has stopped. Mark L or U when the pupil arrives, or pick a code.",
        )
    return (
        f"Reply about {who}: reason given, no code suggested",
        "Chasing has stopped. Pick the code that fits the reason.",
    )


def _texting_alert(kind: str, ctx: ReplyContext, quoted: str) -> tuple[str, str]:
    """(title, body) about a contact's texts: STOP/START changed them; asking in other words did not."""
    name = f"{ctx.contact.first_name} {ctx.contact.last_name}".strip()
    if kind == "opt_out":
        return (
            f"{name} opted out of texts",
            f"{name} replied STOP. Texts to this number have stopped (queued ones were "
            "cancelled); chasing moves to another channel or contact.",
        )
    if kind == "opt_in":
        return (f"{name} opted back in to texts", f"{name} replied START. Texts to this number resume.")
    wish = "not to be texted" if kind == "asks_opt_out" else "to be texted again"
    return (
        f"{name} asks {wish}",
        f"{quoted}\nNothing has changed: only the word STOP (or START) on its own changes texts. "
        "Please phone the family, agree how to reach them, and record it.",
    )


def alert_data(ctx: ReplyContext, *, pupil: Pupil | None, case: AbsenceCase | None) -> dict:
    return {
        "reply": ctx.body,
        "channel": ctx.channel,
        "understood": ctx.code,
        "understood_meaning": code_label(ctx.code),
        "language": ctx.language,
        "confidence": ctx.confidence,
        "return_date": ctx.return_date.isoformat() if ctx.return_date else None,
        "case_id": case.id if case else None,
        "pupil_id": pupil.id if pupil else None,
        "pupil_name": pupil_label(pupil) if pupil else None,
        "contact_id": ctx.contact.id,
        "contact_name": f"{ctx.contact.first_name} {ctx.contact.last_name}".strip(),
    }


def explained_summary(ctx: ReplyContext) -> str:
    return f"Reason from the family ({CHANNEL_WORDS.get(ctx.channel, ctx.channel)}): {code_label(ctx.code)}"


def unknown_sender_text(masked_from: str, body: str) -> tuple[str, str]:
    masked = mask_number(masked_from)
    return (
        f"Text from an unknown number ({masked})",
        f"“{body}”\nNo contact has this number. They were sent a neutral reply asking them to "
        "contact the school office.",
    )


def web_body(reason: str, note: str) -> str:
    """The reply-page answer as a line of text, stored verbatim like a text message."""
    label = WEB_REASON_LABELS.get(reason, reason)
    return f"[{label}] {note}".strip()


# --------------------------------------------------------------------------------------------------
# The family pages' words in the family's language (gettext catalogs, ``bot.templates``): the reply
# page and the report page. Only first names and the school appear on them. The pages' sentences
# are in their templates (``message_templates/pages/``); these are the ones the handlers pick.
# --------------------------------------------------------------------------------------------------

REASON_LABELS = {
    "ill": N_("Ill"),
    "medical": N_("Medical or dental appointment"),
    "religious": N_("Religious observance"),
    "emergency": N_("Family emergency"),
    "other": N_("Something else (please say below)"),
}
# The reply page's and the report page's (``bot.replies.report_form.FormError``) corrections.
PAGE_ERRORS = {
    "reason": N_("Please choose a reason."),
    "note": N_("Please tell us the reason in the box."),
    "date": N_("Please choose a return date from today onwards."),
    "long": N_("Please keep the note shorter."),
    "child": N_("Please choose who will be absent."),
    "first": N_("Please choose a first day away from today onwards."),
    "return": N_("Please choose a day back on or after the first day away."),
    "no_school": N_("There is no school day in those dates."),
}


def page_language(language: str | None) -> str:
    """The page's language: the contact's when we ship it, else English."""
    return templates.language(language)


def reason_choices(language: str | None, reasons) -> list[tuple[str, str]]:
    """(value, label in the family's language) for each reason offered on the page."""
    return [(value, templates.translate(language, REASON_LABELS[value])) for value in reasons]


def page_error(language: str | None, key: str) -> str:
    return templates.translate(language, PAGE_ERRORS[key])
