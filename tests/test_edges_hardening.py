"""The web edges under abuse and slowness (issue 13, items 5 and 7): Teams answers never put DSL-only
content in a channel, Teams activities cannot be replayed, webhook bodies have a size limit, Slack's
bad requests are refused quietly, SMS bodies with control characters are kept, and parents' text
is shown as typed in Teams cards. Real signed requests against the real HTTP app throughout."""

import base64
import hashlib
import hmac
import itertools
import json
import logging
import threading
import time
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest
import requests
from freezegun import freeze_time
from sqlmodel import Session, select

import handlers.teams as teams_edge
from bot.alerts.service import raise_alert
from bot.settings import load_settings
from storage.models import AbsenceCase, InboundMessage, MarkAmendment, ReplyCase
from tests import factories as f
from tests.peers.http import live_app, serve_handler

DAY = date(2026, 9, 16)
NOW = datetime.fromisoformat("2026-09-16 08:20:00+00:00")  # the frozen instant below
SECRET = base64.b64encode(b"teams-outgoing-webhook-test-key!").decode()
SECRET_KEY = "edges-" + "Zk3v9Qm2Lp8xRt5Wb7Nc-aE_uQ"  # Teams configured: a strong secret is required
DISCLOSURE = "mum's new partner hurt her"
DSL_TITLE = "Disclosure reported by a parent"
_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def _clock():
    with freeze_time("2026-09-16 08:20:00", tick=True):
        yield


class WorkflowHandler(BaseHTTPRequestHandler):
    """The school's Workflows webhook: records what the bot posts to the channel."""

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        self.server.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(202)
        self.end_headers()


@pytest.fixture
def workflow():
    with serve_handler(WorkflowHandler, posts=[]) as running:
        yield running


@pytest.fixture
def world(session, workflow):
    school = f.school(session, teams_workflow_url=workflow.url("/wf"))
    dsl = f.staff(session, school, name="Dee Shah", role="dsl", teams_user_id="aad-dsl")
    f.staff(session, school, name="Jo Patel", role="attendance_officer", teams_user_id="aad-officer")
    amelia = f.pupil(session, school, first="Amelia", last="Khan")
    f.mark(session, amelia, DAY, "AM", "N")
    case = AbsenceCase(
        school_id=school.id,
        pupil_id=amelia.id,
        first_date=DAY,
        first_session="AM",
        last_absent_date=DAY,
        opened_at=f.at(DAY, "08:00"),
    )
    session.add(case)
    session.flush()
    reply = InboundMessage(
        school_id=school.id,
        from_address="+447700900001",
        body=DISCLOSURE,
        received_at=f.at(DAY, "08:05"),
        concern=True,
    )
    session.add(reply)
    session.flush()
    session.add(ReplyCase(inbound_id=reply.id, case_id=case.id))
    raise_alert(
        session,
        now=NOW - timedelta(minutes=10),
        school_id=school.id,
        key="t:dsl",
        kind="concern",
        audience="dsl",
        severity="urgent",
        title=DSL_TITLE,
        pupil_id=amelia.id,
    )
    session.commit()
    return {"school": school, "dsl": dsl, "amelia": amelia}


@pytest.fixture
def teams_app(db_url):
    settings = load_settings(
        database_url=db_url, environment="test", teams_outgoing_webhook_secret=SECRET, secret_key=SECRET_KEY
    )
    with live_app(settings) as running:
        yield running


def activity(
    text: str, *, aad: str = "aad-dsl", at: datetime | None = None, ident: str | None = None
) -> bytes:
    stamp = (at or datetime.now(tz=NOW.tzinfo)).strftime("%Y-%m-%dT%H:%M:%S.%f") + "7Z"  # Teams' 7 digits
    return json.dumps(
        {
            "type": "message",
            "id": ident or f"14859834{next(_ids):05d}",
            "timestamp": stamp,
            "channelId": "msteams",
            "serviceUrl": "https://smba.trafficmanager.net/uk/",
            "from": {"id": "29:1XJKJMvc5GBt", "name": "Someone", "aadObjectId": aad},
            "conversation": {"isGroup": True, "id": "19:abc@thread.skype;messageid=1"},
            "textFormat": "plain",
            "text": f"<at>Attendance</at> {text}",
        }
    ).encode()


def post(running, body: bytes) -> requests.Response:
    """Signed as Teams signs: HMAC-SHA256 of the raw body with the base64-decoded token."""
    digest = hmac.new(base64.b64decode(SECRET), body, hashlib.sha256).digest()
    signature = "HMAC " + base64.b64encode(digest).decode()
    headers = {"Content-Type": "application/json", "Authorization": signature}
    return requests.post(running.url("/teams/messages"), data=body, headers=headers, timeout=10)


