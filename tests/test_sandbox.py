"""The sandbox page over real HTTP (the live Flask app on loopback), on SQLite and PostgreSQL.

Each pane is driven through its form as a browser would post it, and the effect is checked in the
tables: the clock buttons run the real jobs at the simulated time, the reply box goes through the
signed ``/twilio/sms`` webhook, the chat runs staff commands, and alert buttons recode with audit.
"""

import hashlib
import hmac
import re
from datetime import UTC, date, datetime, time

import pytest
import requests
from sqlmodel import Session, select

from bot import clock
from bot.settings import load_settings
from storage.models import (
    AbsenceCase,
    Alert,
    AlertAction,
    InboundMessage,
    Mark,
    MarkAmendment,
    OutboxMessage,
    SandboxClock,
)
from tests import factories as f
from tests.peers.http import live_app
from tryout.sandbox import service
from tryout.web import create_app

MONDAY = date(2026, 11, 23)


def local(day: date, hh_mm: str) -> datetime:
    return clock.at_local(day, time.fromisoformat(hh_mm))


@pytest.fixture
def settings(db_url):
    return load_settings(database_url=db_url, secret_key="sandbox-test-secret-" + "x" * 16)


@pytest.fixture
def school(engine):
    """Oakfield: Amelia Khan and Noah Smith already N on Monday morning, three classmates, staff."""
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, urn="100001", name="Oakfield Primary", phone="0113 496 0123")
        other = f.school(s, urn="100002", name="Riverside Academy")
        amelia = f.pupil(s, school, first="Amelia", last="Khan")
        noah = f.pupil(s, school, first="Noah", last="Smith")
        sara = f.contact(s, school, amelia, first="Sara", last="Khan", mobile="+447700900001")
        f.contact(
            s,
            school,
            amelia,
            first="Imran",
            last="Khan",
            mobile="+447700900002",
            priority=2,
            relationship="father",
        )
        tom = f.contact(
            s, school, noah, first="Tom", last="Smith", mobile="+447700900003", relationship="father"
        )
        jo = f.staff(s, school, name="Jo Patel", role="attendance_officer")
        stranger = f.staff(s, other, name="Dan Whitfield", role="attendance_officer")
        for first, last in (("Lily", "Evans"), ("Theo", "Brown"), ("Maya", "Patel")):
            f.pupil(s, school, first=first, last=last)  # the MIS stand-in takes their marks at close
        for p in (amelia, noah):
            f.mark(s, p, MONDAY, "AM", "N")
        s.commit()
        return {
            "school": school,
            "other": other,
            "amelia": amelia,
            "noah": noah,
            "sara": sara,
            "tom": tom,
            "jo": jo,
            "stranger": stranger,
        }


class Page:
    """A browser-like client: keeps the cookie (for notices) and the form token."""

    def __init__(self, server, urn: str, staff_id: int):
        self.server, self.http = server, requests.Session()
        self.query = {"school": urn, "staff": staff_id}
        self.html = ""
        self.csrf = ""

    def get(self) -> str:
        r = self.http.get(self.server.url("/sandbox"), params=self.query, timeout=30)
        assert r.status_code == 200, r.text
        self.html = r.text
        self.csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', r.text).group(1)
        return r.text

    def post(self, path: str, **form) -> requests.Response:
        if not self.csrf:
            self.get()
        # A browser sends the page's Origin with every form post; the sandbox refuses posts without it.
        r = self.http.post(
            self.server.url(path),
            data={"csrf": self.csrf, **self.query, **form},
            headers={"Origin": self.server.url("").rstrip("/")},
            timeout=60,
        )
        if r.status_code == 200:
            self.html = r.text
        return r


