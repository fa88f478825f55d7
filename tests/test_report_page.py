"""The "report an absence" page (``/n/<token>``, issue 15): a family's standing, signed, revocable
link; a report in Polish in a real headless Chromium; forged, withdrawn and expired links refused;
the start-of-term job that sends the links; the link in first-day messages."""

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from freezegun import freeze_time
from sqlmodel import Session, select

from bot import clock
from bot.calendar import load_calendar
from bot.firstday.report_links import send_report_links
from bot.firstday.service import register_close
from bot.notices import links
from bot.replies import wording
from bot.settings import load_settings
from bot.templates import translate
from storage.models import AbsenceCase, AbsenceNotice, Alert, CalendarEntry, FamilyLink, OutboxMessage
from tests import factories as f
from tests.peers.http import live_app
from tests.test_reply_page import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

MON, TUE, WED = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)


@pytest.fixture
def settings(db_url):
    return load_settings(
        database_url=db_url,
        secret_key="report-page-secret-" + "x" * 16,
        public_base_url="https://bot.oakfield.example",
    )


@pytest.fixture
def family(engine, settings):
    """Kasia and Jan Nowak; their mother reads Polish. Returns (contact, pupils, token)."""

    def make(language="pl", *, now=None, around_today=False):
        with Session(engine, expire_on_commit=False) as s:
            school = f.school(s, name="Oakfield Primary")
            if around_today:  # the browser test runs on the real clock: make today's weeks term time
                today = clock.to_local(clock.now()).date()
                s.add(
                    CalendarEntry(
                        school_id=school.id,
                        kind="term",
                        start_date=today - timedelta(days=7),
                        end_date=today + timedelta(days=90),
                        name="Test term",
                    )
                )
            kasia = f.pupil(s, school, first="Kasia", last="Nowak")
            jan = f.pupil(s, school, first="Jan", last="Nowak")
            mum = f.contact(s, school, kasia, jan, first="Anna", last="Nowak", language=language)
            link = links.live_links(
                s, contact_ids=[mum.id], settings=settings, now=now or f.at(MON, "07:00")
            )[mum.id]
            s.commit()
            return mum, (kasia, jan), links.token(settings, link), school

    return make


@pytest.mark.browser
def test_a_family_reports_an_absence_in_polish_in_a_real_browser(settings, engine, family):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium comes from Debian's package (apt-get install chromium)"
    mum, (kasia, jan), token, school = family("pl", now=clock.now(), around_today=True)
    with Session(engine) as s:
        calendar = load_calendar(s, school.id)
    # The page is an edge: it reads the real clock, so the days picked are relative to it.
    today = clock.to_local(clock.now()).date()
    first = calendar.next_school_day(today + timedelta(days=1), inclusive=True)
    back = calendar.add_school_days(first, 2)
    with live_app(settings) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="pl-PL",
            )
            page = context.new_page()
            response = page.goto(server.url(f"/n/{token}"))
            assert response.status == 200 and response.headers["referrer-policy"] == "no-referrer"
            body = page.inner_text("body")
            assert "Zgłoś nieobecność – Oakfield Primary" in body and "Kto będzie nieobecny?" in body
            assert "Kasia" in body and "Jan" in body and "Nowak" not in page.content()

            page.fill("#first_date", first.isoformat())
            page.fill("#return_date", back.isoformat())
            page.get_by_label("Choroba", exact=True).check()
            page.get_by_role("button", name="Wyślij").click()  # no child chosen: told so, in Polish
            page.wait_for_selector("#error")
            assert "Prosimy wybrać, kto będzie nieobecny." in page.inner_text("#error")

            page.get_by_label("Kasia").check()  # what was filled in is kept
            assert page.input_value("#return_date") == back.isoformat()
            page.fill("#note", "Ma gorączkę od wczoraj wieczorem")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report-page.png"), full_page=True)
            page.get_by_role("button", name="Wyślij").click()
            page.wait_for_selector("text=Dziękujemy")
            assert "Otrzymaliśmy wiadomość – Kasia." in page.inner_text("#message")
            page.screenshot(path=str(ARTIFACTS / "report-page-done.png"), full_page=True)
        finally:
            browser.close()

    with Session(engine) as s:
        (notice,) = s.exec(select(AbsenceNotice)).all()
        assert notice.pupil_id == kasia.id and notice.source == "report_form" and notice.contact_id == mum.id
        assert (notice.first_date, notice.first_session, notice.return_date) == (first, "AM", back)
        assert notice.last_date == calendar.previous_school_day(back) and notice.suggested_code == "I"
        assert "Ma gorączkę od wczoraj wieczorem" in notice.words
        assert s.exec(select(OutboxMessage)).all() == []  # the page itself thanks the family


