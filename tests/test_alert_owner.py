"""Every urgent alert has an owner, and every alert reaches a person (issue 12, items 4 and 5).

"Child may be missing" and welfare-concern alerts carry buttons, are raised again every few minutes
(school policy) until someone acts, are emailed and texted to the DSL, and sit at the top of
``/absences`` and ``/pupil``. A school with no Slack or Teams gets every alert by email, with a
signed link to act on it; in production the clock will not run a school whose alerts reach nobody.
On SQLite and PostgreSQL, through the real delivery job and the real web app.
"""

import re
from datetime import UTC, date, datetime, timedelta

from click.testing import CliRunner
from sqlmodel import Session, select

from bot.actors import Actor
from bot.alerts.owner import OWNER_ACTIONS
from bot.alerts.scheduled import deliver_alerts
from bot.alerts.service import raise_alert
from bot.cases.service import open_or_extend
from bot.commands import run_command
from bot.commands.acting import act
from bot.policy import policy_for
from bot.replies.service import receive_sms
from bot.settings import load_settings
from handlers.app import create_app
from storage.models import Alert, AlertAction, CaseEvent, OutboxMessage
from tests import factories as f

PROD_SECRET = "prod-secret-Zk3v9Qm2Lp8xRt5Wb7Nc"  # production needs a strong SECRET_KEY

DAY = date(2026, 11, 24)  # a Tuesday
NOW = datetime(2026, 11, 24, 9, 40, tzinfo=UTC)
MUM = "+447700900123"


def settings(db_url):
    return load_settings(
        database_url=db_url,
        secret_key="owner-test-secret-0123456789",
        public_base_url="https://bot.oakfield.example",
    )


def _world(engine, **school_kw):
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, name="Oakfield Primary", phone="+441632960001", **school_kw)
        amelia = f.pupil(s, school, first="Amelia", last="Khan", class_name="4 Birch")
        f.contact(s, school, amelia, first="Sara", mobile=MUM)
        dsl = f.staff(s, school, name="Dee Shah", role="dsl", email="dsl@oakfield.example")
        officer = f.staff(s, school, name="Jo Patel", role="attendance_officer")
        f.mark(s, amelia, DAY, "AM", "N")
        open_or_extend(s, pupil=amelia, day=DAY, session_name="AM", now=NOW)
        s.commit()
        return school, amelia, dsl, officer


def _reply(engine, db_url, body="I dropped him at the gate at 8.30", at=NOW):
    with Session(engine) as s:
        receive_sms(
            s,
            settings=settings(db_url),
            message_sid="SM" + "1" * 32,
            from_number=MUM,
            to_number="+441632960001",
            body=body,
            now=at,
        )
        s.commit()


def _deliver(engine, db_url, at):
    return deliver_alerts(engine, now=at, settings=settings(db_url))


def _staff_messages(engine, **where):
    with Session(engine) as s:
        q = select(OutboxMessage).where(OutboxMessage.kind == "staff_alert")
        for k, v in where.items():
            q = q.where(getattr(OutboxMessage, k) == v)
        return s.exec(q.order_by(OutboxMessage.id)).all()


