"""The gettext catalogs: every supported language has every family-facing string, compiled."""

import shutil

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
