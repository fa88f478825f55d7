"""Slack end to end: signed requests (slack_sdk's scheme) against the real HTTP app, with a loopback
server standing in for Slack's Web API and ``response_url`` that records what the bot posts."""

import json
import time
from datetime import date

import pytest
import requests
from freezegun import freeze_time
from sqlmodel import Session, select

from bot.chat import plain
from bot.commands import results
from handlers.slack.listeners.commands.absences import absences as absences_callback
from storage.models import CaseEvent, Mark, MarkAmendment
from tests import factories as f
from tests.peers.slack_api import SIGNING_SECRET, live_slack

DAY = date(2026, 9, 16)


@pytest.fixture(autouse=True)
def _clock():
    with freeze_time("2026-09-16 08:20:00", tick=True):
        yield


@pytest.fixture
def school_data(session):
    school = f.school(session, slack_team_id="T0SCHOOL")
    officer = f.staff(session, school, name="Jo Patel", role="attendance_officer", slack_user_id="U0OFFICER")
    teacher = f.staff(session, school, name="Sam Reed", role="teacher", slack_user_id="U0TEACHER")
    amelia = f.pupil(session, school, first="Amelia", last="Khan")
    kent = f.pupil(session, school, first="Amelia", last="Kent", year_group=2, class_name="2C")
    for p in (amelia, kent):
        f.mark(session, p, DAY, "AM", "N")
        f.mark(session, p, DAY, "PM", "N")
    session.commit()
    return {"school": school, "officer": officer, "teacher": teacher, "amelia": amelia, "kent": kent}


def _amendments(engine) -> list[MarkAmendment]:
    with Session(engine) as s:
        return list(s.exec(select(MarkAmendment)).all())


def test_absences_acks_at_once_then_answers_ephemerally(engine, db_url, school_data):
    with live_slack(db_url) as slack:
        started = time.monotonic()
        resp, key = slack.command("/absences", "", user="U0OFFICER")
        assert resp.status_code == 200 and time.monotonic() - started < 3
        body = slack.responses(key)[0]
    assert body["response_type"] == "ephemeral"
    assert body["text"].startswith("Unexplained absences today: 2")
    text = "\n".join(b["text"]["text"] for b in body["blocks"] if b["type"] == "section")
    assert "Amelia Khan (Year 4, 4B)" in text and "Amelia Kent (Year 2, 2C)" in text
    assert slack.peer.calls_to("auth.test")[0].token == "xoxb-test-token"


def test_recode_through_slack_writes_the_audit(engine, db_url, school_data):
    with live_slack(db_url) as slack:
        resp, key = slack.command("/recode", "Amelia Khan I am ill &amp; sick, mum phoned", user="U0OFFICER")
        assert resp.status_code == 200
        body = slack.responses(key)[0]
    assert body["text"].startswith("Recoded Amelia Khan on Wed 16 Sep")
    [a] = _amendments(engine)
    assert (a.pupil_id, a.session, a.original_code, a.amended_code) == (
        school_data["amelia"].id,
        "AM",
        "N",
        "I",
    )
    assert (a.reason, a.amended_by_name, a.amended_by_role) == (
        "ill & sick, mum phoned",
        "Jo Patel",
        "attendance_officer",
    )


@pytest.mark.parametrize("how", ["forged", "stale", "unsigned"])
def test_forged_or_stale_requests_get_401_and_change_nothing(engine, db_url, school_data, how):
    with live_slack(db_url) as slack:
        body, key = slack.command_body("/recode", "Amelia Khan I am ill", user="U0OFFICER")
        if how == "forged":
            resp = slack.post(body, secret="not-the-signing-secret")
        elif how == "stale":
            resp = slack.post(body, timestamp=int(time.time()) - 10 * 60)
        else:
            resp = requests.post(
                f"{slack.base_url}/slack/events",
                data=body,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                timeout=10,
            )
        assert resp.status_code == 401
        time.sleep(0.3)
        assert slack.peer.calls_to("response") == []
    assert _amendments(engine) == []
    with Session(engine) as s:
        assert {m.code for m in s.exec(select(Mark)).all()} == {"N"}


