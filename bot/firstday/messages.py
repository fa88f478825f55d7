"""Composing the messages families get: first-day and chase, by SMS, email or call, in their language."""

from dataclasses import dataclass

from bot import templates
from bot.messaging.segments import fit
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
) -> Composed:
    """Render ``kind`` (``first_day`` or ``chase``) for one contact about one or more children.

    A language we do not ship falls back to English (``Composed.language`` says which was used).
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
    }
    text, used = render_family(channel, kind, lang, **ctx)
    subject = None
    if channel == "email":
        first, _, rest = text.partition("\n")
        subject = first.removeprefix("Subject:").strip()
        text = rest.strip()
    else:
        text = fit(text)
    return Composed(channel, text, subject, used)

