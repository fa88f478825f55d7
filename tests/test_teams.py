"""Teams outgoing webhook end to end: HMAC-signed activities against the real HTTP app."""

import base64
import hashlib
import hmac
import itertools
import json
import os
import time
from datetime import date, datetime

import pytest
import requests
from freezegun import freeze_time
from sqlmodel import Session, select

from bot.alerts.service import raise_alert
from bot.settings import load_settings
from handlers.teams import command_text, signature_ok
from storage.models import AlertAction, MarkAmendment
from tests import factories as f
from tests.peers.http import live_app

DAY = date(2026, 9, 16)
SECRET = base64.b64encode(b"teams-outgoing-webhook-test-key!").decode()
SECRET_KEY = "teams-" + "Zk3v9Qm2Lp8xRt5Wb7Nc-aE_uQ"  # Teams configured: a strong secret is required


def hmac_header(body: bytes, secret: str = SECRET) -> str:
    """Computed here from the documented scheme, independently of the handler."""
    digest = hmac.new(base64.b64decode(secret), body, hashlib.sha256).digest()
    return "HMAC " + base64.b64encode(digest).decode()


_ids = itertools.count(1485983408511)


def activity(text: str, aad: str = "aad-officer") -> bytes:
    return json.dumps(
        {
            "type": "message",
            "id": str(next(_ids)),
            "timestamp": "2026-09-16T08:20:00.000Z",
            "channelId": "msteams",
            "serviceUrl": "https://smba.trafficmanager.net/uk/",
            "from": {"id": "29:1XJKJMvc5GBt", "name": "Someone", "aadObjectId": aad},
            "conversation": {"isGroup": True, "id": "19:abc@thread.skype;messageid=1"},
            "textFormat": "plain",
            "text": text,
            "attachments": [{"contentType": "text/html", "content": text}],
            "entities": [],
            "channelData": {"teamsChannelId": "19:abc@thread.skype"},
        }
    ).encode()


NOW = datetime.fromisoformat("2026-09-16 08:20:00+00:00")  # the frozen instant below


@pytest.fixture(autouse=True)
def _clock():
    with freeze_time("2026-09-16 08:20:00", tick=True):
        yield


@pytest.fixture
def world(session):
    school = f.school(session)
    officer = f.staff(
        session, school, name="Jo Patel", role="attendance_officer", teams_user_id="aad-officer"
    )
    amelia = f.pupil(session, school, first="Amelia", last="Khan")
    kent = f.pupil(session, school, first="Amelia", last="Kent", year_group=2, class_name="2C")
    for p in (amelia, kent):
        f.mark(session, p, DAY, "AM", "N")
    alert, _ = raise_alert(
        session,
        now=NOW,
        school_id=school.id,
        key="t:teams",
        kind="day3",
        title="Home visit requested",
        pupil_id=amelia.id,
        data={"actions": ["acknowledge", "close_case"], "day": 3},
    )
    session.commit()
    return {"school": school, "officer": officer, "amelia": amelia, "kent": kent, "alert": alert}


@pytest.fixture
def teams_app(db_url):
    settings = load_settings(
        database_url=db_url, environment="test", teams_outgoing_webhook_secret=SECRET, secret_key=SECRET_KEY
    )
    with live_app(settings) as running:
        yield running


def post(running, body: bytes, header: str | None = "sign") -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if header == "sign":
        header = hmac_header(body)
    if header is not None:
        headers["Authorization"] = header
    return requests.post(running.url("/teams/messages"), data=body, headers=headers, timeout=10)


def test_generated_vectors_match_the_check():
    for i in range(20):
        secret = base64.b64encode(os.urandom(32)).decode()
        body = os.urandom(50 + i)
        good = hmac_header(body, secret)
        assert signature_ok(body, good, secret)
        assert not signature_ok(body + b" ", good, secret)
        assert not signature_ok(body, hmac_header(body, base64.b64encode(os.urandom(32)).decode()), secret)
    assert not signature_ok(b"x", None, SECRET) and not signature_ok(b"x", "Bearer abc", SECRET)


def test_mention_and_markup_are_stripped():
    assert command_text({"text": "<at>Attendance</at>&nbsp;recode Amelia I ill<br>"}) == "recode Amelia I ill"


def test_recode_from_teams_is_answered_within_five_seconds(engine, world, teams_app):
    started = time.monotonic()
    resp = post(teams_app, activity("<at>Attendance</at> recode Amelia Khan I am ill, dad phoned"))
    assert resp.status_code == 200 and time.monotonic() - started < 5
    assert resp.json()["type"] == "message" and resp.json()["text"].startswith("Recoded Amelia Khan")
    with Session(engine) as s:
        [a] = s.exec(select(MarkAmendment)).all()
        assert (a.pupil_id, a.amended_code, a.amended_by_name) == (world["amelia"].id, "I", "Jo Patel")


@pytest.mark.parametrize("header", [None, "HMAC " + base64.b64encode(b"0" * 32).decode(), "garbage"])
def test_bad_or_missing_hmac_gets_401_and_changes_nothing(engine, world, teams_app, header):
    resp = post(teams_app, activity("<at>Attendance</at> recode Amelia Khan I am ill"), header=header)
    assert resp.status_code == 401
    with Session(engine) as s:
        assert s.exec(select(MarkAmendment)).all() == []