def test_ambiguous_pupil_offers_buttons_and_choosing_runs_the_command(engine, db_url, school_data):
    kent = school_data["kent"]
    with live_slack(db_url) as slack:
        _, key = slack.command("/recode", "amelia I pm ill", user="U0OFFICER")
        body = slack.responses(key)[0]
        buttons = next(b for b in body["blocks"] if b["type"] == "actions")["elements"]
        chosen = next(b for b in buttons if "Kent" in b["text"]["text"])
        assert _amendments(engine) == []
        resp, key2 = slack.action(chosen["action_id"], chosen["value"], user="U0OFFICER")
        assert resp.status_code == 200
        answer = slack.responses(key2)[0]
    assert answer["replace_original"] is True and answer["text"].startswith("Recoded Amelia Kent")
    [a] = _amendments(engine)
    assert (a.pupil_id, a.session) == (kent.id, "PM")


def test_unknown_user_gets_a_polite_refusal_and_it_is_logged(engine, db_url, school_data):
    with live_slack(db_url) as slack:
        _, key = slack.command("/recode", "Amelia Khan I ill", user="U0STRANGER")
        body = slack.responses(key)[0]
    assert "don't know you" in body["text"] and body["response_type"] == "ephemeral"
    with Session(engine) as s:
        [event] = s.exec(select(CaseEvent).where(CaseEvent.kind == "refused")).all()
        assert event.school_id == school_data["school"].id and event.data["user_id"] == "U0STRANGER"
    assert _amendments(engine) == []


@pytest.mark.parametrize(
    "command, text, message",
    [
        ("/recode", "Amelia Khan I 2026-09-19 ill", "weekend"),
        ("/recode", "Amelia Khan XX ill", "not a national attendance code"),
        ("/call", "Nobody Here no-answer", "can't find a pupil"),
        ("/absences", "year 99", "not a year group"),
        ("/pupil", "", "Which pupil"),
    ],
)
def test_errors_are_clear_ephemeral_messages(engine, db_url, school_data, command, text, message):
    with live_slack(db_url) as slack:
        resp, key = slack.command(command, text, user="U0OFFICER")
        assert resp.status_code == 200
        body = slack.responses(key)[0]
    assert message in body["text"] and body["response_type"] == "ephemeral"
    assert "Traceback" not in str(body)


def test_teacher_cannot_recode_from_slack(engine, db_url, school_data):
    with live_slack(db_url) as slack:
        _, key = slack.command("/recode", "Amelia Khan I ill", user="U0TEACHER")
        assert "may not change an N mark" in slack.responses(key)[0]["text"]
    assert _amendments(engine) == []


def test_help_answers_in_the_ack(db_url, engine, school_data):
    with live_slack(db_url) as slack:
        resp, _ = slack.command("/attendance-help", "recode", user="U0OFFICER")
    assert resp.status_code == 200
    assert "/recode PUPIL CODE [DATE] [am|pm|both] REASON" in resp.json()["text"] + str(resp.json()["blocks"])


def test_app_mention_answers_in_the_thread_once_per_event(engine, db_url, school_data):
    event = {
        "type": "app_mention",
        "user": "U0OFFICER",
        "text": "<@UBOT> absences year 4",
        "ts": "1700000000.5",
        "channel": "C0PASTORAL",
        "team": "T0SCHOOL",
    }
    with live_slack(db_url) as slack:
        assert slack.event(event, event_id="Ev01").status_code == 200
        assert slack.event(event, event_id="Ev01").status_code == 200  # Slack's retry
        [call] = slack.peer.wait_for("chat.postEphemeral")
        time.sleep(0.3)
        assert len(slack.peer.calls_to("chat.postEphemeral")) == 1
    assert call.body["thread_ts"] == "1700000000.5" and call.body["user"] == "U0OFFICER"
    assert call.body["text"].startswith("Unexplained absences today (Year 4): 1")


def test_url_verification_is_answered(db_url, engine):
    with live_slack(db_url) as slack:
        resp = slack.post(
            '{"type":"url_verification","challenge":"abc123","token":"x"}', content_type="application/json"
        )
    assert resp.status_code == 200 and "abc123" in resp.text


