"""The sandbox after a simulated school week, in a real headless Chromium (issue 12, item 9).

The sample trust is loaded and five school days are played on the sandbox's clock (the registers,
the jobs and the statutory sweeps, through the page's own routes; the last day by clicking its
buttons), which leaves far more than 30 alerts and 20 families. The page must show the true counts,
pin every open urgent alert above the rest, and page through all the others; a pinned alert's button
works from the browser. Screenshots land in ``test-artifacts/sandbox-week-*.png``.
"""

import re

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import func, or_, union
from sqlmodel import Session, select

from bot.alerts.owner import OWNED_KINDS
from bot.settings import load_settings
from storage.models import Alert, InboundMessage, OutboxMessage, School, Staff
from tests.peers.http import live_app
from tests.test_reply_page import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tryout.web import create_app

PER_PAGE = 30


@pytest.fixture
def settings(db_url):
    return load_settings(database_url=db_url, secret_key="sandbox-week-secret-" + "x" * 16)


def _load_sample_trust(settings_env):
    from bot.cli import main

    result = CliRunner().invoke(main, ["demo-data"])
    assert result.exit_code == 0, result.output


def _post(http: requests.Session, server, path: str, form: dict) -> None:
    page = http.get(server.url("/sandbox"), params=form, timeout=30)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    r = http.post(
        server.url(path),
        data={"csrf": csrf, **form},
        timeout=120,
        headers={"Origin": server.url("").rstrip("/")},
    )
    assert r.status_code == 200, r.text[:300]


def _truth(engine, school_id: int) -> dict:
    with Session(engine) as s:
        ours = Alert.school_id == school_id
        pinned = Alert.status == "open", or_(Alert.severity == "urgent", Alert.kind.in_(OWNED_KINDS))
        contacts = union(
            select(OutboxMessage.contact_id).where(
                OutboxMessage.school_id == school_id, OutboxMessage.contact_id.is_not(None)
            ),
            select(InboundMessage.contact_id).where(
                InboundMessage.school_id == school_id, InboundMessage.contact_id.is_not(None)
            ),
        ).subquery()
        return {
            "alerts": s.exec(select(func.count(Alert.id)).where(ours)).one(),
            "open": s.exec(select(func.count(Alert.id)).where(ours, Alert.status == "open")).one(),
            "pinned": list(s.exec(select(Alert.id).where(ours, *pinned).order_by(Alert.id.desc())).all()),
            "families": s.exec(select(func.count()).select_from(contacts)).one(),
        }


@pytest.mark.browser
def test_a_week_of_alerts_is_all_there_urgent_first_and_paged(settings, settings_env, engine):
    from playwright.sync_api import expect, sync_playwright

    _load_sample_trust(settings_env)
    with Session(engine) as s:
        school = s.exec(select(School).where(School.urn == "100001")).one()
        dsl = s.exec(select(Staff).where(Staff.school_id == school.id, Staff.role == "dsl")).first()
    form = {"school": "100001", "staff": dsl.id}
    ARTIFACTS.mkdir(exist_ok=True)
    with live_app(settings, create_app=create_app) as server, sync_playwright() as pw:
        http = requests.Session()
        for _day in range(4):  # Monday to Thursday through the sandbox's routes
            for path in (
                "/sandbox/clock/register-close",
                "/sandbox/clock/register-close",
                "/sandbox/clock/next-day",
            ):
                _post(http, server, path, form)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="en-GB")
            page.goto(server.url(f"/sandbox?school=100001&staff={dsl.id}"))
            expect(page.locator("#sim-now")).to_contain_text("Friday 27 November 2026")
            for button in ("#btn-register-close", "#btn-register-close", "#btn-next-day"):  # Friday
                page.click(button)
            expect(page.locator("#sim-now")).to_contain_text("Monday 30 November 2026")

            truth = _truth(engine, school.id)
            assert truth["alerts"] > 30 and truth["families"] > 20 and truth["pinned"]
            counts = f"{truth['alerts']} alerts, {truth['open']} open"
            expect(page.locator("#alerts-count")).to_have_text(counts)
            expect(page.locator("#families-count")).to_have_text(f"{truth['families']} families")

            # Every open urgent alert is pinned, newest first, above everything else.
            pinned = page.locator("#pastoral article[data-pinned]")
            expect(pinned).to_have_count(len(truth["pinned"]))
            shown = [int(x.removeprefix("alert-")) for x in pinned.evaluate_all("els => els.map(e => e.id)")]
            assert shown == truth["pinned"]
            assert page.locator("#pastoral article").first.get_attribute("data-pinned") == "1"
            page.locator("#pastoral").screenshot(path=str(ARTIFACTS / "sandbox-week-pastoral.png"))

            # The rest, page by page: together every alert exactly once.
            seen = set(shown)
            others_total = truth["alerts"] - len(truth["pinned"])
            pages = -(-others_total // PER_PAGE)
            for n in range(1, pages + 1):
                expect(page.locator("[data-pager=apage] span")).to_have_text(f"page {n} of {pages}")
                ids = page.locator("#other-alerts article").evaluate_all("els => els.map(e => e.id)")
                assert len(ids) == (PER_PAGE if n < pages else others_total - PER_PAGE * (pages - 1))
                seen |= {int(x.removeprefix("alert-")) for x in ids}
                if n < pages:
                    page.locator("[data-pager=apage] a[rel=next]").click()
            assert len(seen) == truth["alerts"]

            # Families: the first page shows 20 of them, the next page the following ones.
            expect(page.locator("#phones article.phone")).to_have_count(20)
            page.locator("[data-pager=fpage] a[rel=next]").click()
            expect(page.locator("[data-pager=fpage] span")).to_contain_text("page 2 of")
            page.locator("#phones").screenshot(path=str(ARTIFACTS / "sandbox-week-phones.png"))

            # A pinned MASH referral, acted on from the browser, leaves the pinned list.
            first = page.locator("#pastoral article[data-pinned]").first
            target = first.get_attribute("id")
            first.locator("button[data-action]").first.click()
            expect(page.locator(".notice.ok")).to_contain_text(dsl.name)
            expect(page.locator("#pastoral article[data-pinned]")).to_have_count(len(truth["pinned"]) - 1)
            expect(page.locator(f"#pastoral article[data-pinned]#{target}")).to_have_count(0)
            page.screenshot(path=str(ARTIFACTS / "sandbox-week-page.png"), full_page=True)
        finally:
            browser.close()
    with Session(engine) as s:
        acted = s.get(Alert, int(target.removeprefix("alert-")))
        assert acted.status == "acted"