def test_no_sandbox_when_off_in_production_or_with_twilio(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    cases = [
        load_settings(database_url=url, sandbox_enabled=False),
        load_settings(
            database_url=url,
            environment="production",
            secret_key="prod-secret-" + "Zk3v9Qm2Lp8xRt5Wb7Nc",
            sandbox_enabled=True,
        ),
        load_settings(
            database_url=url,
            secret_key="prod-secret-" + "Zk3v9Qm2Lp8xRt5Wb7Nc",
            twilio_account_sid="AC" + "1" * 32,
            twilio_auth_token="t" * 32,
            twilio_from_number="+447700900999",
        ),
    ]
    for settings in cases:
        assert not settings.sandbox_on
        client = create_app(settings).test_client()
        assert client.get("/sandbox").status_code == 404
        assert client.post("/sandbox/clock/register-close").status_code == 404
        assert client.post("/sandbox/reply").status_code == 404
    on = create_app(load_settings(database_url=url, sandbox_enabled=True)).test_client()
    assert any(r.rule == "/sandbox" for r in on.application.url_map.iter_rules())


def test_the_products_app_never_mounts_the_sandbox(tmp_path):
    """Issue 17: the sandbox is the demo kit's; only a process edge that asks for it (run-local,
    ``tryout.web.create_app``) mounts it, so ``attendance-bot serve`` has no /sandbox even when on."""
    from handlers.app import create_app as product_app

    on = load_settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", sandbox_enabled=True)
    assert on.sandbox_on
    assert not any(r.rule.startswith("/sandbox") for r in product_app(on).url_map.iter_rules())
    assert product_app(on).test_client().get("/sandbox").status_code == 404
    assert any(r.rule == "/sandbox" for r in create_app(on).url_map.iter_rules())


def test_register_close_texts_the_families_and_the_reply_goes_through_the_signed_webhook(
    settings, engine, school
):
    with live_app(settings, create_app=create_app) as server:
        page = Page(server, "100001", school["jo"].id)
        assert "Monday 23 November 2026, 08:45" in page.get()
        r = page.post("/sandbox/clock/register-close")
        assert r.status_code == 200 and r.history[0].status_code == 303
        assert "AM register closed Mon 23 Nov 09:15" in r.text
        assert "Amelia is not in school" in r.text and "Noah is not in school" in r.text

        with Session(engine) as s:
            clock_row = s.get(SandboxClock, school["school"].id)
            assert clock_row.now == local(MONDAY, "09:15")
            texts = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "first_day")).all()
            assert {m.contact_id for m in texts} >= {school["sara"].id, school["tom"].id}
            assert all(m.status == "delivered" and m.created_at == local(MONDAY, "09:15") for m in texts)

        r = page.post(
            "/sandbox/reply", contact_id=school["sara"].id, body="She's got a temperature, back tomorrow"
        )
        assert r.status_code == 200 and "received by the school" in r.text

    with Session(engine) as s:
        inbound = s.exec(select(InboundMessage)).one()
        assert re.fullmatch(r"SM[0-9a-f]{32}", inbound.provider_id)
        assert inbound.contact_id == school["sara"].id and inbound.from_address == "+447700900001"
        assert inbound.received_at == local(MONDAY, "09:15")  # the simulated time, via X-Sandbox-Now
        assert inbound.code == "I" and inbound.return_date == date(2026, 11, 24)  # "tomorrow" of the sim day
        case = s.exec(select(AbsenceCase).where(AbsenceCase.pupil_id == school["amelia"].id)).one()
        assert case.status == "explained" and case.suggested_code == "I"
        alert = s.exec(select(Alert).where(Alert.kind == "reply")).one()
        assert alert.data["suggested_code"] == "I" and alert.data["actions"] == ["accept_code", "pick_code"]
        thanks = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "thanks")).one()
        assert thanks.status == "delivered" and thanks.contact_id == school["sara"].id


def test_forged_or_tokenless_posts_are_refused(settings, engine, school):
    """Issue 13, item 7: a token another page could compute (the old constant, HMAC of the secret
    over a fixed string), a made-up one or none at all is a 403 that says why, and nothing runs."""
    old_constant = hmac.new(settings.secret_key.encode(), b"sandbox-forms", hashlib.sha256).hexdigest()
    with live_app(settings, create_app=create_app) as server:
        page = Page(server, "100001", school["jo"].id)
        page.get()
        assert page.csrf != old_constant
        for forged in ("0" * 64, old_constant):
            page.csrf = forged
            r = page.post("/sandbox/clock/register-close")
            assert r.status_code == 403 and "token" in r.text and "Nothing was changed" in r.text
            assert page.post("/sandbox/reply", contact_id=school["sara"].id, body="hi").status_code == 403
            assert page.post("/sandbox/chat", text="/recode Amelia Khan I ill").status_code == 403
            assert page.post("/sandbox/clock/next-day").status_code == 403
        tokenless = page.http.post(
            server.url("/sandbox/clock/register-close"),
            data=page.query,
            headers={"Origin": server.url("").rstrip("/")},
            timeout=30,
        )
        assert tokenless.status_code == 403 and "token" in tokenless.text
        html = page.get()
        assert "/recode Amelia Khan" not in html  # the chat command never ran
    with Session(engine) as s:
        assert s.exec(select(OutboxMessage)).first() is None
        assert s.exec(select(InboundMessage)).first() is None
        assert s.exec(select(MarkAmendment)).first() is None
        assert s.get(SandboxClock, school["school"].id).now == local(MONDAY, "08:45")  # never moved


