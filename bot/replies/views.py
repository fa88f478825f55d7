"""How a parent's reply is shown to staff (alert titles, bodies and data) and to the reply page.

Staff see names and the reply verbatim (they need them to act); nothing here is ever sent to a
family. Unknown senders' numbers are masked except the last three digits.
"""

from dataclasses import dataclass
from datetime import date

from bot import codes
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


def alert_text(kind: str, ctx: ReplyContext, *, pupil: Pupil | None, case: AbsenceCase | None
               ) -> tuple[str, str]:
    """(title, body) of the staff alert for a reply."""
    who = pupil_label(pupil)
    quoted = _quoted(ctx)
    no_case = "" if case is not None else "\nThere is no open absence for this family right now."
    if kind == "reply":
        if ctx.code in codes.CODES:
            title = f"Reply about {who}: suggests {code_label(ctx.code)}"
            hint = "Accept the code, or pick another. The parent has been thanked; chasing has stopped."
        elif ctx.code == "LATE":
            title = f"Reply about {who}: running late"
            hint = "Chasing has stopped. Mark L or U when the pupil arrives, or pick a code."
        else:
            title = f"Reply about {who}: reason given, no code suggested"
            hint = "Chasing has stopped. Pick the code that fits the reason."
        return title, f"{quoted}\n{hint}{no_case}"
    if kind == "missing_child":
        return (f"URGENT: {who} may be missing — parent says they left for school",
                f"{quoted}\nThe pupil is not in school. Act now: check the site, phone the family, "
                f"and follow the missing-child procedure. The case stays open.{no_case}")
    if kind == "welfare_concern":
        return (f"Welfare concern in a reply about {who}",
                f"{quoted}\nThe reply suggests a welfare concern. Please review.{no_case}")
    if kind == "reply_no_reason":
        return (f"Reply about {who}: no reason given",
                f"{quoted}\nNo reason could be read from the reply; chasing continues.{no_case}")
    if kind == "needs_reading":
        return (f"Needs reading: reply about {who}",
                f"{quoted}\nThe bot is not sure what this reply means. Please read it now and pick "
                f"the code, or contact the family.{no_case}")
    if kind == "reply_follow_up":
        return (f"Follow-up reply about {who}",
                f"{quoted}\nThe absence was already explained; nothing has changed.")
    if kind in ("opt_out", "opt_in"):
        name = f"{ctx.contact.first_name} {ctx.contact.last_name}".strip()
        if kind == "opt_out":
            return (f"{name} opted out of texts",
                    f"{name} replied STOP. Texts to this number have stopped (queued ones were "
                    "cancelled); chasing moves to another channel or contact.")
        return (f"{name} opted back in to texts", f"{name} replied START. Texts to this number resume.")
    if kind in ("asks_opt_out", "asks_opt_in"):
        name = f"{ctx.contact.first_name} {ctx.contact.last_name}".strip()
        wish = "not to be texted" if kind == "asks_opt_out" else "to be texted again"
        return (f"{name} asks {wish}",
                f"{quoted}\nNothing has changed: only the word STOP (or START) on its own changes texts. "
                "Please phone the family, agree how to reach them, and record it.")
    return f"Reply about {who}", quoted


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
    return (f"Text from an unknown number ({masked})",
            f"“{body}”\nNo contact has this number. They were sent a neutral reply asking them to "
            "contact the school office.")


def web_body(reason: str, note: str) -> str:
    """The reply-page answer as a line of text, stored verbatim like a text message."""
    label = WEB_REASON_LABELS.get(reason, reason)
    return f"[{label}] {note}".strip()


# --------------------------------------------------------------------------------------------------
# The reply page's words, per language. Only the child's first name and the school appear on it.
# --------------------------------------------------------------------------------------------------

