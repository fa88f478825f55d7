"""Jinja2 templates from ``message_templates/``: one file per message per language.

Families' messages are looked up as ``{channel}/{name}.{lang}.j2`` and fall back to English, so a
language a school adds later needs only new files.
"""

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import message_templates

ROOT = Path(message_templates.__file__).parent
# "Amy and Leo" in the family's language (first-day messages, thank-yous).
AND_WORD = {
    "en": "and", "pl": "i", "ro": "și", "es": "y", "pt": "e", "fr": "et", "lt": "ir",
    "ur": "اور", "ar": "و",
}


@cache
def env() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(ROOT)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def languages(channel: str, name: str) -> list[str]:
    """The languages a family message is available in."""
    return sorted(p.name.split(".")[1] for p in (ROOT / channel).glob(f"{name}.*.j2"))


@cache
def template_name(channel: str, name: str, language: str) -> str:
    lang = (language or "en").lower().split("-")[0]
    if (ROOT / channel / f"{name}.{lang}.j2").exists():
        return f"{channel}/{name}.{lang}.j2"
    return f"{channel}/{name}.en.j2"


def render_family(channel: str, name: str, language: str, **context) -> tuple[str, str]:
    """Render a family message; returns (text, language actually used)."""
    tname = template_name(channel, name, language)
    used = tname.rsplit(".", 2)[1]
    return env().get_template(tname).render(**context).strip(), used


def join_names(names: list[str], language: str) -> str:
    """Children's first names joined for a family message: "Amy, Leo and Mia" (duplicates once)."""
    names = list(dict.fromkeys(names))
    if len(names) == 1:
        return names[0]
    word = AND_WORD.get(language, "and")
    return ", ".join(names[:-1]) + f" {word} " + names[-1]


def render(path: str, **context) -> str:
    return env().get_template(path).render(**context)