def test_missing_child_alert_has_an_owner_until_someone_acts(engine, db_url):
    school, amelia, dsl, officer = _world(
        engine,
        dsl_email="dsl@oakfield.example",
        attendance_lead_email="lead@oakfield.example",
        dsl_mobile="+447700900999",
    )
    _reply(engine, db_url)
    with Session(engine) as s:
        twins = s.exec(select(Alert).where(Alert.kind == "missing_child").order_by(Alert.id)).all()
        assert len(s.exec(select(Alert)).all()) == 2  # no second, welfare alert about the same words
    assert [a.audience for a in twins] == ["pastoral", "dsl"]
    assert all(a.data["actions"] == OWNER_ACTIONS and a.raised_count == 1 for a in twins)

    # Delivered at once: no chat at this school, so by email; the DSL's copy by email and text too.
    counts = _deliver(engine, db_url, NOW + timedelta(seconds=10))
    assert counts["email"] == 2 and counts["dsl_sms"] == 1
    [to_dsl] = _staff_messages(engine, to_address="dsl@oakfield.example")
    [to_lead] = _staff_messages(engine, to_address="lead@oakfield.example")
    [text] = _staff_messages(engine, channel="sms")
    assert text.to_address == "+447700900999" and "Amelia Khan (4 Birch)" in text.body
    assert "dropped him" not in text.body  # the parent's words stay out of the text
    assert "dropped him at the gate" in to_dsl.body and "Child found safe" in to_dsl.body
    assert re.search(r"https://bot\.oakfield\.example/a/\S+", to_dsl.body)
    assert to_lead.subject.startswith("URGENT — Oakfield Primary")

    # Nobody acts: raised again after the school's interval (5 minutes), not before.
    assert _deliver(engine, db_url, NOW + timedelta(minutes=4))["urgent_reraised"] == 0
    again = _deliver(engine, db_url, NOW + timedelta(minutes=5, seconds=10))
    assert again["urgent_reraised"] == 2 and again["email"] == 2 and again["dsl_sms"] == 1
    assert len(_staff_messages(engine, channel="sms")) == 2
    with Session(engine) as s:
        dsl_twin = s.get(Alert, twins[1].id)
        assert dsl_twin.raised_count == 2 and "Raised 2 times" in dsl_twin.body
        assert s.exec(select(CaseEvent).where(CaseEvent.kind == "alert_reraised")).all()

    # Shown first in /absences and /pupil, with the act line; the DSL twin only to the DSL.
    with Session(engine) as s:
        as_dsl = run_command(
            s, staff=s.get(type(dsl), dsl.id), text="absences", now=NOW + timedelta(minutes=6)
        )
        assert as_dsl.sections[0].heading.startswith("Needs someone now")
        assert {u["alert_id"] for u in as_dsl.data["urgent"]} == {a.id for a in twins}
        assert f"act {twins[1].id} child_found_safe" in as_dsl.sections[0].lines[1]
        as_officer = run_command(
            s,
            staff=s.get(type(officer), officer.id),
            text="pupil Amelia Khan",
            now=NOW + timedelta(minutes=6),
        )
        assert [u["alert_id"] for u in as_officer.data["urgent"]] == [twins[0].id]

    # The DSL reports the parent reached: both twins are settled and nothing is raised again.
    with Session(engine) as s:
        act(
            s,
            alert_id=twins[1].id,
            action="parent_reached",
            actor=Actor.of(dsl),
            now=NOW + timedelta(minutes=7),
        )
        s.commit()
        assert {s.get(Alert, a.id).status for a in twins} == {"acted"}
        assert s.exec(select(CaseEvent).where(CaseEvent.kind == "parent_reached")).one()
    later = _deliver(engine, db_url, NOW + timedelta(minutes=30))
    assert later["urgent_reraised"] == 0 and len(_staff_messages(engine, channel="sms")) == 2
    with Session(engine) as s:
        assert (
            run_command(
                s, staff=s.get(type(dsl), dsl.id), text="absences", now=NOW + timedelta(minutes=31)
            ).data.get("urgent")
            is None
        )


def test_the_re_alert_interval_is_the_schools_and_welfare_concerns_are_owned_too(engine, db_url):
    school, amelia, dsl, _officer = _world(engine, dsl_email="dsl@oakfield.example")
    with Session(engine) as s:
        policy = policy_for(s, school.id)
        policy.urgent_realert_minutes = 15
        s.add(policy)
        s.commit()
    _reply(engine, db_url, body="She has a tummy ache, and she says she's scared of going home")
    with Session(engine) as s:
        [concern] = s.exec(select(Alert).where(Alert.kind == "welfare_concern")).all()
    assert concern.data["actions"] == OWNER_ACTIONS
    _deliver(engine, db_url, NOW)
    assert _deliver(engine, db_url, NOW + timedelta(minutes=10))["urgent_reraised"] == 0
    assert _deliver(engine, db_url, NOW + timedelta(minutes=15))["urgent_reraised"] == 1
    with Session(engine) as s:
        act(
            s, alert_id=concern.id, action="close_alert", actor=Actor.of(dsl), now=NOW + timedelta(minutes=16)
        )
        s.commit()
        assert s.get(Alert, concern.id).status == "closed"
    assert _deliver(engine, db_url, NOW + timedelta(hours=1))["urgent_reraised"] == 0


