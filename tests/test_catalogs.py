"""The gettext catalogs: every supported language has every family-facing string, compiled."""

import shutil
from functools import cache

import pytest
from babel.messages.pofile import read_po, write_po

from bot import catalogs, templates


def test_every_language_has_every_string_and_its_compiled_catalog_is_current():
    assert catalogs.check() == []


def test_the_check_finds_a_missing_string_an_empty_one_a_broken_placeholder_and_a_stale_mo(tmp_path):
    """The check itself can fail: a copy of the catalogs with each kind of fault."""
    locale = tmp_path / "locale"
    shutil.copytree(templates.LOCALE_DIR, locale)
    po = locale / "pl" / "LC_MESSAGES" / "family.po"
    with open(po, "rb") as fh:
        catalog = read_po(fh, locale="pl")
    catalog.delete("Send")
    catalog["Reason"].string = ""
    catalog["Why is %(name)s not in school?"].string = "Dlaczego %(imie)s nie ma w szkole?"
    with open(po, "wb") as fh:
        write_po(fh, catalog)
    problems = catalogs.check(locale)
    assert "pl: missing 'Send'" in problems
    assert "pl: untranslated in 'Reason'" in problems
    assert any(p.startswith("pl: placeholders") and "Why is" in p for p in problems)
    assert "pl: family.mo is older than family.po (run make locale)" in problems
    assert not [p for p in problems if not p.startswith("pl:")]


def test_every_language_renders_every_page_and_the_voice_script():
    from bot.calls.script import compose_script

    for lang in templates.LANGUAGES:
        html = templates.render_page("pages/reply_done.html", lang, name="Ada", school="Oak", already=False)
        assert f'lang="{lang}"' in html and f'dir="{templates.direction(lang)}"' in html and "Ada" in html
        script = compose_script(language=lang, first_names=["Ada"], school="Oak", office_line=True)
        assert "Ada" in script.about and "Oak" in script.greeting and len(script.menu) == 2


@cache
def _extracted():
    return list(catalogs.extract())


def _page_sentences(template: str) -> list[str]:
    """The English sentences a page template marks for translation (from the extractor itself)."""
    return [
        m.id
        for m in _extracted()
        if m.id and any(path.endswith(f"pages/{template}") for path, _ in m.locations)
    ]


_FORM = {"csrf": "x", "max_note": 500, "min_date": "2026-11-23", "max_date": "2027-01-22", "school": "Oak"}
FAMILY_PAGES = {
    # template: (one context per branch of the page, corrections the handler puts on it)
    "report.html": (
        [
            {
                **_FORM,
                "action": "/n/x",
                "children": [{"id": 1, "name": "Ada"}],
                "form": {"pupils": [], "first_date": "", "return_date": "", "reason": "", "note": ""},
            }
        ],
        ["child"],
    ),
    "reply.html": (
        [{**_FORM, "action": "/r/x", "name": "Ada", "form": {"reason": "", "note": "", "return_date": ""}}],
        ["date"],
    ),
    "reply_done.html": (
        [
            {"school": "Oak", "name": "Ada", "already": False},
            {"school": "Oak", "name": "Ada", "already": True},
        ],
        [],
    ),
}


@pytest.mark.parametrize("lang", templates.LANGUAGES)
@pytest.mark.parametrize("template", sorted(FAMILY_PAGES))
def test_every_family_page_is_wholly_in_every_language(template, lang):
    """The reply page, the report page and their answers: every sentence (the page's own and the
    reasons and corrections the handler puts on it) comes from the catalog, and right-to-left
    languages are marked so. The English page shows each sentence, so the check could fail."""
    from markupsafe import escape

    from bot.replies import wording
    from bot.replies.reply_form import WEB_REASONS

    contexts, errors = FAMILY_PAGES[template]

    def render(code: str) -> str:
        return "".join(
            templates.render_page(
                f"pages/{template}",
                code,
                **context,
                reasons=wording.reason_choices(code, WEB_REASONS),
                error=wording.page_error(code, errors[0]) if errors else None,
            )
            for context in contexts
        )

    sentences = [s % {"school": "Oak", "name": "Ada"} if "%(" in s else s for s in _page_sentences(template)]
    if errors:
        sentences += [wording.REASON_LABELS[r] for r in WEB_REASONS]
        sentences += [wording.PAGE_ERRORS[e] for e in errors]
    english, page = render("en"), render(lang)
    assert len(sentences) >= 3 and all(str(escape(s)) in english for s in sentences)
    assert f'lang="{lang}"' in page and f'dir="{templates.direction(lang)}"' in page and "Ada" in page
    leaked = [s for s in sentences if str(escape(s)) in page]
    assert leaked == [] if lang != "en" else leaked == sentences, (lang, leaked)


@pytest.mark.parametrize("lang", templates.LANGUAGES)
def test_every_reason_a_link_cannot_be_used_is_said_in_every_language(lang):
    from handlers.family_pages import UNUSABLE

    pages = {why: templates.render_page("pages/reply_invalid.html", lang, why=why) for why in UNUSABLE}
    english = {why: templates.render_page("pages/reply_invalid.html", "en", why=why) for why in UNUSABLE}
    assert len(set(pages.values())) == len(UNUSABLE)  # each reason says something of its own
    for why in UNUSABLE:
        assert f'dir="{templates.direction(lang)}"' in pages[why]
        assert (pages[why] == english[why]) == (lang == "en"), why