def _post(server, token, **form):
    page = requests.get(server.url(f"/n/{token}"), timeout=10)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    data = {"csrf": csrf, **form}
    return requests.post(server.url(f"/n/{token}"), data=data, timeout=10)


def test_forged_withdrawn_and_expired_links_are_refused(settings, engine, family):
    mum, _pupils, token, _school = family("en")
    with freeze_time("2026-11-23 08:00:00", tick=True), live_app(settings) as server:
        link_id, sig = token.split("-", 1)
        flipped = sig[:-1] + ("A" if sig[-1] != "A" else "B")
        forged = requests.get(server.url(f"/n/{link_id}-{flipped}"), timeout=10)
        assert forged.status_code == 400 and "not valid" in forged.text
        other = requests.get(server.url(f"/n/{int(link_id) + 1}-{sig}"), timeout=10)
        assert other.status_code == 400
        assert requests.get(server.url(f"/n/{token}"), timeout=10).status_code == 200
        # No post without the page's CSRF token; nothing is written.
        refused = requests.post(server.url(f"/n/{token}"), data={"reason": "ill", "pupil": "1"}, timeout=10)
        assert refused.status_code == 400
    with Session(engine) as s:
        assert s.exec(select(AbsenceNotice)).all() == []
        links.revoke(s, contact_id=mum.id, by="Jo Patel", now=f.at(MON, "09:00"))
        s.commit()
    with freeze_time("2026-11-23 10:00:00", tick=True), live_app(settings) as server:
        gone = requests.get(server.url(f"/n/{token}"), timeout=10)
        assert gone.status_code == 410 and "no longer in use" in gone.text
    with Session(engine, expire_on_commit=False) as s:
        fresh = links.live_links(s, contact_ids=[mum.id], settings=settings, now=f.at(MON, "10:00"))[mum.id]
        s.commit()
    fresh_token = links.token(settings, fresh)
    assert fresh_token != token
    later = f.at(MON, "10:00") + timedelta(days=settings.report_link_days + 1)
    with freeze_time(later, tick=True), live_app(settings) as server:
        expired = requests.get(server.url(f"/n/{fresh_token}"), timeout=10)
        assert expired.status_code == 410 and "expired" in expired.text


