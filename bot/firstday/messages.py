"""Composing the messages families get: first-day and chase, by SMS or email, in their language."""

from dataclasses import dataclass

from bot.messaging.segments import fit, segments
from bot.templates import join_names, render_family

SESSION_WORD = {"AM": "morning", "PM": "afternoon"}


@dataclass(frozen=True)
class Composed:
    channel: str
    body: str
    subject: str | None
    language: str


def compose(
    *,
    channel: str,
    kind: str,
    language: str,
    first_names: list[str],
    school: str,
    session_name: str = "AM",
    link: str | None = None,
    report_link: str | None = None,
) -> Composed:
    """Render ``kind`` (``first_day``, ``chase``...) for one contact about one or more children.

    ``report_link`` is the family's standing "report an absence" link: an email always carries it
    (a footer), a text only when it still fits in two segments without folding the text's letters.
    """
    lang = (language or "en").lower().split("-")[0]
    ctx = {
        "names": join_names(first_names, lang),
        "plural": len(set(first_names)) > 1,
        "school": school,
        "session_word": SESSION_WORD.get(session_name, "morning"),
        "link": link or "",
    }
    text, used = render_family(channel, kind, lang, **ctx)
    if ctx["names"] and used != lang:
        # Fallback to English: the names must be joined with the English word.
        ctx["names"] = join_names(first_names, used)
        text, used = render_family(channel, kind, used, **ctx)
    subject = None
    extra = render_family(channel, "report_line", used, link=report_link)[0] if report_link else ""
    if channel == "email":
        first, _, rest = text.partition("\n")
        subject = first.removeprefix("Subject:").strip()
        text = rest.strip() + (f"\n\n{extra}" if extra else "")
    elif extra and segments(f"{text} {extra}") <= 2:
        text = f"{text} {extra}"
    else:
        text = fit(text)
    return Composed(channel, text, subject, used)
