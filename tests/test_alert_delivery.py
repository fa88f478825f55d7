"""Alerts delivered to chat: Slack channel posts with buttons (and DSL DMs), Teams Workflows cards,
the local feed; an outage delays, never drops; a button press updates the message in place."""

import json
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from bot import clock
from bot.alerts.deliver import deliver_pending
from bot.alerts.service import raise_alert
from bot.chat.teams import MAX_BYTES
from storage.models import Alert, AlertAction, OutboxMessage, Staff
from tests import factories as f
from tests.peers.http import serve_handler
from tests.peers.slack_api import BOT_TOKEN, SlackAPIPeer, live_slack, slack_settings

DAY = date(2026, 9, 16)


NOW = datetime.fromisoformat("2026-09-16 10:00:00+00:00")  # the frozen instant below


@pytest.fixture(autouse=True)
def _clock():
    with freeze_time("2026-09-16 10:00:00", tick=True):
        yield


class WorkflowHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append((self.headers.get("Content-Type"), raw))
        self.send_response(202)
        self.end_headers()


@pytest.fixture
def workflow():
    with serve_handler(WorkflowHandler, posts=[]) as running:
        yield running


def _world(session, *, teams_url: str | None = None, channels: bool = True):
    kw = {"slack_team_id": "T0SCHOOL"}
    if channels:
        kw.update(slack_pastoral_channel="C0PASTORAL", slack_attendance_channel="C0ATT")
    school = f.school(session, teams_workflow_url=teams_url, **kw)
    officer = f.staff(session, school, name="Jo Patel", role="attendance_officer", slack_user_id="U0OFFICER")
    f.staff(session, school, name="Dee Shah", role="dsl", slack_user_id="U0DSL")
    teacher = f.staff(session, school, name="Sam Reed", role="teacher", slack_user_id="U0TEACHER")
    amelia = f.pupil(
        session, school, first="Amelia", last="Khan", year_group=6, class_name="6A", child_protection=True
    )
    pastoral, _ = raise_alert(
        session,
        now=NOW,
        school_id=school.id,
        key="t:pastoral",
        kind="home_visit_requested",
        severity="high",
        title="Home visit requested",
        body="Day 3 with no reason from the family.",
        pupil_id=amelia.id,
        data={
            "day": 3,
            "actions": ["acknowledge", "close_case"],
            "evidence": ["3 SMS sent, 0 delivered", "No reply", "2 calls: no answer"],
        },
    )
    attendance, _ = raise_alert(
        session,
        now=NOW,
        school_id=school.id,
        key="t:att",
        kind="pattern",
        title="Mondays pattern",
        audience="attendance",
        pupil_id=amelia.id,
        data={"actions": ["acknowledge"]},
    )
    dsl, _ = raise_alert(
        session,
        now=NOW,
        school_id=school.id,
        key="t:dsl",
        kind="concern",
        title="Welfare concern in reply",
        audience="dsl",
        severity="urgent",
        pupil_id=amelia.id,
        data={"actions": ["acknowledge"]},
    )
    session.commit()
    return {
        "school": school,
        "officer": officer,
        "teacher": teacher,
        "pastoral": pastoral,
        "attendance": attendance,
        "dsl": dsl,
    }


def _alerts(engine) -> dict[str, Alert]:
    with Session(engine) as s:
        return {a.idempotency_key: a for a in s.exec(select(Alert)).all()}