def test_a_report_covers_the_days_chosen_and_explains_an_open_case(settings, engine, family):
    mum, (kasia, jan), token, school = family("en")
    with Session(engine, expire_on_commit=False) as s:
        f.mark(s, jan, MON, "AM", "N")
        register_close(
            s,
            school=s.get(type(school), school.id),
            session_name="AM",
            settings=f.settings(),
            now=f.at(MON, "09:15"),
        )
        s.commit()
    with freeze_time("2026-11-23 10:30:00", tick=True), live_app(settings) as server:
        bad = _post(server, token, first_date=MON.isoformat(), reason="ill")
        assert bad.status_code == 400 and "Please choose who will be absent." in bad.text
        before = _post(server, token, pupil=[str(kasia.id)], first_date="2026-11-20", reason="ill")
        assert before.status_code == 400 and "from today onwards" in before.text
        ok = _post(
            server,
            token,
            pupil=[str(kasia.id), str(jan.id)],
            first_date=MON.isoformat(),
            return_date=WED.isoformat(),
            reason="medical",
            note="Hospital check-up for both",
        )
        assert ok.status_code == 200 and "We have your message about Jan and Kasia." in ok.text
    with Session(engine) as s:
        case = s.exec(select(AbsenceCase)).one()
        assert case.pupil_id == jan.id and case.status == "explained" and case.suggested_code == "M"
        notices = {n.pupil_id: n for n in s.exec(select(AbsenceNotice)).all()}
        assert set(notices) == {kasia.id, jan.id}
        assert (notices[kasia.id].first_date, notices[kasia.id].last_date) == (MON, TUE)
        assert notices[jan.id].case_id == case.id
        assert s.exec(select(Alert).where(Alert.kind == "reply")).one().case_id == case.id


def test_a_note_saying_he_left_for_school_alerts_at_once_and_is_no_notice(settings, engine, family):
    _mum, (kasia, _jan), token, _school = family("en")
    with freeze_time("2026-11-23 09:30:00", tick=True), live_app(settings) as server:
        r = _post(
            server,
            token,
            pupil=[str(kasia.id)],
            first_date=MON.isoformat(),
            reason="other",
            note="She left for school at 8 and I can't reach her",
        )
        assert r.status_code == 200
    with Session(engine) as s:
        assert s.exec(select(AbsenceNotice)).all() == []
        kinds = sorted(a.kind for a in s.exec(select(Alert)).all())
        assert kinds.count("missing_child") == 2


def test_start_of_term_sends_each_family_their_link_once(session, settings):
    school = f.school(session, name="Oakfield Primary")
    kasia = f.pupil(session, school, first="Kasia", last="Nowak")
    jan = f.pupil(session, school, first="Jan", last="Nowak")
    f.contact(session, school, kasia, jan, first="Anna", language="pl", mobile="+447700900201")
    f.contact(session, school, kasia, first="Piotr", language="en", mobile=None, email="piotr@example.org")
    f.contact(session, school, jan, first="Nobody", mobile=None, email=None)
    session.commit()
    start = date(2027, 1, 5)  # the spring term's first school day in the sample calendar
    assert (
        send_report_links(
            session, school=school, now=f.at(start + timedelta(days=1), "07:30"), settings=settings
        ).skipped
        == "not the first school day of a term"
    )
    summary = send_report_links(session, school=school, now=f.at(start, "07:30"), settings=settings)
    assert summary["messages_queued"] == 2 and summary["no_channel"] == 1
    again = send_report_links(session, school=school, now=f.at(start, "07:31"), settings=settings)
    assert again["messages_queued"] == 0
    by_channel = {m.channel: m for m in session.exec(select(OutboxMessage)).all()}
    assert "https://bot.oakfield.example/n/" in by_channel["sms"].body
    assert "Jan i Kasia" in by_channel["sms"].body or "Kasia i Jan" in by_channel["sms"].body
    assert by_channel["email"].subject == "Oakfield Primary: telling us about an absence"
    live = session.exec(select(FamilyLink).where(FamilyLink.revoked_at.is_(None))).all()
    assert len(live) == 3  # one per contact, even the one we cannot reach yet


def test_start_of_term_never_phones_a_family_and_texts_one_who_prefers_calls(session, settings):
    """A call cannot carry a link (and its script says the child is not in school): a landline-only
    family is emailed, or left to the office when they have no email; one preferring calls is texted."""
    school = f.school(session, name="Oakfield Primary")
    amy = f.pupil(session, school, first="Amy", last="Khan")
    f.contact(
        session, school, amy, first="Landline", mobile=None, phone="+441632960001", email="l@example.org"
    )
    f.contact(session, school, amy, first="Only", mobile=None, phone="+441632960002")
    f.contact(session, school, amy, first="Caller", mobile="+447700900401", prefers_calls=True)
    session.commit()
    start = date(2027, 1, 5)  # the spring term's first school day in the sample calendar
    summary = send_report_links(session, school=school, now=f.at(start, "07:30"), settings=settings)
    assert summary["messages_queued"] == 2 and summary["no_channel"] == 1
    sent = session.exec(select(OutboxMessage)).all()
    assert sorted(m.channel for m in sent) == ["email", "sms"]
    assert all("/n/" in m.body and m.kind == "report_link" for m in sent)