def test_sandbox_now_header_is_ignored_when_the_sandbox_is_off(db_url, engine, school):
    from handlers.app import create_app

    off = load_settings(database_url=db_url, sandbox_enabled=False)
    params = service.inbound_sms_params(
        settings=off, from_number="+447700900003", to_number="+441134960123", body="Noah has a cold"
    )
    client = create_app(off).test_client()
    before = datetime.now(UTC)
    answer = client.post(
        "/twilio/sms",
        data=params,
        headers={
            "X-Twilio-Signature": service.sign(off, params),
            "X-Sandbox-Now": "2027-01-05T10:00:00+00:00",
        },
    )
    assert answer.status_code == 200
    forged = dict(params, MessageSid="SM" + "f" * 32, Body="changed")
    assert (
        client.post(
            "/twilio/sms", data=forged, headers={"X-Twilio-Signature": service.sign(off, params)}
        ).status_code
        == 403
    )
    with Session(engine) as s:
        inbound = s.exec(select(InboundMessage)).one()
        assert inbound.received_at >= before and inbound.received_at.year == before.year


def test_staff_chat_runs_the_commands_as_the_chosen_staff_member(settings, engine, school):
    with live_app(settings, create_app=create_app) as server:
        page = Page(server, "100001", school["jo"].id)
        page.post("/sandbox/clock/register-close")
        r = page.post("/sandbox/chat", text="/absences")
        assert "Jo Patel (attendance officer): <code>/absences</code>" in r.text
        assert "Unexplained absences today:" in r.text and "Amelia Khan" in r.text and "Noah Smith" in r.text
        r = page.post("/sandbox/chat", text="/recode Amelia Khan I am ill, mum phoned")
        assert "Recoded Amelia Khan on Mon 23 Nov" in r.text
        r = page.post("/sandbox/chat", text="/pupil <script>alert(1)</script>")
        assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
    with Session(engine) as s:
        amendment = s.exec(select(MarkAmendment)).one()
        assert (amendment.original_code, amendment.amended_code) == ("N", "I")
        assert (amendment.amended_by_name, amendment.amended_by_role) == ("Jo Patel", "attendance_officer")


def test_alert_buttons_recode_with_audit_and_stay_within_the_school(settings, engine, school):
    with live_app(settings, create_app=create_app) as server:
        page = Page(server, "100001", school["jo"].id)
        page.post("/sandbox/clock/register-close")
        page.post("/sandbox/reply", contact_id=school["sara"].id, body="She has a temperature, back tomorrow")
        html = page.get()
        with Session(engine) as s:
            alert = s.exec(select(Alert).where(Alert.kind == "reply")).one()
        assert f'action="/sandbox/alerts/{alert.id}/accept_code"' in html and "Accept code I" in html

        # A member of staff of another school cannot act on it (the page refuses, nothing changes).
        intruder = Page(server, "100001", school["stranger"].id)
        intruder.query["school"] = "100002"
        r = intruder.post(f"/sandbox/alerts/{alert.id}/accept_code")
        assert "belongs to another school" in r.text

        r = page.post(f"/sandbox/alerts/{alert.id}/accept_code")
        assert r.status_code == 200 and "accept code" in r.text
    with Session(engine) as s:
        assert s.get(Alert, alert.id).status == "acted"
        action = s.exec(select(AlertAction)).one()
        assert action.staff_id == school["jo"].id and action.action == "accept_code"
        amendment = s.exec(select(MarkAmendment)).one()
        assert amendment.pupil_id == school["amelia"].id and amendment.amended_code == "I"
        assert amendment.amended_by_name == "Jo Patel" and amendment.amended_by_role == "attendance_officer"
        assert amendment.reason.startswith("Parent reply: She has a temperature")
        mark = s.exec(
            select(Mark).where(
                Mark.pupil_id == school["amelia"].id, Mark.date == MONDAY, Mark.session == "AM"
            )
        ).one()
        assert mark.code == "I"