@pytest.fixture
def slow(monkeypatch):
    """Commands finish only when the test says so (the real command runs first), and the answer
    window is short: the path a heavy query on a busy morning takes."""
    release = threading.Event()
    release.runs = []
    real = teams_edge._run

    def held(*args):
        release.runs.append(args[2])
        answer = real(*args)
        release.wait(10)
        return answer

    monkeypatch.setattr(teams_edge, "_run", held)
    monkeypatch.setattr(teams_edge, "ANSWER_WITHIN_SECONDS", 0.3)
    return release


def _wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)
    return cond()


# -- item 5: slow Teams answers ---------------------------------------------------------------------


def test_a_slow_dsl_timeline_never_reaches_the_workflows_channel(world, teams_app, workflow, slow):
    first = post(teams_app, activity("pupil Amelia Khan"))
    assert first.status_code == 200 and "Still working" in first.json()["text"]
    slow.set()
    assert _wait_for(lambda: workflow.server.posts)
    [notice] = workflow.server.posts
    posted = json.dumps(notice, ensure_ascii=False)
    assert "ready" in posted and "Dee Shah" in posted
    for secret in ("Amelia", "Khan", DISCLOSURE, DSL_TITLE, "attachments"):
        assert secret not in posted

    again = post(teams_app, activity("pupil  amelia khan"))
    answer = json.dumps(again.json(), ensure_ascii=False)
    assert again.status_code == 200 and "Amelia Khan" in answer
    assert DSL_TITLE not in answer and DISCLOSURE not in answer  # the thread is the channel too


def test_asking_again_while_slow_work_runs_does_not_run_it_twice(engine, world, teams_app, workflow, slow):
    assert "Still working" in post(teams_app, activity("recode Amelia Khan I ill", aad="aad-officer")).text
    assert "Still working" in post(teams_app, activity("recode Amelia Khan I ill", aad="aad-officer")).text
    slow.set()
    assert _wait_for(lambda: workflow.server.posts)
    answer = post(teams_app, activity("recode Amelia Khan I ill", aad="aad-officer")).json()
    assert answer["text"].startswith("Recoded Amelia Khan")
    with Session(engine) as s:
        assert len(s.exec(select(MarkAmendment)).all()) == 1
    assert len(workflow.server.posts) == 1


def test_a_command_sent_twice_at_once_runs_once(world, teams_app, workflow, slow):
    body = [activity("pupil Amelia Khan") for _ in range(2)]
    answers = []
    threads = [threading.Thread(target=lambda b=b: answers.append(post(teams_app, b))) for b in body]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert [a.status_code for a in answers] == [200, 200] and slow.runs == ["pupil Amelia Khan"]
    slow.set()


def test_a_kept_answer_is_only_for_the_person_who_asked(world, teams_app, workflow, slow):
    post(teams_app, activity("pupil Amelia Khan"))
    slow.set()
    assert _wait_for(lambda: workflow.server.posts)
    other = post(teams_app, activity("pupil Amelia Khan", aad="aad-stranger")).json()
    assert "don't know you" in other["text"]


def test_a_fast_dsl_answer_in_the_thread_leaves_out_dsl_only_content(world, teams_app):
    answer = json.dumps(post(teams_app, activity("pupil Amelia Khan")).json(), ensure_ascii=False)
    assert "Amelia Khan" in answer and "concern" in answer
    assert DSL_TITLE not in answer and DISCLOSURE not in answer


# -- item 7: Teams activities: timestamp and replay -------------------------------------------------


@pytest.mark.parametrize("offset, words", [(-6, "more than 5 minutes old"), (6, "ahead")])
def test_stale_or_future_activities_are_refused(engine, world, teams_app, offset, words):
    body = activity("recode Amelia Khan I ill", aad="aad-officer", at=NOW + timedelta(minutes=offset))
    resp = post(teams_app, body)
    assert resp.status_code == 400 and words in resp.json()["text"]
    with Session(engine) as s:
        assert s.exec(select(MarkAmendment)).all() == []


def test_an_activity_without_a_timestamp_is_refused(world, teams_app):
    body = json.loads(activity("help"))
    del body["timestamp"]
    resp = post(teams_app, json.dumps(body).encode())
    assert resp.status_code == 400 and "timestamp" in resp.json()["text"]


def test_a_replayed_activity_is_answered_once(engine, world, teams_app):
    body = activity("recode Amelia Khan I ill", aad="aad-officer")
    first, replay = post(teams_app, body), post(teams_app, body)
    assert first.status_code == 200 and first.json()["text"].startswith("Recoded")
    assert replay.status_code == 409 and "not run again" in replay.json()["text"]
    with Session(engine) as s:
        assert len(s.exec(select(MarkAmendment)).all()) == 1


def test_seen_activity_ids_are_forgotten_once_too_old_to_replay():
    from handlers.teams_memory import SeenActivities

    seen = SeenActivities()
    assert seen.first_time("c|1", now=NOW) and not seen.first_time("c|1", now=NOW + timedelta(minutes=9))
    assert seen.first_time("c|2", now=NOW + timedelta(minutes=20)) and len(seen) == 1