def test_first_day_texts_carry_the_link_when_it_fits_and_emails_always(session, settings):
    school = f.school(session, name="Oakfield Primary")
    amy = f.pupil(session, school, first="Amy", last="Khan")
    ola = f.pupil(session, school, first="Ola", last="Nowak")
    f.contact(session, school, amy, first="Sara", mobile="+447700900301", language="en")
    f.contact(session, school, ola, first="Ewa", mobile=None, email="ewa@example.org", language="pl")
    for p in (amy, ola):
        f.mark(session, p, MON, "AM", "N")
    register_close(session, school=school, session_name="AM", settings=settings, now=f.at(MON, "09:15"))
    by_channel = {m.channel: m for m in session.exec(select(OutboxMessage)).all()}
    assert "Report future absences: https://bot.oakfield.example/n/" in by_channel["sms"].body
    from bot.messaging.segments import segments

    assert segments(by_channel["sms"].body) <= 2
    assert "https://bot.oakfield.example/n/" in by_channel["email"].body
    assert "Aby w przyszłości zgłosić nieobecność" in by_channel["email"].body


def test_the_office_can_read_out_and_withdraw_a_familys_link(engine, settings_env):
    from click.testing import CliRunner

    from bot.cli import main

    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, urn="100777")
        mum = f.contact(s, school, f.pupil(s, school), first="Anna")
        s.commit()
    runner = CliRunner()
    first = runner.invoke(main, ["family-link", "show", "--school", "100777", "--contact", mum.mis_id])
    assert first.exit_code == 0 and "/n/" in first.output
    again = runner.invoke(main, ["family-link", "show", "--school", "100777", "--contact", mum.mis_id])
    assert again.output == first.output  # the same standing link
    gone = runner.invoke(
        main, ["family-link", "revoke", "--school", "100777", "--contact", mum.mis_id, "--by", "Jo Patel"]
    )
    assert gone.exit_code == 0 and "withdrew 1 link" in gone.output
    fresh = runner.invoke(main, ["family-link", "show", "--school", "100777", "--contact", mum.mis_id])
    assert fresh.exit_code == 0 and fresh.output != first.output
    with Session(engine) as s:
        revoked = s.exec(select(FamilyLink).where(FamilyLink.revoked_at.is_not(None))).one()
        assert revoked.revoked_by == "Jo Patel"
    unknown = runner.invoke(main, ["family-link", "show", "--school", "100777", "--contact", "nobody"])
    assert unknown.exit_code != 0 and "No contact with MIS id nobody" in unknown.output