def test_clock_buttons_run_chase_and_move_to_the_next_school_day(settings, engine, school):
    with live_app(settings, create_app=create_app) as server:
        page = Page(server, "100001", school["jo"].id)
        page.post("/sandbox/clock/register-close")
        r = page.post("/sandbox/clock/next-chase")
        assert "Chase at Mon 23 Nov 11:00" in r.text
        with Session(engine) as s:
            chases = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "chase")).all()
            # Amelia's family: the first contact did not answer in time, so her father is tried.
            assert {m.contact_id for m in chases} >= {school["tom"].id}
            assert all(m.status == "delivered" and m.created_at == local(MONDAY, "11:00") for m in chases)
        r = page.post("/sandbox/clock/next-day")
        assert "Tuesday 24 November 2026, 08:45" in r.text
        r = page.post("/sandbox/clock/register-close")  # Tuesday's AM register, taken by the MIS stand-in
        assert "AM register closed Tue 24 Nov 09:15" in r.text
    with Session(engine) as s:
        assert s.get(SandboxClock, school["school"].id).now == local(date(2026, 11, 24), "09:15")
        assert s.exec(select(Mark).where(Mark.date == date(2026, 11, 24), Mark.session == "AM")).all()
        # Monday PM was never closed: the chase (11:00) came before it and "next school day" takes none.
        assert not s.exec(select(Mark).where(Mark.date == MONDAY, Mark.session == "PM")).all()


def test_form_token_is_per_browser_session_and_posts_must_come_from_our_pages(settings, engine, school):
    """Issue 13, item 7: the sandbox's CSRF token was a constant and the Origin was not checked."""
    with live_app(settings, create_app=create_app) as server:
        alice, bob = Page(server, "100001", school["jo"].id), Page(server, "100001", school["jo"].id)
        alice.get()
        bob.get()
        assert alice.csrf != bob.csrf and len(alice.csrf) == 64
        first = alice.csrf
        alice.get()
        assert alice.csrf == first  # the same browser keeps its token
        stolen = bob.csrf
        bob.csrf = alice.csrf  # another browser's token is refused
        assert bob.post("/sandbox/clock/register-close").status_code == 403
        bob.csrf = stolen
        url, form = server.url("/sandbox/clock/register-close"), {"csrf": stolen, **bob.query}
        # From another site (its Origin), or with neither Origin nor Referer: refused.
        foreign = bob.http.post(url, data=form, headers={"Origin": "https://evil.example"})
        assert foreign.status_code == 403 and "another site" in foreign.text
        assert bob.http.post(url, data=form, headers={"Origin": "null"}).status_code == 403
        assert bob.http.post(url, data=form).status_code == 403
        evil = {"Referer": "https://evil.example/sandbox"}
        assert bob.http.post(url, data=form, headers=evil).status_code == 403
        with Session(engine) as s:
            assert s.exec(select(OutboxMessage)).first() is None
        # A same-origin Referer (a browser that sends no Origin) is ours.
        ok = bob.http.post(url, data=form, headers={"Referer": server.url("/sandbox?school=100001")})
        assert ok.status_code == 200
    with Session(engine) as s:
        assert s.exec(select(OutboxMessage)).first() is not None


def test_the_panes_count_everything_pin_urgent_alerts_and_page_the_rest(engine):
    """Issue 12, item 9 without a browser: true counts, urgent alerts first, every alert on some page."""
    from bot.alerts.service import raise_alert
    from tryout.sandbox import pages

    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, urn="100003")
        pupil = f.pupil(s, school)
        for i in range(25):
            contact = f.contact(s, school, pupil, first=f"Parent{i}", mobile=f"+4477009{i:05d}")
            at = local(MONDAY, "09:15")
            s.add(
                OutboxMessage(
                    school_id=school.id,
                    idempotency_key=f"k{i}",
                    kind="first_day",
                    channel="sms",
                    contact_id=contact.id,
                    to_address=contact.mobile,
                    body="Hello",
                    created_at=at,
                    updated_at=at,
                    next_attempt_at=at,
                )
            )
        now = local(MONDAY, "10:00")
        for i in range(45):
            severity = "urgent" if i % 9 == 0 else "high"
            alert, _ = raise_alert(
                s,
                school_id=school.id,
                key=f"a{i}",
                kind="escalation",
                title=f"Alert {i}",
                severity=severity,
                pupil_id=pupil.id,
                now=now,
            )
            if i == 9:
                alert.status = "acted"  # urgent but dealt with: not pinned
        s.commit()
        fam = pages.families(s, school=school)
        assert fam.total == 25 and len(fam.items) == 20 and fam.pages == 2
        assert len(pages.families(s, school=school, page=2).items) == 5
        pane = pages.alerts(s, school=school)
        assert pane.total == 45 and pane.open == 44
        assert [a.title for a in pane.pinned] == ["Alert 36", "Alert 27", "Alert 18", "Alert 0"]
        assert pane.others.total == 41 and pane.others.pages == 2 and len(pane.others.items) == 30
        rest = pages.alerts(s, school=school, page=2).others.items
        shown = {a.title for a in pane.pinned + pane.others.items + rest}
        assert len(shown) == 45
