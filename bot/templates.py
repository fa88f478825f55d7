"""Family-facing words in the family's language: Jinja2 templates plus gettext catalogs (Babel).

One template per message (``message_templates/sms/first_day.j2``), written in English with
``{% trans %}`` blocks; the translations live in one gettext catalog per language,
``message_templates/locale/<lang>/LC_MESSAGES/family.po`` (compiled to ``family.mo`` beside it), the
format translators' tools (Poedit, Weblate, Crowdin) read. Python code marks its family-facing
strings with ``translate(lang, ...)``/``translate_plural(...)``, or ``N_()`` for tables translated later.

Adding a family-facing text (a new page, a new SMS): write the template with ``{% trans %}``
blocks, render it with ``render_family``/``render_page``, then ``make locale`` (extract, update
every catalog), translate the new entries in each ``.po`` and run ``make locale`` again (compile).
``tests/test_catalogs.py`` fails while any supported language lacks a string or a compiled
catalog is older than its source.

Every language gets its own Jinja environment (``env_for``): the i18n extension installs the
translations on the environment, so sharing one between languages would not be thread-safe.
"""

import gettext as _gettext
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

import message_templates

ROOT = Path(message_templates.__file__).parent
LOCALE_DIR = ROOT / "locale"
DOMAIN = "family"
SOURCE_LANGUAGE = "en"
# The languages every family-facing text is shipped in (tests/test_catalogs.py holds them to it).
LANGUAGES = ("en", "pl", "ro", "ur", "ar", "es", "pt", "lt", "fr", "bn", "so", "pa", "tr", "uk")
RIGHT_TO_LEFT = frozenset({"ar", "ur"})
# Each language's name in itself (the language switch on pages) and in English (for staff).
NATIVE_NAMES = {
    "en": "English",
    "pl": "Polski",
    "ro": "Română",
    "ur": "اردو",
    "ar": "العربية",
    "es": "Español",
    "pt": "Português",
    "lt": "Lietuvių",
    "fr": "Français",
    "bn": "বাংলা",
    "so": "Soomaali",
    "pa": "ਪੰਜਾਬੀ",
    "tr": "Türkçe",
    "uk": "Українська",
}
ENGLISH_NAMES = {
    "en": "English",
    "pl": "Polish",
    "ro": "Romanian",
    "ur": "Urdu",
    "ar": "Arabic",
    "es": "Spanish",
    "pt": "Portuguese",
    "lt": "Lithuanian",
    "fr": "French",
    "bn": "Bengali",
    "so": "Somali",
    "pa": "Punjabi",
    "tr": "Turkish",
    "uk": "Ukrainian",
}


def N_(message: str) -> str:  # noqa: N802 - the gettext convention: mark for extraction, translate later
    return message


def language(code: str | None) -> str:
    """The supported language for a contact's code: ``pl-PL`` → ``pl``; unknown → English."""
    lang = (code or SOURCE_LANGUAGE).strip().lower().replace("_", "-").split("-")[0]
    return lang if lang in LANGUAGES else SOURCE_LANGUAGE


def supports(code: str | None) -> bool:
    """True when ``code`` (``pl``, ``ur-latn``) names a language we ship, English included."""
    return (code or "").strip().lower().replace("_", "-").split("-")[0] in LANGUAGES


def direction(code: str | None) -> str:
    return "rtl" if language(code) in RIGHT_TO_LEFT else "ltr"


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``lang`` (English is the source: no catalog, the msgids themselves)."""
    if lang == SOURCE_LANGUAGE:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang])


def translate(lang: str, message: str, **variables) -> str:
    """``message`` in ``lang``, ``%(name)s`` placeholders filled (gettext under another name, so the
    extractor can tell our ``(lang, message)`` calls from Jinja's ``gettext(message)``)."""
    text = translations(language(lang)).gettext(message)
    return text % variables if variables else text


def translate_plural(lang: str, singular: str, plural: str, n: int, **variables) -> str:
    text = translations(language(lang)).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def translate_ctx(lang: str, context: str, message: str, **variables) -> str:
    text = translations(language(lang)).pgettext(context, message)
    return text % variables if variables else text


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(str(ROOT)),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.i18n"],
    )
    # Whitespace inside {% trans %} blocks collapses, so msgids are one line whatever the layout
    # (extraction uses the same option: babel.cfg).
    environment.policies["ext.i18n.trimmed"] = True
    return environment


@cache
def env_for(lang: str) -> Environment:
    """The template environment speaking ``lang`` (cached: one per language)."""
    lang = language(lang)
    environment = _environment()
    environment.install_gettext_translations(translations(lang), newstyle=True)
    environment.globals.update(lang=lang, dir=direction(lang))
    return environment


def env() -> Environment:
    """The English environment: staff-facing pages and reports, and English family texts."""
    return env_for(SOURCE_LANGUAGE)


def render_family(channel: str, name: str, language_code: str | None, **context) -> tuple[str, str]:
    """Render a family message (``{channel}/{name}.j2``); returns (text, language used).

    A language we do not ship is written to in English (the language used says so).
    """
    lang = language(language_code)
    return env_for(lang).get_template(f"{channel}/{name}.j2").render(**context).strip(), lang


def render_page(template: str, language_code: str | None, **context) -> str:
    """A family-facing HTML page in the family's language; ``lang`` and ``dir`` are set for it.

    Pages extend ``pages/reply_base.html``, which puts ``lang``/``dir`` on ``<html>`` so
    right-to-left languages lay out right to left.
    """
    lang = language(language_code)
    return env_for(lang).get_template(template).render(**context)


def join_names(names: list[str], language_code: str | None) -> str:
    """Children's first names joined for a family message: "Amy, Leo and Mia" (duplicates once)."""
    names = list(dict.fromkeys(names))
    if len(names) <= 1:
        return names[0] if names else ""
    lang = language(language_code)
    joined = names[0]
    for middle in names[1:-1]:
        joined = translate_ctx(lang, "list of names", "%(names)s, %(name)s", names=joined, name=middle)
    return translate_ctx(lang, "list of names", "%(names)s and %(last)s", names=joined, last=names[-1])


def render(path: str, **context) -> str:
    """A staff-facing template (reports, the sandbox), in English."""
    return env().get_template(path).render(**context)
