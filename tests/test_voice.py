"""Automated calls: routing, the real twilio client against the Calls API stand-in, and Twilio's
signed voice webhooks on the live app for each branch (1, 2, no input, a machine) in two languages.
"""

from datetime import date
from urllib.parse import urlparse

import pytest
from sqlmodel import Session, select

from bot.calls.quiet import TOO_LATE, hold_calls
from bot.firstday.scheduled import send_outbox
from bot.firstday.service import chase, register_close
from bot.settings import load_settings
from storage.models import (
    Alert,
    CallLog,
    CaseEvent,
    InboundMessage,
    OutboxMessage,
    ReplyCase,
    SchoolPolicy,
    VoiceCall,
)
from tests import factories as f
from tests.peers.fixtures import twilio  # noqa: F401
from tests.peers.http import live_app
from tests.peers.twilio_api import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    MESSAGING_SERVICE_SID,
    post_voice_webhook,
    voice_params,
)

PUBLIC = "https://attendance.oakfield.example"
MON = date(2026, 11, 23)
LANDLINE = "+441134960001"
OFFICE = "+441134960123"


@pytest.fixture
def settings(db_url, twilio):
    return load_settings(
        database_url=db_url,
        public_base_url=PUBLIC,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_messaging_service_sid=MESSAGING_SERVICE_SID,
        twilio_voice_from_number=FROM_NUMBER,
        twilio_api_base_url=twilio.base_url,
    )


@pytest.fixture
def app(settings, engine):
    with live_app(settings) as running:
        yield running


def landline_family(engine, *, language="en", email=None, second_contact=False, office="0113 496 0123"):
    """Amelia is marked N; her mother has a landline and no mobile. Register close at 09:15."""
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, name="Oakfield Primary", phone=office)
        amelia = f.pupil(s, school, first="Amelia", last="Khan", class_name="3R")
        mum = f.contact(
            s, school, amelia, first="Sara", mobile=None, phone=LANDLINE, email=email, language=language
        )
        if second_contact:
            f.contact(s, school, amelia, first="Omar", mobile="+447700900002", priority=2)
        f.mark(s, amelia, MON, "AM", "N")
        summary = register_close(
            s, school=school, session_name="AM", settings=f.settings(), now=f.at(MON, "09:15")
        )
        s.commit()
    assert summary["unreachable"] == 0
    return school, amelia, mum


def the_call(engine) -> OutboxMessage:
    with Session(engine) as s:
        return s.exec(select(OutboxMessage).where(OutboxMessage.channel == "voice")).one()


def placed(engine, settings, twilio):
    """Send the outbox: the real twilio client asks the Calls API stand-in to place the call."""
    summary = send_outbox(engine, now=f.at(MON, "09:16"), settings=settings)
    assert summary["sent"] >= 1, summary
    call = the_call(engine)
    assert call.status == "accepted" and call.provider_id.startswith("CA")
    return call


def hook(app, call, step, query="", signature=None, **fields):
    path = f"/twilio/voice/{call.id}/{step}{query}" if step != "status" else "/twilio/voice/status"
    return post_voice_webhook(
        app.base_url,
        path,
        voice_params(call_sid=call.provider_id, **fields),
        public_base_url=PUBLIC,
        token=AUTH_TOKEN,
        signature=signature,
    )


# --------------------------------------------------------------------------------------------------
# Routing and placing the call
# --------------------------------------------------------------------------------------------------


def test_a_landline_only_family_is_called_through_the_calls_api(engine, settings, twilio):
    landline_family(engine, language="pl")
    call = placed(engine, settings, twilio)
    assert call.to_address == LANDLINE and call.language == "pl" and "Amelia" in call.body
    assert "Khan" not in call.body and "naciśnij 1" in call.body  # first name only; the Polish menu
    [request] = twilio.calls.created
    assert request.auth_ok and request.params["To"] == LANDLINE and request.params["From"] == FROM_NUMBER
    assert request.params["Url"] == f"{PUBLIC}/twilio/voice/{call.id}/answer"
    assert request.params["StatusCallback"] == f"{PUBLIC}/twilio/voice/status"
    assert request.params["MachineDetection"] == "DetectMessageEnd"
    assert twilio.created() == [request]  # and no text was attempted to the landline


def test_a_family_who_prefers_calls_is_phoned_on_their_mobile(session):
    school = f.school(session)
    amelia = f.pupil(session, school)
    f.contact(session, school, amelia, mobile="+447700900001", prefers_calls=True)
    f.mark(session, amelia, MON, "AM", "N")
    register_close(session, school=school, session_name="AM", settings=f.settings(), now=f.at(MON, "09:15"))
    [message] = session.exec(select(OutboxMessage)).all()
    assert message.channel == "voice" and message.to_address == "+447700900001"


