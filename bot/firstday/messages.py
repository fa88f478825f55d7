"""Composing the messages families get: first-day and chase, by SMS or email, in their language."""

from dataclasses import dataclass

from bot.messaging.segments import fit
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
) -> Composed:
    """Render ``kind`` (``first_day`` or ``chase``) for one contact about one or more children."""
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
    if channel == "email":
        first, _, rest = text.partition("\n")
        subject = first.removeprefix("Subject:").strip()
        text = rest.strip()
    else:
        text = fit(text)
    return Composed(channel, text, subject, used)