def test_without_slack_settings_the_endpoint_says_so(settings_env):
    from tests.peers.http import live_app

    with live_app(settings_env) as running:
        resp = requests.post(running.url("/slack/events"), data="x", timeout=10)
    assert resp.status_code == 503 and "SLACK_SIGNING_SECRET" in resp.json()["error"]


def test_command_callback_runs_directly(engine, school_data):
    """A listener callback is a plain function: ack first, then the answer through ``respond``."""
    calls = []
    absences_callback(
        ack=lambda **kw: calls.append(("ack", kw)),
        command={"user_id": "U0OFFICER", "team_id": "T0SCHOOL", "text": "class 2c"},
        respond=lambda **kw: calls.append(("respond", kw)),
        context={"engine": engine},
    )
    assert [c[0] for c in calls] == ["ack", "respond"]
    assert calls[1][1]["text"] == "Unexplained absences today (class 2C): 1"
    assert plain.command(results.help_result(None))  # renderers stay importable without Slack


def test_signing_secret_is_what_slack_sdk_expects():
    from slack_sdk.signature import SignatureVerifier

    from tests.peers.slack_api import signed_headers

    headers = signed_headers("a=b")
    assert SignatureVerifier(SIGNING_SECRET).is_valid(
        "a=b", headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    )


def test_manifest_declares_every_command_the_app_listens_to():
    import re
    from pathlib import Path

    root = Path(__file__).parent.parent
    manifest = (root / "slack" / "manifest.yml").read_text()
    declared = set(re.findall(r"- command: (/[\w-]+)", manifest))
    listened = set()
    for module in ("absences", "call", "notice", "recode", "pupil", "help"):
        source = (
            Path(__file__).parent.parent / "handlers/slack/listeners/commands" / f"{module}.py"
        ).read_text()
        listened |= set(re.findall(r'app\.command\("(/[\w-]+)"\)', source))
    assert declared == listened == {"/absences", "/call", "/notice", "/recode", "/pupil", "/attendance-help"}
    urls = re.findall(r"url: (\S+)", manifest)
    assert urls and all(u == "https://YOUR-HOST/slack/events" for u in urls)
    for scope in (
        "commands",
        "chat:write",
        "chat:write.public",
        "im:write",
        "app_mentions:read",
        "users:read",
    ):
        assert f"- {scope}\n" in manifest


def test_a_dsls_timeline_goes_only_to_the_dsl_in_slack(engine, db_url, session, school_data):
    """Slack can answer one person alone (response_url ephemeral, chat.postEphemeral), so the DSL
    sees DSL-only alerts there, and nothing is posted for the channel to read."""
    from bot.alerts.service import raise_alert
    from tests.peers.slack_api import live_slack as slack_server

    f.staff(session, school_data["school"], name="Dee Shah", role="dsl", slack_user_id="U0DSL")
    raise_alert(
        session,
        now=f.at(DAY, "08:00"),
        school_id=school_data["school"].id,
        key="t:dsl",
        kind="concern",
        audience="dsl",
        severity="urgent",
        title="Disclosure reported by a parent",
        pupil_id=school_data["amelia"].id,
    )
    session.commit()
    mention = {
        "type": "app_mention",
        "user": "U0DSL",
        "text": "<@UBOT> pupil Amelia Khan",
        "ts": "1700000000.7",
        "channel": "C0PASTORAL",
        "team": "T0SCHOOL",
    }
    with slack_server(db_url) as slack:
        _, key = slack.command("/pupil", "Amelia Khan", user="U0DSL")
        answer = slack.responses(key)[0]
        assert slack.event(mention, event_id="Ev0DSL").status_code == 200
        [ephemeral] = slack.peer.wait_for("chat.postEphemeral")
        assert slack.peer.calls_to("chat.postMessage") == []
    assert answer["response_type"] == "ephemeral" and "Disclosure reported" in json.dumps(answer)
    assert ephemeral.body["user"] == "U0DSL" and "Disclosure reported" in json.dumps(ephemeral.body)