def test_calls_are_a_chase_step_from_the_chase_the_school_chooses(session):
    school = f.school(session)
    session.get(SchoolPolicy, school.id).call_at_chase = 2
    amelia = f.pupil(session, school)
    f.contact(session, school, amelia, mobile="+447700900001")
    f.mark(session, amelia, MON, "AM", "N")
    register_close(session, school=school, session_name="AM", settings=f.settings(), now=f.at(MON, "09:15"))
    first = chase(session, school=school, now=f.at(MON, "11:00"), slot="11:00", settings=f.settings())
    assert first["calls_added"] == 0
    second = chase(session, school=school, now=f.at(MON, "14:30"), slot="14:30", settings=f.settings())
    assert second["calls_added"] == 1
    channels = [m.channel for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert channels == ["sms", "sms", "sms", "voice"]


def test_an_unanswered_call_moves_on_down_the_contacts_as_a_failed_text_does(engine, settings, app, twilio):
    landline_family(engine, second_contact=True)
    call = placed(engine, settings, twilio)
    for status in ("initiated", "ringing", "no-answer"):
        assert hook(app, call, "status", status=status).status_code == 200
    assert the_call(engine).status == "undelivered"
    assert hook(app, call, "status", status="ringing").status_code == 200  # late: never backwards
    assert the_call(engine).status == "undelivered"
    summary = send_outbox(engine, now=f.at(MON, "09:20"), settings=settings)
    assert summary["rerouted"] == 1
    with Session(engine) as s:
        text = s.exec(select(OutboxMessage).where(OutboxMessage.channel == "sms")).one()
    assert text.to_address == "+447700900002" and "Amelia" in text.body


def test_a_transient_calls_api_failure_is_retried_with_the_same_row(engine, settings, twilio):
    landline_family(engine)
    twilio.calls.fail_next(1, status=503, code=20503)
    summary = send_outbox(engine, now=f.at(MON, "09:16"), settings=settings)
    assert summary["retried"] == 1
    assert the_call(engine).status == "queued"
    send_outbox(engine, now=f.at(MON, "09:17"), settings=settings)
    assert the_call(engine).status == "accepted" and len(twilio.calls.created) == 1


def test_quiet_hours_hold_a_morning_call_and_cancel_an_evening_one(engine):
    landline_family(engine)
    with Session(engine) as s:
        call = s.exec(select(OutboxMessage).where(OutboxMessage.channel == "voice")).one()
        call.next_attempt_at = f.at(MON, "07:30")
        s.add(call)
        s.commit()
    nothing = {"calls_deferred": 0, "calls_cancelled_quiet_hours": 0}
    assert hold_calls(engine, now=f.at(MON, "07:30")) == {**nothing, "calls_deferred": 1}
    assert the_call(engine).next_attempt_at == f.at(MON, "08:00") and the_call(engine).status == "queued"
    assert hold_calls(engine, now=f.at(MON, "08:05")) == nothing
    assert hold_calls(engine, now=f.at(MON, "19:30"))["calls_cancelled_quiet_hours"] == 1
    late = the_call(engine)
    assert late.status == "cancelled" and late.error == TOO_LATE


# --------------------------------------------------------------------------------------------------
# The webhooks, branch by branch, in two languages
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "locale", "press1"), [("en", "en-GB", "press 1"), ("pl", "pl-PL", "naciśnij 1")]
)
def test_a_person_answers_and_is_put_through_to_the_office(
    engine, settings, app, twilio, language, locale, press1
):
    landline_family(engine, language=language)
    call = placed(engine, settings, twilio)
    answered = hook(app, call, "answer", AnsweredBy="human")
    assert answered.status_code == 200 and answered.headers["content-type"].startswith("text/xml")
    twiml = answered.text
    assert f'language="{locale}"' in twiml and f'voice="Google.{locale}-Standard-A"' in twiml
    assert "<Gather" in twiml and f'action="{PUBLIC}/twilio/voice/{call.id}/gather"' in twiml
    assert "Amelia" in twiml and "Oakfield Primary" in twiml and press1 in twiml and "Khan" not in twiml

    put_through = hook(app, call, "gather", Digits="1")
    assert f"<Number>{OFFICE}</Number>" in put_through.text and "<Dial" in put_through.text
    done = hook(app, call, "dialled", DialCallStatus="completed", DialCallDuration="95")
    assert "<Hangup" in done.text
    with Session(engine) as s:
        row = s.get(VoiceCall, call.id)
        assert row.outcome == "put_through" and row.digits == "1" and row.answered_by == "human"
        [spoke] = s.exec(select(CallLog)).all()  # counts as contact, like a call staff made
        assert spoke.outcome == "spoke" and spoke.case_id is not None
        kinds = [e.kind for e in s.exec(select(CaseEvent).order_by(CaseEvent.id))]
        assert "call_answered" in kinds and "call_put_through" in kinds


