"""The sandbox page in a real headless Chromium (Debian's package, driven by Playwright).

Click through the first-day response as a school trying the bot would: register close → a text
appears on the parent's phone → reply as the parent → the reply shows in the pastoral channel with
the suggested code → accept it → the mark is recoded with its audit row. Screenshots of each pane
land in ``test-artifacts/sandbox-*.png``.
"""

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.settings import load_settings
from storage.models import Alert, InboundMessage, Mark, MarkAmendment
from tests import factories as f
from tests.peers.http import live_app
from tests.test_reply_page import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tryout.web import create_app

MONDAY = date(2026, 11, 23)


@pytest.fixture
def settings(db_url):
    return load_settings(database_url=db_url, secret_key="sandbox-browser-secret-" + "x" * 16)


@pytest.fixture
def school(engine):
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, urn="100001", name="Oakfield Primary", phone="0113 496 0123")
        amelia = f.pupil(s, school, first="Amelia", last="Khan")
        noah = f.pupil(s, school, first="Noah", last="Smith", year_group=2, class_name="2R")
        for first, last in (("Lily", "Evans"), ("Theo", "Brown"), ("Maya", "Patel"), ("Kasia", "Nowak")):
            f.pupil(s, school, first=first, last=last)
        sara = f.contact(s, school, amelia, first="Sara", last="Khan", mobile="+447700900001")
        f.contact(s, school, noah, first="Tom", last="Smith", mobile="+447700900003", relationship="father")
        jo = f.staff(s, school, name="Jo Patel", role="attendance_officer")
        f.staff(s, school, name="Sam Reid", role="pastoral")
        for p in (amelia, noah):
            f.mark(s, p, MONDAY, "AM", "N")
        s.commit()
        return {"amelia": amelia, "sara": sara, "jo": jo}


@pytest.mark.browser
def test_first_day_response_clicked_through_in_a_real_browser(settings, engine, school):
    from playwright.sync_api import expect, sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium comes from Debian's package (apt-get install chromium)"
    ARTIFACTS.mkdir(exist_ok=True)
    with live_app(settings, create_app=create_app) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="en-GB")
            page.goto(server.url(f"/sandbox?school=100001&staff={school['jo'].id}"))
            expect(page.locator("#sim-now")).to_contain_text("Monday 23 November 2026, 08:45")
            page.select_option("#staff", label="Jo Patel (attendance officer)")

            # Register close: the MIS writes the marks, the bot texts Amelia's mother.
            page.click("#btn-register-close")
            family = page.locator(f"#family-{school['sara'].id}")
            expect(family).to_contain_text("Amelia is not in school")
            expect(page.locator("#sim-now")).to_contain_text("09:15")

            # Reply as the parent: a signed Twilio webhook to the real /twilio/sms route.
            family.get_by_label("Reply as Sara").fill("She has a temperature, back tomorrow")
            family.get_by_role("button", name="Send").click()
            family = page.locator(f"#family-{school['sara'].id}")
            expect(family.locator(".bubble.in")).to_contain_text("She has a temperature, back tomorrow")
            expect(family).to_contain_text("Thank you")

            # Staff see the reply with the suggested code.
            reply = page.locator("#pastoral article[data-kind=reply]")
            expect(reply).to_contain_text("Reply about Amelia Khan")
            expect(reply).to_contain_text("suggests I")

            # The staff chat, for the screenshot and to see the reason arrived.
            page.fill("#command", "/absences")
            page.locator("#chat").get_by_role("button", name="Run").click()
            expect(page.locator("#transcript")).to_contain_text("reported by parent: illness (I)")

            for pane in ("clock", "phones", "chat", "pastoral"):
                page.locator(f"#{pane}").screenshot(path=str(ARTIFACTS / f"sandbox-{pane}.png"))

            page.locator("#pastoral article[data-kind=reply]").get_by_role(
                "button", name="Accept code I"
            ).click()
            reply = page.locator("#pastoral article[data-kind=reply]")
            expect(reply).to_contain_text("Accept code — Jo Patel")
            expect(reply.locator(".state")).to_have_text("acted")
            page.locator("#pastoral").screenshot(path=str(ARTIFACTS / "sandbox-pastoral-accepted.png"))
            page.screenshot(path=str(ARTIFACTS / "sandbox-page.png"), full_page=True)
        finally:
            browser.close()

    with Session(engine) as s:
        inbound = s.exec(select(InboundMessage)).one()
        assert inbound.contact_id == school["sara"].id and inbound.code == "I"
        assert s.exec(select(Alert).where(Alert.kind == "reply")).one().status == "acted"
        mark = s.exec(
            select(Mark).where(
                Mark.pupil_id == school["amelia"].id, Mark.date == MONDAY, Mark.session == "AM"
            )
        ).one()
        assert mark.code == "I"
        audit = s.exec(select(MarkAmendment).where(MarkAmendment.mark_id == mark.id)).one()
        assert (audit.original_code, audit.amended_code) == ("N", "I")
        assert (audit.amended_by_name, audit.amended_by_role) == ("Jo Patel", "attendance_officer")
        assert audit.reason.startswith("Parent reply: She has a temperature")
