"""The parent reply page (``/r/<token>``), driven by a real headless Chromium and by plain HTTP.

The browser test opens a signed link on a phone-sized screen, picks a reason, sets a return date,
sends, and checks the database; a screenshot lands in ``test-artifacts/reply-page.png``.
"""

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import requests
from freezegun import freeze_time
from sqlmodel import Session, select

from bot import clock
from bot.cases.service import open_or_extend
from bot.replies.links import make_token
from bot.settings import load_settings
from storage.models import AbsenceCase, Alert, InboundMessage
from tests import factories as f
from tests.peers.http import live_app

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DAY = date(2026, 9, 15)


@pytest.fixture
def settings(db_url):
    return load_settings(database_url=db_url, secret_key="reply-page-secret-" + "x" * 16, reply_link_days=7)


@pytest.fixture
def family(engine):
    """Amelia and Sam Khan, each with an open case; their mother reads Polish only if asked."""

    def make(language="en"):
        with Session(engine, expire_on_commit=False) as s:
            school = f.school(s, name="Oakfield Primary")
            amelia = f.pupil(s, school, first="Amelia", last="Khan")
            sam = f.pupil(s, school, first="Sam", last="Khan")
            mum = f.contact(s, school, amelia, sam, first="Sara", last="Khan", language=language)
            cases = []
            for p in (amelia, sam):
                f.mark(s, p, DAY, "AM", "N")
                cases.append(
                    open_or_extend(s, pupil=p, day=DAY, session_name="AM", now=f.at(DAY, "09:15"))[0]
                )
            s.commit()
            return mum, cases

    return make


def token_for(settings, case, contact) -> str:
    return make_token(settings, case_id=case.id, contact_id=contact.id)


@pytest.mark.browser
def test_parent_answers_on_a_phone_in_a_real_browser(settings, engine, family):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium comes from Debian's package (apt-get install chromium)"
    mum, (a_case, s_case) = family()
    # The page is an edge: it reads the real clock, so the date picked is relative to it.
    back = clock.to_local(clock.now()).date() + timedelta(days=2)
    with live_app(settings) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="en-GB",
            )
            page = context.new_page()
            link = server.url(f"/r/{token_for(settings, a_case, mum)}")
            response = page.goto(link)
            assert response.status == 200
            text = page.inner_text("body")
            assert "Amelia" in text and "Oakfield Primary" in text
            assert "Khan" not in page.content() and "Sam" not in text  # first name only, this case only
            assert response.headers["referrer-policy"] == "no-referrer"

            page.get_by_label("Ill", exact=True).check()
            page.fill("#return_date", back.isoformat())
            page.fill("#note", "High temperature since last night")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "reply-page.png"), full_page=True)
            page.get_by_role("button", name="Send").click()
            page.wait_for_selector("text=Thank you")
            assert "We have your message about Amelia." in page.inner_text("#message")
            page.screenshot(path=str(ARTIFACTS / "reply-page-done.png"), full_page=True)

            # The same link again: the school already has the reason.
            page.goto(link)
            assert "already have a reason for Amelia" in page.inner_text("#message")

            expired = make_token_at(settings, a_case, mum, datetime.now(UTC) - timedelta(days=8))
            gone = page.goto(server.url(f"/r/{expired}"))
            assert gone.status == 410 and "expired" in page.inner_text("#message")
            forged = page.goto(server.url(f"/r/{forge(token_for(settings, s_case, mum))}"))
            assert forged.status == 400 and "not valid" in page.inner_text("#message")
        finally:
            browser.close()

    with Session(engine) as s:
        case = s.get(AbsenceCase, a_case.id)
        assert case.status == "explained" and case.suggested_code == "I" and case.return_date == back
        assert s.get(AbsenceCase, s_case.id).status == "open"
        inbound = s.exec(select(InboundMessage)).one()
        assert inbound.channel == "web" and inbound.contact_id == mum.id
        assert "High temperature since last night" in inbound.body
        alert = s.exec(select(Alert).where(Alert.kind == "reply")).one()
        assert alert.case_id == a_case.id and alert.data["suggested_code"] == "I"


def make_token_at(settings, case, contact, when: datetime) -> str:
    with freeze_time(when):
        return token_for(settings, case, contact)


def forge(token: str) -> str:
    """Change the payload's case id, keeping the old signature."""
    payload, rest = token.split(".", 1)
    flipped = payload[:-1] + ("A" if payload[-1] != "A" else "B")
    return f"{flipped}.{rest}"


def test_post_without_the_page_csrf_token_is_refused(settings, engine, family):
    mum, (a_case, _) = family()
    with live_app(settings) as server:
        url = server.url(f"/r/{token_for(settings, a_case, mum)}")
        page = requests.get(url, timeout=10)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
        refused = requests.post(url, data={"reason": "ill", "csrf": "0" * 64}, timeout=10)
        assert refused.status_code == 400
        assert requests.post(url, data={"reason": "ill"}, timeout=10).status_code == 400
        with Session(engine) as s:
            assert s.get(AbsenceCase, a_case.id).status == "open"
        bad_date = requests.post(
            url, data={"reason": "ill", "csrf": csrf, "return_date": "2001-01-01"}, timeout=10
        )
        assert bad_date.status_code == 400 and "return date" in bad_date.text
        no_note = requests.post(url, data={"reason": "other", "csrf": csrf}, timeout=10)
        assert no_note.status_code == 400 and "reason in the box" in no_note.text
        ok = requests.post(url, data={"reason": "religious", "csrf": csrf}, timeout=10)
        assert ok.status_code == 200 and "We have your message about Amelia" in ok.text
    with Session(engine) as s:
        assert s.get(AbsenceCase, a_case.id).suggested_code == "R"