def test_signed_for_a_different_body_is_refused(engine, world, teams_app):
    header = hmac_header(activity("<at>Attendance</at> help"))
    resp = post(teams_app, activity("<at>Attendance</at> recode Amelia Khan I am ill"), header=header)
    assert resp.status_code == 401


def test_absences_come_back_as_an_adaptive_card(world, teams_app):
    resp = post(teams_app, activity("<at>Attendance</at> absences"))
    body = resp.json()
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and float(card["version"]) <= 1.5
    assert "Amelia Khan (Year 4, 4B)" in json.dumps(card)


def test_ambiguity_lists_commands_to_type(world, teams_app):
    card = post(teams_app, activity("<at>Attendance</at> pupil amelia")).json()["attachments"][0]["content"]
    facts = next(b for b in card["body"] if b["type"] == "FactSet")["facts"]
    assert {x["value"] for x in facts} == {
        f"@Attendance pupil #{world['amelia'].id}",
        f"@Attendance pupil #{world['kent'].id}",
    }


def test_unknown_teams_user_is_refused(world, teams_app):
    resp = post(teams_app, activity("<at>Attendance</at> absences", aad="aad-stranger"))
    assert resp.status_code == 200 and "don't know you" in resp.json()["text"]


def test_act_on_an_alert_returns_the_updated_card(engine, world, teams_app):
    alert = world["alert"]
    body = post(teams_app, activity(f"<at>Attendance</at> act {alert.id} acknowledge")).json()
    card = json.dumps(body["attachments"][0]["content"], ensure_ascii=False)
    assert "Acknowledge — Jo Patel" in card and "acted" in card
    with Session(engine) as s:
        assert [a.action for a in s.exec(select(AlertAction)).all()] == ["acknowledge"]


def test_without_a_secret_the_endpoint_says_so(settings_env):
    with live_app(settings_env) as running:
        resp = requests.post(running.url("/teams/messages"), data=b"{}", timeout=10)
    assert resp.status_code == 503 and "TEAMS_OUTGOING_WEBHOOK_SECRET" in resp.json()["text"]


SECRET_B = base64.b64encode(b"second-schools-webhook-token-32b").decode()


@pytest.fixture
def two_schools(session):
    """Two schools of one trust, each with its own team and outgoing webhook token. Sam works at
    both (one AAD account, a staff row in each); Jo only at the first."""
    oak = f.school(session, name="Oakfield Primary")
    elm = f.school(session, name="Elm Academy")
    f.staff(session, oak, name="Jo Patel", role="attendance_officer", teams_user_id="aad-officer")
    f.staff(session, oak, name="Sam Reed", role="teacher", teams_user_id="aad-sam")
    f.staff(session, elm, name="Sam Reed", role="attendance_officer", teams_user_id="aad-sam")
    amelia = f.pupil(session, oak, first="Amelia", last="Khan")
    zofia = f.pupil(session, elm, first="Zofia", last="Nowak")
    f.mark(session, amelia, DAY, "AM", "N")
    f.mark(session, zofia, DAY, "AM", "N")
    session.commit()
    return {"oak": oak, "elm": elm}


@pytest.fixture
def trust_app(db_url, two_schools):
    settings = load_settings(
        database_url=db_url,
        environment="test",
        secret_key=SECRET_KEY,
        teams_school_secrets={two_schools["oak"].urn: SECRET, two_schools["elm"].urn: SECRET_B},
    )
    with live_app(settings) as running:
        yield running


def test_each_schools_webhook_token_speaks_for_that_school_only(two_schools, trust_app):
    """Microsoft scopes each outgoing webhook's token to one team: a trust connects every school."""
    oak = post(trust_app, activity("<at>Attendance</at> absences")).json()
    assert "Amelia Khan" in json.dumps(oak) and "Zofia" not in json.dumps(oak)
    body = activity("<at>Attendance</at> absences", aad="aad-sam")
    elm = post(trust_app, body, header=hmac_header(body, SECRET_B)).json()
    assert "Zofia Nowak" in json.dumps(elm) and "Amelia" not in json.dumps(elm)
    # Jo is staff at Oakfield only: Elm's team does not know her, whatever Oakfield says.
    body = activity("<at>Attendance</at> absences")
    refused = post(trust_app, body, header=hmac_header(body, SECRET_B)).json()
    assert "don't know you" in refused["text"] and "Amelia" not in json.dumps(refused)


def test_a_token_no_school_was_given_is_refused(engine, two_schools, trust_app):
    other = base64.b64encode(b"some-other-teams-webhook-token!!").decode()
    body = activity("<at>Attendance</at> recode Amelia Khan I am ill")
    assert post(trust_app, body, header=hmac_header(body, other)).status_code == 401
    with Session(engine) as s:
        assert s.exec(select(MarkAmendment)).all() == []


def test_a_school_token_that_is_not_base64_stops_the_start():
    from bot.settings import SettingsError

    with pytest.raises(SettingsError, match="TEAMS_SCHOOL_SECRETS: .*token for school 100001 is not base64"):
        load_settings(database_url="sqlite://", teams_school_secrets={"100001": "not base64!"})
