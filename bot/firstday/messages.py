"""Composing the messages families get: first-day and chase, by SMS, email or call, in their language."""

from dataclasses import dataclass

from bot import templates
from bot.messaging.segments import fit, segments
from bot.templates import join_names, render_family

LEGACY_SESSION_WORD = {"AM": "morning", "PM": "afternoon"}


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
    office_line: bool = True,
    report_link: str | None = None,
) -> Composed:
    """Render ``kind`` (``first_day``, ``chase``...) for one contact about one or more children.

    A language we do not ship falls back to English (``Composed.language`` says which was used).
    ``report_link`` is the family's standing "report an absence" link: an email always carries it
    (a footer), a text only when it still fits in two segments without folding the text's letters.
    A call's body is what the call says first (the greeting and the menu; "press 1" only when the
    school has an ``office_line`` to put them through to), kept for the record; the call itself is
    spoken from the same words by ``bot.calls.script``.
    """
    lang = templates.language(language)
    names = list(dict.fromkeys(first_names))
    if channel == "voice":
        from bot.calls.script import compose_script

        script = compose_script(language=lang, first_names=names, school=school, office_line=office_line)
        return Composed(channel, script.transcript(), None, script.language)
    ctx = {
        "names": join_names(names, lang),
        "count": len(names),
        "school": school,
        "session_name": session_name,
        "link": link or "",
        # for messages still in one file per language (expected_back, still_absent, ...)
        "plural": len(names) > 1,
        "session_word": LEGACY_SESSION_WORD.get(session_name, "morning"),
    }
    text, used = render_family(channel, kind, lang, **ctx)
    if used != lang:  # an English fallback: the names are joined in English too
        ctx["names"] = join_names(names, used)
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

