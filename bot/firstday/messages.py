"""Composing the messages families get: first-day and chase, by SMS, email or call, in their language."""

from dataclasses import dataclass

from bot import templates
from bot.messaging.segments import fit, segments
from bot.templates import join_names, render_family


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
    A text that does not fit in two segments even with its letters folded (``fit``) is rendered
    again with ``short`` set: templates that have a shorter wording (``sms/report_link.j2`` leaves
    the names out) use it; the others are unchanged.
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
        "short": False,
    }
    text, used = render_family(channel, kind, lang, **ctx)
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
        if segments(text) > 2:  # a message with a shorter wording for long names (report_link)
            text = fit(render_family(channel, kind, used, **{**ctx, "short": True})[0])
    return Composed(channel, text, subject, used)