def test_without_chat_every_alert_is_emailed_by_audience_and_acted_on_from_the_link(engine, db_url):
    school, amelia, dsl, officer = _world(
        engine, dsl_email="dsl@oakfield.example", attendance_lead_email="lead@oakfield.example"
    )
    with Session(engine) as s:
        for key, audience in (("a", "pastoral"), ("b", "dsl"), ("c", "attendance")):
            raise_alert(
                s,
                school_id=school.id,
                key=key,
                kind="escalation",
                title=f"Alert {key}",
                audience=audience,
                pupil_id=amelia.id,
                data={"actions": ["acknowledge"]},
                now=NOW,
            )
        s.commit()
    counts = _deliver(engine, db_url, NOW)
    assert counts["email"] == 3 and counts["local"] == 0
    assert [m.to_address for m in _staff_messages(engine)] == [
        "lead@oakfield.example",
        "dsl@oakfield.example",
        "lead@oakfield.example",
    ]
    with Session(engine) as s:
        assert all(a.delivered_at is not None for a in s.exec(select(Alert)).all())
    assert _deliver(engine, db_url, NOW + timedelta(minutes=1))["email"] == 0  # once per raise

    # The DSL's email carries a signed link: the page acts as the member of staff with that address.
    [dsl_mail] = _staff_messages(engine, to_address="dsl@oakfield.example")
    path = re.search(r"https://bot\.oakfield\.example(/a/\S+)", dsl_mail.body).group(1)
    client = create_app(settings(db_url)).test_client()
    page = client.get(path)
    assert page.status_code == 200 and "Alert b" in page.get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.get_data(as_text=True)).group(1)
    assert client.post(path, data={"action": "acknowledge", "csrf": "forged"}).status_code == 400
    done = client.post(path, data={"action": "acknowledge", "csrf": csrf})
    assert done.status_code == 200 and "Recorded" in done.get_data(as_text=True)
    with Session(engine) as s:
        [action] = s.exec(select(AlertAction)).all()
        assert action.actor_name == "Dee Shah" and action.staff_id == dsl.id
    assert client.get(path[:-4] + "abcd").status_code == 400  # a tampered link


def test_a_school_with_no_address_at_all_falls_back_to_the_local_feed_in_development(engine, db_url):
    school, amelia, *_ = _world(engine)
    with Session(engine) as s:
        raise_alert(s, school_id=school.id, key="x", kind="escalation", title="Home visit", now=NOW)
        s.commit()
    counts = _deliver(engine, db_url, NOW)
    assert counts["local"] == 1 and counts["email"] == 0


