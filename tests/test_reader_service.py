"""What the learned reader changes for staff and families (both DBs): "needs reading", the reply's
language and meaning in English on the alert, and a thank-you in the language the family wrote in."""

from datetime import UTC, date, datetime

import pytest
from freezegun import freeze_time
from sqlmodel import select

from bot.cases.service import open_or_extend
from bot.replies import understand as understand_module
from bot.replies.service import receive_sms
from bot.settings import load_settings
from storage.models import AbsenceCase, Alert, OutboxMessage
from tests import factories as f

DAY = date(2026, 9, 15)
NOW = datetime(2026, 9, 15, 10, 30, tzinfo=UTC)
MOBILE = "+447700900123"
SETTINGS = load_settings(secret_key="test-secret-key-0123456789")


@pytest.fixture(autouse=True)
def frozen():
    with freeze_time(NOW):
        yield


def family(session, *, language="en"):
    school = f.school(session, phone="+441632960001")
    pupil = f.pupil(session, school, first="Amelia")
    f.contact(session, school, pupil, language=language, mobile=MOBILE)
    f.mark(session, pupil, DAY, "AM", "N")
    case, _ = open_or_extend(session, pupil=pupil, day=DAY, session_name="AM", now=NOW)
    session.commit()
    return case


def sms(session, body, sid="SM1"):
    outcome = receive_sms(
        session,
        settings=SETTINGS,
        message_sid=sid,
        from_number=MOBILE,
        to_number="+441632960001",
        body=body,
        now=NOW,
    )
    session.commit()
    return outcome


def test_a_reply_the_reader_is_unsure_of_goes_to_a_person_at_once(session, monkeypatch):
    case = family(session)
    monkeypatch.setattr(understand_module, "NEEDS_READING_BELOW", 1.01)  # every reading is "unsure"
    sms(session, "Amelia has a temperature")
    (alert,) = session.exec(select(Alert).where(Alert.kind == "needs_reading")).all()
    assert (alert.case_id, alert.severity, alert.audience) == (case.id, "high", "attendance")
    assert "not sure" in alert.body and "Amelia has a temperature" in alert.body


def test_a_confident_reading_raises_no_needs_reading_alert(session, monkeypatch):
    family(session)
    monkeypatch.setattr(understand_module, "NEEDS_READING_BELOW", 0.0)
    sms(session, "Amelia has a temperature")
    assert session.exec(select(Alert).where(Alert.kind == "needs_reading")).all() == []


def test_staff_see_the_language_and_the_meaning_in_english(session):
    family(session)
    sms(session, "Amelia jest chora, ma gorączkę")
    (alert,) = session.exec(select(Alert).where(Alert.kind == "reply")).all()
    assert alert.data["language"] == "pl" and alert.data["understood"] == "I"
    assert "Written in Polish. Read as: I (" in alert.body
    assert alert.data["understood_meaning"].startswith("I (")


def test_thanks_in_the_language_the_family_wrote_in_when_a_template_exists(session):
    family(session, language="en")
    sms(session, "Amelia jest chora, ma gorączkę")
    thanks = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "thanks")).one()
    assert thanks.language == "pl"


def test_thanks_in_turkish_now_that_turkish_is_shipped(session):
    family(session, language="en")
    sms(session, "Amelia hasta, ateşi var")
    thanks = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "thanks")).one()
    assert thanks.language == "tr" and "teşekkürler" in thanks.body


def test_thanks_in_english_when_we_do_not_ship_the_language(session):
    family(session, language="en")
    sms(session, "Амелия болеет, у неё высокая температура")  # Russian: read, but not shipped
    thanks = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "thanks")).one()
    assert thanks.language == "en"
    assert session.exec(select(AbsenceCase)).one().status == "explained"