PAGE_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "dir": "ltr",
        "title": "Why is {name} not in school?",
        "intro": "Please let {school} know why {name} is absent. Only the school sees your answer.",
        "reason": "Reason",
        "ill": "Ill",
        "medical": "Medical or dental appointment",
        "religious": "Religious observance",
        "emergency": "Family emergency",
        "other": "Something else (please say below)",
        "note": "Anything else the school should know (optional)",
        "return": "When will {name} be back? (optional)",
        "send": "Send",
        "done_title": "Thank you",
        "done": "We have your message about {name}.",
        "already": "Thank you, we already have a reason for {name}.",
        "err_reason": "Please choose a reason.",
        "err_note": "Please tell us the reason in the box.",
        "err_date": "Please choose a return date from today onwards.",
        "err_long": "Please keep the note shorter.",
    },
    "pl": {
        "dir": "ltr",
        "title": "Dlaczego {name} nie ma w szkole?",
        "intro": "Prosimy poinformować {school} o powodzie nieobecności: {name}. "
                 "Odpowiedź widzi tylko szkoła.",
        "reason": "Powód",
        "ill": "Choroba",
        "medical": "Wizyta u lekarza lub dentysty",
        "religious": "Święto religijne",
        "emergency": "Nagła sytuacja rodzinna",
        "other": "Inny powód (prosimy opisać poniżej)",
        "note": "Co jeszcze szkoła powinna wiedzieć (opcjonalnie)",
        "return": "Kiedy dziecko wróci? (opcjonalnie)",
        "send": "Wyślij",
        "done_title": "Dziękujemy",
        "done": "Otrzymaliśmy wiadomość – {name}.",
        "already": "Dziękujemy, znamy już powód nieobecności – {name}.",
        "err_reason": "Prosimy wybrać powód.",
        "err_note": "Prosimy wpisać powód w polu poniżej.",
        "err_date": "Prosimy wybrać datę powrotu od dzisiaj.",
        "err_long": "Prosimy o krótszą wiadomość.",
    },
    "es": {
        "dir": "ltr",
        "title": "¿Por qué {name} no está en el colegio?",
        "intro": "Indique a {school} el motivo de la ausencia de {name}. Solo el colegio verá su respuesta.",
        "reason": "Motivo",
        "ill": "Enfermedad",
        "medical": "Cita médica o dental",
        "religious": "Celebración religiosa",
        "emergency": "Emergencia familiar",
        "other": "Otro motivo (explíquelo abajo)",
        "note": "Algo más que el colegio deba saber (opcional)",
        "return": "¿Cuándo vuelve {name}? (opcional)",
        "send": "Enviar",
        "done_title": "Gracias",
        "done": "Hemos recibido su mensaje sobre {name}.",
        "already": "Gracias, ya tenemos el motivo de la ausencia de {name}.",
        "err_reason": "Elija un motivo.",
        "err_note": "Escriba el motivo en el recuadro.",
        "err_date": "Elija una fecha de vuelta a partir de hoy.",
        "err_long": "Escriba un mensaje más corto.",
    },
    "ar": {
        "dir": "rtl",
        "title": "لماذا {name} غائب عن المدرسة؟",
        "intro": "يرجى إخبار {school} بسبب غياب {name}. المدرسة وحدها ترى إجابتك.",
        "reason": "السبب",
        "ill": "مرض",
        "medical": "موعد طبي أو عند طبيب الأسنان",
        "religious": "مناسبة دينية",
        "emergency": "ظرف عائلي طارئ",
        "other": "سبب آخر (يرجى كتابته أدناه)",
        "note": "أي شيء آخر يجب أن تعرفه المدرسة (اختياري)",
        "return": "متى يعود {name}؟ (اختياري)",
        "send": "إرسال",
        "done_title": "شكرًا",
        "done": "وصلتنا رسالتك بخصوص {name}.",
        "already": "شكرًا، لدينا سبب غياب {name} بالفعل.",
        "err_reason": "يرجى اختيار السبب.",
        "err_note": "يرجى كتابة السبب في المربع.",
        "err_date": "يرجى اختيار تاريخ عودة من اليوم فصاعدًا.",
        "err_long": "يرجى كتابة رسالة أقصر.",
    },
}

INVALID_TEXT = {"title": "This link cannot be used"}


def page_language(language: str | None) -> str:
    lang = (language or "en").lower().split("-")[0]
    return lang if lang in PAGE_TEXT else "en"


def page_text(language: str | None, *, name: str, school: str) -> dict[str, str]:
    """The page's words in ``language`` (English when there is no translation), names filled in."""
    words = PAGE_TEXT[page_language(language)]
    return {k: v.format(name=name, school=school) for k, v in words.items()}