@pytest.mark.parametrize(
    ("language", "words", "direction"),
    [
        ("ar", ["الإبلاغ عن غياب – Oakfield Primary", "من سيغيب؟", "مرض"], "rtl"),
        ("ur", ["Oakfield Primary کو غیر حاضری کی اطلاع دیں", "کون غیر حاضر ہوگا؟"], "rtl"),
        ("uk", ["Повідомити про відсутність – Oakfield Primary", "Хто буде відсутній?"], "ltr"),
        ("so", ["Yaa maqnaan doona?", "Dir"], "ltr"),
        ("zz", ["Tell Oakfield Primary about an absence", "Who will be absent?"], "ltr"),
    ],
)
def test_the_page_speaks_the_contacts_language_right_to_left_for_arabic_and_urdu(
    settings, family, language, words, direction
):
    _mum, (kasia, _jan), token, _school = family(language)
    with freeze_time("2026-11-23 08:00:00", tick=True), live_app(settings) as server:
        page = requests.get(server.url(f"/n/{token}"), timeout=10)
        assert page.status_code == 200 and f'dir="{direction}"' in page.text
        assert all(w in page.text for w in words), language
        assert "Nowak" not in page.text
        no_child = _post(server, token, first_date=MON.isoformat(), reason="ill")
        done = _post(server, token, pupil=[str(kasia.id)], first_date=MON.isoformat(), reason="ill")
    lang = "en" if language == "zz" else language
    assert no_child.status_code == 400 and wording.page_error(lang, "child") in no_child.text
    assert f'lang="{lang}"' in no_child.text and f'dir="{direction}"' in no_child.text
    thanks = translate(lang, "We have your message about %(name)s.", name="Kasia")
    assert done.status_code == 200 and thanks in done.text


def test_a_withdrawn_link_or_one_without_children_is_explained_in_the_familys_language(
    settings, engine, family
):
    mum, (kasia, jan), token, _school = family("pl")
    with Session(engine) as s:
        links.revoke(s, contact_id=mum.id, by="Jo Patel", now=f.at(MON, "07:30"))
        s.commit()
    with freeze_time("2026-11-23 08:00:00", tick=True), live_app(settings) as server:
        gone = requests.get(server.url(f"/n/{token}"), headers={"Accept-Language": "en-GB"}, timeout=10)
        # The contact's language, not the browser's.
        assert gone.status_code == 410 and 'lang="pl"' in gone.text
        assert "Ten link nie jest już aktywny." in gone.text and "najnowszego linku" in gone.text
        link_id, sig = token.split("-", 1)
        forged = requests.get(
            server.url(f"/n/{link_id}-{sig[::-1]}"), timeout=10, headers={"Accept-Language": "uk-UA,uk;q=0.9"}
        )
        # A forged link names nobody: the browser's language.
        assert forged.status_code == 400 and "Це посилання недійсне." in forged.text
    with Session(engine, expire_on_commit=False) as s:
        for pupil in (kasia, jan):
            left = s.get(type(pupil), pupil.id)
            left.on_roll = False
            s.add(left)
        fresh = links.live_links(s, contact_ids=[mum.id], settings=settings, now=f.at(MON, "07:40"))[mum.id]
        s.commit()
    with freeze_time("2026-11-23 08:00:00", tick=True), live_app(settings) as server:
        empty = requests.get(server.url(f"/n/{links.token(settings, fresh)}"), timeout=10)
    assert empty.status_code == 200 and "Do tego linku nie jest przypisane żadne dziecko" in empty.text
    assert "Kasia" not in empty.text


@pytest.mark.browser
def test_the_arabic_report_page_lays_out_right_to_left_in_a_real_browser(settings, family):
    from playwright.sync_api import sync_playwright

    from tests.test_reply_page import TEXT_EXTENT

    _mum, (kasia, _jan), token, _school = family("ar", now=clock.now(), around_today=True)
    with live_app(settings) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
            assert page.goto(server.url(f"/n/{token}")).status == 200
            assert page.evaluate("getComputedStyle(document.querySelector('h1')).direction") == "rtl"
            card = page.locator(".card").bounding_box()
            school = page.locator(".school").evaluate(TEXT_EXTENT)
            assert (card["x"] + card["width"]) - school["right"] < 40 < school["left"] - card["x"]
            # The checkbox sits right of the child's name, the radio button right of the reason.
            assert (
                page.locator(f"input[value='{kasia.id}']").bounding_box()["x"]
                > page.get_by_text("Kasia", exact=True).bounding_box()["x"]
            )
            assert (
                page.locator("input[value=ill]").bounding_box()["x"]
                > page.get_by_text("مرض", exact=True).bounding_box()["x"]
            )
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report-page-ar.png"), full_page=True)
        finally:
            browser.close()