@pytest.mark.parametrize(
    ("language", "words"), [("en", "leave a short message after the tone"), ("ar", "يرجى ترك رسالة قصيرة")]
)
def test_a_person_leaves_a_message_that_only_staff_hear(engine, settings, app, twilio, language, words):
    landline_family(engine, language=language)
    call = placed(engine, settings, twilio)
    hook(app, call, "answer", AnsweredBy="human")
    record = hook(app, call, "gather", Digits="2")
    assert words in record.text and "<Record" in record.text
    assert f'action="{PUBLIC}/twilio/voice/{call.id}/recorded"' in record.text
    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/RE0123"
    recorded = hook(
        app, call, "recorded", RecordingSid="RE0123", RecordingUrl=url, RecordingDuration="14", Digits="#"
    )
    assert recorded.status_code == 200 and "<Hangup" in recorded.text
    # The recording's status callback reports the same recording: nothing is recorded twice.
    again = hook(
        app,
        call,
        "recording",
        RecordingSid="RE0123",
        RecordingUrl=url,
        RecordingDuration="14",
        RecordingStatus="completed",
    )
    assert again.status_code == 204
    with Session(engine) as s:
        inbound = s.exec(select(InboundMessage)).one()
        assert inbound.channel == "voice" and inbound.provider_id == "RE0123"
        assert s.exec(select(ReplyCase)).one().inbound_id == inbound.id  # contact, for the chase deadline
        alert = s.exec(select(Alert).where(Alert.kind == "voice_message")).one()
        assert alert.data["recording_url"] == url + ".mp3" and url in alert.body
        assert alert.audience == "attendance" and alert.data["actions"] == ["pick_code"]
        assert s.get(VoiceCall, call.id).outcome == "message_left"
        # The link went to staff only: no family message carries it.
        assert not [m for m in s.exec(select(OutboxMessage)).all() if url in m.body]
    # Chasing pauses for this family today: they are waiting for staff to listen. (The webhooks
    # stamp the real time, as edges do; the chase runs at a fixed school morning, so the message is
    # put on that morning first: no test may depend on the real date.)
    with Session(engine) as s:
        from storage.models import School

        row = s.get(VoiceCall, call.id)
        row.updated_at = f.at(MON, "10:30")
        s.add(row)
        s.commit()
        school_id = call.school_id
        summary = chase(
            s, school=s.get(School, school_id), now=f.at(MON, "11:00"), slot="11:00", settings=f.settings()
        )
        s.commit()
    assert summary["in_touch_today"] == 1 and summary["messages_queued"] == 0


@pytest.mark.parametrize(
    ("language", "goodbye"),
    [("en", "Please call the school office as soon as you can"), ("pl", "Prosimy jak najszybciej zadzwonić")],
)
def test_no_input_repeats_the_menu_once_then_says_goodbye(engine, settings, app, twilio, language, goodbye):
    landline_family(engine, language=language)
    call = placed(engine, settings, twilio)
    hook(app, call, "answer", AnsweredBy="unknown")
    first = hook(app, call, "gather", Digits="")
    assert "<Gather" in first.text and "?again=1" in first.text and "<Hangup" not in first.text
    second = hook(app, call, "gather", query="?again=1", Digits="")
    assert goodbye in second.text and "<Hangup" in second.text
    with Session(engine) as s:
        assert s.get(VoiceCall, call.id).outcome == "no_choice"


@pytest.mark.parametrize(
    ("language", "machine_words"),
    [("en", "Please call the school office"), ("ro", "Vă rugăm să sunați la secretariatul")],
)
def test_an_answering_machine_gets_a_short_message(engine, settings, app, twilio, language, machine_words):
    landline_family(engine, language=language)
    call = placed(engine, settings, twilio)
    answered = hook(app, call, "answer", AnsweredBy="machine_end_beep")
    assert machine_words in answered.text and "Amelia" in answered.text
    assert "<Hangup" in answered.text and "<Gather" not in answered.text
    hook(app, call, "status", status="completed", AnsweredBy="machine_end_beep", CallDuration="21")
    with Session(engine) as s:
        assert s.get(VoiceCall, call.id).outcome == "voicemail"
        assert s.get(OutboxMessage, call.id).status == "delivered"
        assert s.exec(select(InboundMessage)).all() == []  # a machine is no contact


def test_somali_is_spoken_in_english_with_an_apology(engine, settings, app, twilio):
    landline_family(engine, language="so")
    call = placed(engine, settings, twilio)
    twiml = hook(app, call, "answer", AnsweredBy="human").text
    assert "We are sorry that this call is in English." in twiml and 'language="en-GB"' in twiml
    assert "Amelia is not in school today" in twiml