def test_slack_delivery_posts_blocks_with_buttons_and_dms_the_dsl(engine, db_url, session):
    w = _world(session)
    with SlackAPIPeer(BOT_TOKEN) as peer:
        counts = deliver_pending(engine, settings=slack_settings(db_url, peer), now=clock.now())
        posts = peer.calls_to("chat.postMessage")
        again = deliver_pending(engine, settings=slack_settings(db_url, peer), now=clock.now())
        assert len(peer.calls_to("chat.postMessage")) == len(posts)  # idempotent
    assert counts == {
        "slack": 2,
        "slack_dm": 1,
        "teams": 0,
        "email": 0,
        "dsl_email": 0,
        "dsl_sms": 0,
        "local": 0,
        "failed": 0,
    }
    assert again["slack"] == 0
    by_channel = {}
    for p in posts:
        by_channel.setdefault(p.body["channel"], []).append(p.body)
    assert sorted(by_channel) == ["C0ATT", "C0PASTORAL", "DU0DSL"]
    home_visit = next(b for b in by_channel["C0PASTORAL"] if "Home visit" in b["text"])
    blocks = home_visit["blocks"]
    assert blocks[0]["type"] == "header" and "Home visit requested" in blocks[0]["text"]["text"]
    fields = " ".join(x["text"] for x in blocks[1]["fields"])
    assert "Amelia Khan" in fields and "Year 6 / 6A" in fields and "school day 3" in fields and "CP" in fields
    assert "3 SMS sent, 0 delivered" in json.dumps(blocks)
    buttons = next(b for b in blocks if b["type"] == "actions")["elements"]
    pid = w["pastoral"].id
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("alert_action:acknowledge", f"{pid}:acknowledge"),
        ("alert_action:close_case", f"{pid}:close_case"),
    ]
    assert "Welfare concern" in by_channel["DU0DSL"][0]["text"]
    # The DSL's alert (a parent's disclosure) is only in the DSL's direct messages, never a channel.
    assert not any("Welfare concern" in b["text"] for ch in ("C0ATT", "C0PASTORAL") for b in by_channel[ch])
    stored = _alerts(engine)
    assert all(a.delivered_at is not None for a in stored.values())
    assert stored["t:pastoral"].slack_channel == "C0PASTORAL" and stored["t:pastoral"].slack_ts
    assert stored["t:dsl"].slack_ts is None
    assert stored["t:dsl"].data["slack_copies"][0][0] == "DU0DSL"


def test_slack_outage_delays_and_does_not_drop(engine, db_url, session):
    _world(session)
    with SlackAPIPeer(BOT_TOKEN) as peer:
        settings = slack_settings(db_url, peer)
        peer.fail("chat.postMessage", "service_unavailable")
        counts = deliver_pending(engine, settings=settings, now=clock.now())
        assert counts["failed"] == 3 and counts["slack"] == 0
        assert all(a.delivered_at is None for a in _alerts(engine).values())
        peer.recover()
        after = deliver_pending(engine, settings=settings, now=clock.now())
        assert (after["slack"], after["slack_dm"], after["failed"]) == (2, 1, 0)
    assert all(a.delivered_at is not None for a in _alerts(engine).values())


def test_a_dsl_alert_never_reaches_a_shared_channel(engine, db_url, session, workflow):
    """Teams has no private route here and no DSL has Slack: the DSL's alert goes by email only."""
    w = _world(session, teams_url=workflow.url("/workflows/abc"))
    w["school"].dsl_email = "dsl@school.example"
    for staff in session.exec(select(Staff).where(Staff.role == "dsl")).all():
        staff.slack_user_id = None
        session.add(staff)
    session.add(w["school"])
    session.commit()
    with SlackAPIPeer(BOT_TOKEN) as peer:
        counts = deliver_pending(engine, settings=slack_settings(db_url, peer), now=clock.now())
        channels = [p.body["channel"] for p in peer.calls_to("chat.postMessage")]
        texts = [p.body["text"] for p in peer.calls_to("chat.postMessage")]
    assert (counts["slack"], counts["teams"], counts["slack_dm"], counts["failed"]) == (2, 2, 0, 0)
    assert sorted(channels) == ["C0ATT", "C0PASTORAL"]
    assert not any("Welfare concern" in t for t in texts)
    assert not any("Welfare concern" in raw.decode() for _, raw in workflow.server.posts)
    assert counts["email"] == 1
    with Session(engine) as s:
        [mail] = s.exec(select(OutboxMessage).where(OutboxMessage.channel == "email")).all()
        assert mail.to_address == "dsl@school.example"
    assert all(a.delivered_at is not None for a in _alerts(engine).values())