def test_in_production_the_clock_refuses_a_school_whose_alerts_reach_nobody(engine, db_url, monkeypatch):
    from bot.cli import main
    from bot.settings import get_settings
    from scheduler.schedule import all_slots

    with Session(engine, expire_on_commit=False) as s:
        good = f.school(s, urn="100001", name="Oakfield Primary", teams_workflow_url="https://example.org/wf")
        bad = f.school(s, urn="100002", name="Riverside Academy", dsl_email="dsl@riverside.example")
        s.commit()
    prod = load_settings(database_url=db_url, environment="production", secret_key=PROD_SECRET)
    with Session(engine) as s:
        slots = all_slots(s, prod)
        assert {x.school_id for x in slots} == {good.id}
        assert {x.school_id for x in all_slots(s, load_settings(database_url=db_url))} == {good.id, bad.id}
    # With SMTP the DSL's email is a route.
    with Session(engine) as s:
        smtp = load_settings(
            database_url=db_url,
            environment="production",
            secret_key=PROD_SECRET,
            smtp_host="smtp.example.org",
        )
        assert {x.school_id for x in all_slots(s, smtp)} == {good.id, bad.id}

    # The clock command names the school it will not run; with none left it does not start.
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", PROD_SECRET)
    with Session(engine) as s:
        row = s.get(type(good), good.id)
        row.teams_workflow_url = None
        s.add(row)
        s.commit()
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["clock"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert "Refusing to run school 100001 Oakfield Primary" in result.output
    assert "Refusing to run school 100002 Riverside Academy" in result.output
    assert "the clock will not start" in result.output


def test_a_raised_again_alert_is_posted_again_in_slack_and_teams(engine, db_url):
    """Re-raising cleared ``delivered_at`` but delivery skipped any path already posted: nobody saw it."""
    from http.server import BaseHTTPRequestHandler

    from tests.peers.http import serve_handler
    from tests.peers.slack_api import BOT_TOKEN, SlackAPIPeer, slack_settings

    class Workflow(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):  # noqa: N802
            self.server.posts.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(202)
            self.end_headers()

    with serve_handler(Workflow, posts=[]) as wf, SlackAPIPeer(BOT_TOKEN) as peer:
        school, amelia, dsl, _officer = _world(
            engine, slack_pastoral_channel="C0PASTORAL", teams_workflow_url=wf.url("/wf")
        )
        _reply(engine, db_url)
        settings_ = slack_settings(db_url, peer)
        first = deliver_alerts(engine, now=NOW, settings=settings_)
        # The missing-child alert goes to the channels; its DSL twin never does (no DSL has Slack here).
        assert first["slack"] == 1 and first["teams"] == 1
        assert deliver_alerts(engine, now=NOW + timedelta(minutes=1), settings=settings_)["slack"] == 0
        again = deliver_alerts(engine, now=NOW + timedelta(minutes=6), settings=settings_)
        assert again["urgent_reraised"] == 2 and again["slack"] == 1 and again["teams"] == 1
        channel_posts = [c for c in peer.calls_to("chat.postMessage") if c.body["channel"] == "C0PASTORAL"]
        assert len(channel_posts) == 2 and len(wf.server.posts) == 2
        assert "Raised 2 times" in channel_posts[-1].body["text"] + str(channel_posts[-1].body["blocks"])
        with Session(engine) as s:
            twin = s.exec(select(Alert).where(Alert.kind == "missing_child")).first()
            assert len(twin.data["slack_copies"]) >= 1  # the first post is re-rendered on a button press


def test_a_missing_child_seen_in_school_is_not_raised_again(engine, db_url):
    from bot.cases.service import close as close_case
    from storage.models import AbsenceCase

    _world(engine, dsl_email="dsl@oakfield.example", dsl_mobile="+447700900999")
    _reply(engine, db_url)
    _deliver(engine, db_url, NOW)
    with Session(engine) as s:  # the child turns up: the register shows them in, the case closes
        close_case(s, case=s.exec(select(AbsenceCase)).one(), reason="marked present", now=NOW)
        s.commit()
    assert _deliver(engine, db_url, NOW + timedelta(minutes=6))["urgent_reraised"] == 0
    with Session(engine) as s:
        assert {a.status for a in s.exec(select(Alert).where(Alert.kind == "missing_child"))} == {"closed"}
        assert s.exec(select(CaseEvent).where(CaseEvent.kind == "alert_closed")).all()
    assert len(_staff_messages(engine, channel="sms")) == 1


def test_alerts_from_the_command_line_urgent_first_and_acted_on_as_named_staff(engine, db_url, settings_env):
    import json as jsonlib

    from bot.cli import main

    school, amelia, dsl, officer = _world(engine, dsl_email="dsl@oakfield.example")
    with Session(engine) as s:
        raise_alert(
            s,
            school_id=school.id,
            key="old",
            kind="escalation",
            title="Home visit requested",
            severity="high",
            pupil_id=amelia.id,
            data={"actions": ["acknowledge"]},
            now=NOW,
        )
        s.commit()
    _reply(engine, db_url, at=NOW + timedelta(minutes=1))
    listed = CliRunner().invoke(main, ["alerts", "list", "--school", school.urn, "--json"])
    rows = [jsonlib.loads(line) for line in listed.output.splitlines()]
    assert [r["kind"] for r in rows] == ["missing_child", "missing_child", "escalation"]
    assert rows[0]["actions"] == OWNER_ACTIONS
    dsl_twin = next(r for r in rows if r["audience"] == "dsl")
    # The DSL-only twin needs the DSL; the DSL records the child found safe.
    refused = CliRunner().invoke(
        main,
        [
            "alerts",
            "act",
            str(dsl_twin["id"]),
            "child_found_safe",
            "--school",
            school.urn,
            "--as",
            officer.staff_code,
        ],
    )
    assert refused.exit_code != 0 and "only the DSL" in refused.output
    done = CliRunner().invoke(
        main,
        [
            "alerts",
            "act",
            str(dsl_twin["id"]),
            "child_found_safe",
            "--school",
            school.urn,
            "--as",
            dsl.staff_code,
            "--now",
            "2026-11-24T09:50",
        ],
    )
    assert done.exit_code == 0, done.output
    with Session(engine) as s:
        assert {a.status for a in s.exec(select(Alert).where(Alert.kind == "missing_child"))} == {"acted"}
        assert s.exec(select(CaseEvent).where(CaseEvent.kind == "child_found_safe")).one()
    assert (
        "No alerts."
        in CliRunner().invoke(main, ["alerts", "list", "--school", school.urn, "--status", "closed"]).output
    )