# -- item 7: Slack's bad requests, and the size limit of every webhook ------------------------------


def _slack_command(slack, text: str) -> str:
    body, _ = slack.command_body("/recode", text, user="U0OFFICER")
    return body


def test_a_non_numeric_slack_timestamp_is_401_not_500(engine, db_url, session):
    from tests.peers.slack_api import live_slack

    with live_slack(db_url) as slack:
        body = _slack_command(slack, "Amelia Khan I ill")
        headers = {
            "X-Slack-Request-Timestamp": "soon",
            "X-Slack-Signature": "v0=" + "0" * 64,
            "Content-Type": "application/x-www-form-urlencoded",
        }
        resp = requests.post(f"{slack.base_url}/slack/events", data=body, headers=headers, timeout=10)
    assert resp.status_code == 401 and "not a number" in resp.json()["reason"]


def test_a_forged_slack_body_is_not_logged_only_the_reason_and_team(db_url, session, caplog):
    from tests.peers.slack_api import live_slack

    caplog.set_level(logging.DEBUG)
    with live_slack(db_url) as slack:
        body = _slack_command(slack, "Amelia Khan I ill, secret-words-in-the-body")
        resp = slack.post(body, secret="not-the-signing-secret")
    assert resp.status_code == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret-words-in-the-body" not in logged and "Amelia" not in logged
    [refusal] = [r for r in caplog.records if r.name == "handlers.slack"]
    assert refusal.levelno == logging.WARNING
    assert "signature does not match" in refusal.getMessage() and "team=T0SCHOOL" in refusal.getMessage()


@pytest.mark.parametrize("path", ["/slack/events", "/teams/messages", "/twilio/sms", "/twilio/status"])
def test_every_webhook_refuses_a_body_over_64_kib(db_url, session, path):
    from tests.peers.slack_api import BOT_TOKEN

    settings = load_settings(
        database_url=db_url,
        environment="test",
        teams_outgoing_webhook_secret=SECRET,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret="s" * 32,
        secret_key=SECRET_KEY,
    )
    big = b"Body=" + b"x" * (64 * 1024)
    with live_app(settings) as running:
        resp = requests.post(
            running.url(path),
            data=big,
            timeout=10,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        small = requests.post(
            running.url(path),
            data=b"Body=hi",
            timeout=10,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert resp.status_code == 413 and "64 KiB" in resp.text
    assert small.status_code in (400, 401, 403)  # refused for its signature, not its size


# -- item 7: parents' text in Teams shows as typed --------------------------------------------------

MARKDOWN_REPLY = "[click](http://evil.example) *bold*"


def _texts(card: dict) -> str:
    return "\n".join(b.get("text", "") for b in card["body"])


def test_a_parents_markdown_in_a_teams_timeline_is_shown_as_typed(session, world, teams_app):
    reply = InboundMessage(
        school_id=world["school"].id,
        from_address="+447700900001",
        body=MARKDOWN_REPLY,
        received_at=f.at(DAY, "08:10"),
    )
    session.add(reply)
    session.flush()
    case = session.exec(select(AbsenceCase)).one()
    session.add(ReplyCase(inbound_id=reply.id, case_id=case.id))
    session.commit()
    answer = post(teams_app, activity("pupil Amelia Khan", aad="aad-officer")).json()
    text = _texts(answer["attachments"][0]["content"])
    assert r"\[click\](http://evil.example) \*bold\*" in text
    assert "[click](" not in text.replace(r"\[click\](", "")


def test_a_parents_markdown_in_a_workflows_alert_card_is_shown_as_typed(engine, db_url, session, workflow):
    from bot import clock
    from bot.alerts.deliver import deliver_pending

    school = f.school(session, teams_workflow_url=workflow.url("/wf"))
    pupil = f.pupil(session, school, first="Amelia", last="Khan")
    raise_alert(
        session,
        now=NOW,
        school_id=school.id,
        key="t:md",
        kind="home_visit_requested",
        title="Reply needs a look",
        body=f"Mum wrote: {MARKDOWN_REPLY}",
        pupil_id=pupil.id,
    )
    session.commit()
    deliver_pending(engine, settings=load_settings(database_url=db_url), now=clock.now())
    [message] = workflow.server.posts
    text = _texts(message["attachments"][0]["content"])
    assert r"Mum wrote: \[click\](http://evil.example) \*bold\*" in text


def test_teams_escape_keeps_plain_words_and_breaks_every_markup():
    from bot.chat.teams import teams_escape

    plain = "Amelia Khan (Year 4, 4B): ill, back Mon"
    assert teams_escape(plain) == plain
    assert teams_escape("- a\n2. b\n# c\n> d") == "\\- a\n2\\. b\n\\# c\n\\> d"
    assert teams_escape("_x_ `y` ~z~ a\\b") == "\\_x\\_ \\`y\\` \\~z\\~ a\\\\b"