def test_teams_workflow_gets_an_adaptive_card_with_commands_to_type(engine, db_url, session, workflow):
    w = _world(session, teams_url=workflow.url("/workflows/abc"), channels=False)
    from bot.settings import load_settings

    counts = deliver_pending(engine, settings=load_settings(database_url=db_url), now=clock.now())
    # The DSL's alert is never in a channel; with no DSL email here it waits in the local feed.
    assert counts["teams"] == 2 and counts["local"] == 1
    ctype, raw = workflow.server.posts[0]
    assert ctype == "application/json" and len(raw) <= MAX_BYTES
    message = json.loads(raw)
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    text = json.dumps(card, ensure_ascii=False)
    assert "Home visit requested" in text and f"@Attendance act {w['pastoral'].id} acknowledge" in text
    assert all(a.delivered_at is not None for a in _alerts(engine).values())


def test_without_slack_or_teams_the_table_is_the_feed(engine, db_url, session):
    _world(session, channels=False)
    from bot.settings import load_settings

    counts = deliver_pending(engine, settings=load_settings(database_url=db_url), now=clock.now())
    assert counts["local"] == 3
    assert all(a.delivered_at is not None for a in _alerts(engine).values())


def test_button_press_acts_and_updates_the_message_in_place(engine, db_url, session):
    w = _world(session)
    with live_slack(db_url) as slack:
        deliver_pending(engine, settings=slack_settings(db_url, slack.peer), now=clock.now())
        alert = _alerts(engine)["t:pastoral"]
        resp, _ = slack.action(
            "alert_action:acknowledge",
            f"{alert.id}:acknowledge",
            user="U0OFFICER",
            channel=alert.slack_channel,
            message_ts=alert.slack_ts,
        )
        assert resp.status_code == 200
        [update] = slack.peer.wait_for("chat.update")
    assert (update.body["channel"], update.body["ts"]) == (alert.slack_channel, alert.slack_ts)
    blocks = json.dumps(update.body["blocks"], ensure_ascii=False)
    assert "Acknowledge — Jo Patel" in blocks and '"type": "actions"' not in blocks and "acted" in blocks
    with Session(engine) as s:
        [action] = s.exec(select(AlertAction)).all()
        assert (action.action, action.staff_id) == ("acknowledge", w["officer"].id)
        assert s.get(Alert, alert.id).status == "acted"


def test_teacher_cannot_act_on_a_dsl_alert(engine, db_url, session):
    _world(session)
    with live_slack(db_url) as slack:
        deliver_pending(engine, settings=slack_settings(db_url, slack.peer), now=clock.now())
        alert = _alerts(engine)["t:dsl"]
        _, key = slack.action("alert_action:acknowledge", f"{alert.id}:acknowledge", user="U0TEACHER")
        body = slack.responses(key)[0]
        assert slack.peer.calls_to("chat.update") == []
    assert "only the DSL" in body["text"] and body["response_type"] == "ephemeral"
    with Session(engine) as s:
        assert s.exec(select(AlertAction)).all() == []
        assert s.get(Alert, alert.id).status == "open"


def test_threshold_evidence_reads_as_dates_sessions_and_codes():
    from bot.alerts.view import evidence as _evidence
    from storage.models import Alert

    alert = Alert(
        school_id=1,
        idempotency_key="k",
        kind="penalty_threshold",
        title="t",
        data={
            "evidence": [
                {"date": "2026-11-09", "session": "AM", "code": "O"},
                {"date": "2026-11-10", "session": "pm", "code": "G"},
            ]
        },
    )
    assert _evidence(alert) == ["Mon 09 Nov AM: O", "Tue 10 Nov PM: G"]
    many = Alert(
        school_id=1,
        idempotency_key="k2",
        kind="x",
        title="t",
        data={"evidence": [{"date": "2026-11-09", "session": "AM", "code": "N"}] * 25},
    )
    lines = _evidence(many)
    assert len(lines) == 3 and lines[0].count("Mon 09 Nov AM: N") == 10