def test_link_of_another_family_or_unknown_case_is_not_valid(settings, engine, family):
    mum, (a_case, _) = family()
    with Session(engine, expire_on_commit=False) as s:
        school = s.get(AbsenceCase, a_case.id).school_id
        stranger = f.contact(s, s.get(type(f.school(s)), school), mobile="+447700900555")
        s.commit()
    with live_app(settings) as server:
        wrong_contact = make_token(settings, case_id=a_case.id, contact_id=stranger.id)
        assert requests.get(server.url(f"/r/{wrong_contact}"), timeout=10).status_code == 400
        no_case = make_token(settings, case_id=999999, contact_id=mum.id)
        assert requests.get(server.url(f"/r/{no_case}"), timeout=10).status_code == 400


@pytest.mark.parametrize(
    ("language", "words", "direction"),
    [
        ("pl", "Wyślij", "ltr"),
        ("ar", "إرسال", "rtl"),
        ("lt", "Siųsti", "ltr"),
        ("ur", "بھیجیں", "rtl"),
        ("bn", "পাঠান", "ltr"),
        ("so", "Dir", "ltr"),
        ("zz", "Send", "ltr"),
    ],
)
def test_page_speaks_the_contacts_language(settings, family, language, words, direction):
    mum, (a_case, _) = family(language)
    with live_app(settings) as server:
        r = requests.get(server.url(f"/r/{token_for(settings, a_case, mum)}"), timeout=10)
    assert r.status_code == 200 and words in r.text and f'dir="{direction}"' in r.text
    assert "Amelia" in r.text and "Khan" not in r.text


@pytest.mark.browser
def test_arabic_page_and_letter_lay_out_right_to_left_in_a_real_browser(settings, engine, family, tmp_path):
    """Right-to-left for real: the browser mirrors the page (headings and choices start at the right)."""
    from playwright.sync_api import sync_playwright

    mum, (a_case, _) = family("ar")
    with live_app(settings) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
            assert page.goto(server.url(f"/r/{token_for(settings, a_case, mum)}")).status == 200
            assert page.evaluate("getComputedStyle(document.querySelector('h1')).direction") == "rtl"
            card = page.locator(".card").bounding_box()
            school = page.locator(".school").evaluate(TEXT_EXTENT)
            # The school's name (a short line) hugs the card's right edge, not its left.
            assert (card["x"] + card["width"]) - school["right"] < 40 < school["left"] - card["x"]
            # In each choice the radio button sits right of its label's text.
            radio = page.locator("input[value=ill]").bounding_box()
            label = page.get_by_text("مرض", exact=True).bounding_box()
            assert radio["x"] > label["x"]
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "reply-page-ar.png"), full_page=True)

            letter = _arabic_letter(engine, tmp_path)
            page.set_viewport_size({"width": 900, "height": 1200})
            page.goto(letter.as_uri())
            assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
            body = page.locator("body").bounding_box()
            school = page.locator(".school").evaluate(TEXT_EXTENT)
            assert (body["x"] + body["width"]) - school["right"] < 40 < school["left"] - body["x"]
            assert "مع خالص التحية" in page.inner_text(".signature")
            page.screenshot(path=str(ARTIFACTS / "letter-ar.png"), full_page=True)
        finally:
            browser.close()


# The horizontal extent of an element's text (not of its block box, which is as wide as its parent).
TEXT_EXTENT = (
    "el => { const r = document.createRange(); r.selectNodeContents(el); "
    "const b = r.getBoundingClientRect(); return {left: b.left, right: b.right}; }"
)


def _arabic_letter(engine, out_dir: Path) -> Path:
    """A concern letter for an Arabic-speaking family (HTML only; the PDF is tested in test_letters)."""
    from bot.letters.service import render_due

    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, name="Oakfield Primary", urn="777001")
        pupil = f.pupil(s, school, first="Yusuf", last="Haddad", class_name="3R")
        f.contact(s, school, pupil, first="Mona", last="Haddad", language="ar")
        start = date(2026, 9, 7)
        for i in range(20):
            day = start + timedelta(days=i + (i // 5) * 2)
            f.mark(s, pupil, day, "AM", "I" if i < 3 else "/")
            f.mark(s, pupil, day, "PM", "\\")
        s.commit()
        [path] = render_due(
            s,
            school=school,
            out_dir=out_dir,
            now=f.at(date(2026, 10, 5), "16:00"),
            today=date(2026, 10, 5),
            pdf=False,
        )
        s.commit()
    assert path.name.endswith(".ar.html")
    return path


def test_errors_are_in_the_familys_language_and_a_bad_link_in_the_browsers(settings, family):
    mum, (a_case, _) = family("pl")
    with live_app(settings) as server:
        url = server.url(f"/r/{token_for(settings, a_case, mum)}")
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', requests.get(url, timeout=10).text).group(1)
        no_note = requests.post(url, data={"reason": "other", "csrf": csrf}, timeout=10)
        assert no_note.status_code == 400 and "Prosimy wpisać powód w polu poniżej." in no_note.text
        assert "Inny powód (prosimy opisać poniżej)" in no_note.text
        broken = server.url(f"/r/{forge(token_for(settings, a_case, mum))}")
        ukrainian = requests.get(broken, headers={"Accept-Language": "uk-UA,uk;q=0.9,en;q=0.5"}, timeout=10)
        assert ukrainian.status_code == 400 and "Це посилання недійсне." in ukrainian.text
        assert 'lang="uk"' in ukrainian.text
        english = requests.get(broken, headers={"Accept-Language": "de-DE"}, timeout=10)
        assert "This link is not valid." in english.text