def test_a_forged_gather_is_refused_and_writes_nothing(engine, settings, app, twilio):
    landline_family(engine)
    call = placed(engine, settings, twilio)
    forged = hook(app, call, "gather", signature="AAAAAAAAAAAAAAAAAAAAAAAAAAA=", Digits="2")
    assert forged.status_code == 403
    unsigned = hook(
        app,
        call,
        "recorded",
        signature="",
        RecordingSid="RE9",
        RecordingUrl="https://x/RE9",
        RecordingDuration="5",
    )
    assert unsigned.status_code == 403
    # Signed for another call's path: the signature covers the URL, so it fails here too.
    params = voice_params(call_sid=call.provider_id, Digits="1")
    from tests.peers.twilio_api import sign

    elsewhere = sign(AUTH_TOKEN, f"{PUBLIC}/twilio/voice/999/gather", params)
    other = post_voice_webhook(
        app.base_url,
        f"/twilio/voice/{call.id}/gather",
        params,
        public_base_url=PUBLIC,
        token=AUTH_TOKEN,
        signature=elsewhere,
    )
    assert other.status_code == 403
    with Session(engine) as s:
        assert s.get(VoiceCall, call.id) is None and s.exec(select(InboundMessage)).all() == []


def test_a_webhook_for_another_calls_sid_is_hung_up_and_writes_nothing(engine, settings, app, twilio):
    landline_family(engine)
    call = placed(engine, settings, twilio)
    params = voice_params(call_sid="CA" + "f" * 32, AnsweredBy="human")
    response = post_voice_webhook(
        app.base_url, f"/twilio/voice/{call.id}/answer", params, public_base_url=PUBLIC, token=AUTH_TOKEN
    )
    assert response.status_code == 200 and "<Hangup" in response.text and "Amelia" not in response.text
    with Session(engine) as s:
        assert s.get(VoiceCall, call.id) is None


def test_calls_count_in_absences_and_the_pupil_timeline(engine, settings, app, twilio):
    from bot.commands.service import absences, timeline

    school, amelia, _ = landline_family(engine)
    call = placed(engine, settings, twilio)
    hook(app, call, "status", status="completed", AnsweredBy="human")
    with Session(engine) as s:
        staff = f.staff(s, school)
        [row] = absences(s, staff=staff, day=MON)
        assert row.sent == 1 and row.delivered == 1 and row.automated_calls == 1
        from bot.commands.results import absence_line

        assert "incl. 1 automated call" in absence_line(row)
        items = timeline(s, staff=staff, pupil=s.get(type(amelia), amelia.id), today=MON).items
        assert any("Automated call" in i.text and "delivered" in i.text for i in items)


def test_call_urls_are_built_on_the_public_base(engine, settings, twilio):
    landline_family(engine)
    placed(engine, settings, twilio)
    url = urlparse(twilio.calls.created[0].params["Url"])
    assert f"{url.scheme}://{url.netloc}" == PUBLIC


def test_without_an_office_number_there_is_no_press_1(engine, settings, app, twilio):
    landline_family(engine, office=None)
    call = placed(engine, settings, twilio)
    assert "press 1" not in call.body and "press 2" in call.body
    twiml = hook(app, call, "answer", AnsweredBy="human").text
    assert "press 1" not in twiml and "press 2" in twiml
    one = hook(app, call, "gather", Digits="1")
    assert "<Dial" not in one.text and "Sorry, that is not one of the choices." in one.text


def test_the_call_policy_is_set_like_any_other_setting_and_checked(session):
    from datetime import time

    from bot.policy_admin import PolicyError, apply

    school = f.school(session)
    changes = apply(
        session,
        school=school,
        values={"call_at_chase": 2, "calls_from": "08:30", "calls_until": "18:00"},
        changed_by="Helen Carter",
        source="test",
        now=f.at(MON, "08:00"),
    )
    assert changes["call_at_chase"] == {"from": 0, "to": 2}
    policy = session.get(SchoolPolicy, school.id)
    assert (policy.call_at_chase, policy.calls_from, policy.calls_until) == (2, time(8, 30), time(18, 0))
    with pytest.raises(PolicyError) as refused:
        apply(
            session,
            school=school,
            values={"calls_from": "19:00", "calls_until": "08:00", "call_at_chase": -1},
            changed_by="Helen Carter",
            source="test",
            now=f.at(MON, "08:00"),
        )
    assert "calls_from (19:00) must be before calls_until (08:00)" in str(refused.value)
    assert "call_at_chase" in str(refused.value)
    assert session.get(SchoolPolicy, school.id).calls_from == time(8, 30)  # nothing changed
