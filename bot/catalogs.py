"""Keeping the gettext catalogs in step with the code: extract, update, compile, check.

``python -m bot.catalogs update`` (or ``make locale``) extracts every family-facing string (the
mapping is ``babel.cfg``, the keywords are below), writes ``message_templates/locale/family.pot``,
creates or updates one ``family.po`` per language in ``bot.templates.LANGUAGES`` and compiles each
to ``family.mo``. Translators work on the ``.po`` files (Poedit, Weblate, Crowdin or a text
editor); the compiled ``.mo`` files are committed, so a fresh clone, a wheel or a container runs
without a build step. ``check()`` lists what is wrong: a string in the code that a catalog lacks,
an empty, fuzzy or placeholder-breaking translation, or a ``.mo`` older than its ``.po``
(``tests/test_catalogs.py`` fails on any of them).
"""

import gettext
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.checkers import python_format
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.templates import DOMAIN, LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE

REPO = Path(__file__).resolve().parent.parent
# Python code calls translate(lang, message), translate_plural(lang, singular, plural, n),
# translate_ctx(lang, context, message); templates use Jinja's gettext/ngettext/_ and {% trans %}.
KEYWORDS = {
    "_": None,
    "N_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "translate": (2,),
    "translate_plural": (2, 3),
    "translate_ctx": ((2, "c"), 3),
}
TEMPLATE = LOCALE_DIR / f"{DOMAIN}.pot"


def _po(lang: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    """Every family-facing string in the code and templates, as Babel's template catalog."""
    with open(REPO / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    catalog = Catalog(project="attendance-bot", version="1", charset="utf-8", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(REPO),
        method_map,
        options_map,
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
        strip_comment_tags=True,
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def _write(catalog: Catalog, path: Path) -> None:
    """Without line numbers: a code change elsewhere in a file does not touch every catalog (and two
    branches adding texts do not conflict over references)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        write_po(fh, catalog, width=100, sort_by_file=True, ignore_obsolete=True, include_lineno=False)


def update() -> None:
    """Extract, then create or update every language's catalog (new strings arrive untranslated)."""
    template = extract()
    _write(template, TEMPLATE)
    for lang in LANGUAGES:
        if lang == SOURCE_LANGUAGE:
            continue
        path = _po(lang)
        if path.exists():
            with open(path, "rb") as fh:
                catalog = read_po(fh, locale=_babel_locale(lang))
            catalog.update(template, no_fuzzy_matching=False)
        else:
            catalog = Catalog(locale=_babel_locale(lang), project="attendance-bot", version="1", fuzzy=False)
            catalog.update(template)
        _write(catalog, path)


def compile_all() -> None:
    for lang in LANGUAGES:
        if lang == SOURCE_LANGUAGE:
            continue
        with open(_po(lang), "rb") as fh:
            catalog = read_po(fh, locale=_babel_locale(lang))
        with open(_po(lang).with_suffix(".mo"), "wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)


def _babel_locale(lang: str) -> str:
    return {"pa": "pa_Guru"}.get(lang, lang)


def check(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Problems that would let a family get a message partly in English or broken: empty if none."""
    wanted = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in extract() if m.id}
    problems = []
    for lang in LANGUAGES:
        if lang == SOURCE_LANGUAGE:
            continue
        path = _po(lang, locale_dir)
        if not path.exists():
            problems.append(f"{lang}: no catalog {path.name}")
            continue
        with open(path, "rb") as fh:
            catalog = read_po(fh, locale=_babel_locale(lang))
        have = {}
        for m in catalog:
            if m.id:
                have[(m.context, m.id if isinstance(m.id, str) else m.id[0])] = m
        for key in sorted(wanted - set(have), key=str):
            problems.append(f"{lang}: missing {key[1]!r}")
        for key in sorted(wanted & set(have), key=str):
            problems += [f"{lang}: {p} in {key[1]!r}" for p in _entry_problems(catalog, have[key])]
        problems += _stale_mo(path, lang, catalog)
    return problems


def _entry_problems(catalog: Catalog, message) -> list[str]:
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    out = []
    if message.fuzzy:
        out.append("fuzzy translation")
    if not all(s and s.strip() for s in strings):
        out.append("untranslated")
    elif message.python_format:
        try:
            python_format(catalog, message)
        except Exception as exc:  # babel's TranslationError: a placeholder the code does not fill
            out.append(f"placeholders ({exc})")
    return out


def _stale_mo(po: Path, lang: str, catalog: Catalog) -> list[str]:
    """The committed .mo must say what its .po says (compiled after the last edit)."""
    path = po.with_suffix(".mo")
    if not path.exists():
        return [f"{lang}: {path.name} not compiled (run make locale)"]
    fresh = io.BytesIO()
    write_mo(fresh, catalog, use_fuzzy=False)
    fresh.seek(0)
    with open(path, "rb") as fh:
        committed = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    if gettext.GNUTranslations(fresh)._catalog != committed:  # type: ignore[attr-defined]
        return [f"{lang}: {path.name} is older than {path.with_suffix('.po').name} (run make locale)"]
    return []


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
        compile_all()
    elif command == "compile":
        compile_all()
    problems = check()
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) in {len(LANGUAGES) - 1} catalogs")
    return 1 if problems and command == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
