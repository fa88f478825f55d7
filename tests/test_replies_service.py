"""Parent replies: every outcome of ``receive_sms`` / ``receive_web_reply``, and staff actions (both DBs)."""

import threading
from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, func, select

from bot import templates
from bot.actors import Actor
from bot.cases.service import open_or_extend
from bot.commands.acting import act
from bot.errors import PermissionDenied, UserError
from bot.messaging import outbox
from bot.messaging.segments import segments
from bot.replies.reply_form import receive_web_reply
from bot.replies.service import receive_sms
from bot.settings import load_settings
from bot.templates import join_names
from storage.models import (
    AbsenceCase,
    AbsenceNotice,
    Alert,
    CaseEvent,
    InboundMessage,
    Mark,
    MarkAmendment,
    OutboxMessage,
    ReplyCase,
)
from tests import factories as f

DAY = date(2026, 9, 15)  # a Tuesday in the autumn term
NOW = datetime(2026, 9, 15, 10, 30, tzinfo=UTC)  # 11:30 in London
MOBILE = "+447700900123"
SETTINGS = load_settings(secret_key="test-secret-key-0123456789")


def family(
    session: Session,
    *,
    names=("Amelia",),
    language="en",
    mobile=MOBILE,
    school=None,
    school_name="Oakfield Primary",
):
    """A school, pupils with an AM N mark and an open case each, and one contact for them all."""
    sch = school or f.school(session, name=school_name, phone="+441632960001")
    pupils = [f.pupil(session, sch, first=n) for n in names]
    contact = f.contact(session, sch, *pupils, language=language, mobile=mobile)
    cases = []
    for p in pupils:
        f.mark(session, p, DAY, "AM", "N")
        f.mark(session, p, DAY, "PM", "N")
        case, _ = open_or_extend(session, pupil=p, day=DAY, session_name="AM", now=NOW)
        cases.append(case)
    session.commit()
    return sch, pupils, contact, cases


def sms(session, body, *, sid="SM0001", from_number=MOBILE, to="+441632960001"):
    outcome = receive_sms(
        session, settings=SETTINGS, message_sid=sid, from_number=from_number, to_number=to, body=body, now=NOW
    )
    session.commit()
    return outcome


def alerts(session, **where):
    q = select(Alert)
    for k, v in where.items():
        q = q.where(getattr(Alert, k) == v)
    return session.exec(q.order_by(Alert.id)).all()


def count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


# --------------------------------------------------------------------------------------------------
# A reason
# --------------------------------------------------------------------------------------------------


def test_reason_explains_case_thanks_in_language_and_tells_staff(session):
    sch, (amelia,), mum, (case,) = family(session, language="pl")
    body = "Amelia has a temperature, back tomorrow"
    outcome = sms(session, body)

    assert outcome.status == "recorded" and outcome.code == "I"
    session.refresh(case)
    assert case.status == "explained" and case.explained_by == "reply"
    assert case.suggested_code == "I" and case.return_date == date(2026, 9, 16)

    inbound = session.exec(select(InboundMessage)).one()
    assert (inbound.provider_id, inbound.contact_id, inbound.body) == ("SM0001", mum.id, body)
    assert inbound.code == "I" and inbound.channel == "sms"
    assert session.exec(select(ReplyCase.case_id)).all() == [case.id]
    event = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "reply")
    ).one()
    assert event.summary == body and event.data["code"] == "I"

    thanks = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "thanks")).one()
    assert thanks.language == "pl" and thanks.to_address == MOBILE and thanks.contact_id == mum.id
    assert thanks.idempotency_key == f"thanks:{inbound.id}"
    assert "Amelia" in thanks.body and "Oakfield Primary" in thanks.body and "dziękujemy" in thanks.body
    assert "temperature" not in thanks.body and " I " not in thanks.body

    (alert,) = alerts(session, kind="reply")
    assert alert.audience == "attendance" and alert.severity == "normal" and alert.case_id == case.id
    assert alert.data["actions"] == ["accept_code", "pick_code"]
    assert alert.data["suggested_code"] == "I" and alert.data["case_id"] == case.id
    assert alert.data["reply"] == body and body in alert.body
    assert "Amelia Khan" in alert.data["pupil_name"]


def test_numbers_written_any_common_way_find_the_contact(session):
    _, _, mum, _ = family(session)
    for n, raw in enumerate(["07700 900123", "447700900123", "+44 (0)7700 900123"]):
        assert sms(session, "Amelia is poorly", sid=f"SMfmt{n}", from_number=raw).status == "recorded"
    rows = session.exec(select(InboundMessage)).all()
    assert [(r.contact_id, r.from_address) for r in rows] == [(mum.id, MOBILE)] * 3


def test_running_late_explains_without_a_code_and_staff_pick(session):
    _, _, _, (case,) = family(session)
    outcome = sms(session, "running late, be there by 10")
    assert outcome.code == "LATE"
    session.refresh(case)
    assert case.status == "explained" and case.suggested_code is None
    (alert,) = alerts(session, kind="reply")
    assert alert.data["actions"] == ["pick_code"] and alert.data["late"] is True


# --------------------------------------------------------------------------------------------------
# Siblings
# --------------------------------------------------------------------------------------------------


def test_reply_naming_one_child_concerns_that_child_only(session):
    _, (amelia, sam), _, (a_case, s_case) = family(session, names=("Amelia", "Sam"))
    sms(session, "Sam has a temperature")
    session.refresh(a_case)
    session.refresh(s_case)
    assert s_case.status == "explained" and a_case.status == "open"
    assert session.exec(select(ReplyCase.case_id)).all() == [s_case.id]
    thanks = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "thanks")).one()
    assert "Sam" in thanks.body and "Amelia" not in thanks.body


def test_reply_naming_nobody_concerns_every_open_case(session):
    _, _, _, cases = family(session, names=("Amelia", "Sam"))
    sms(session, "Both poorly with a bug")
    for c in cases:
        session.refresh(c)
        assert c.status == "explained" and c.suggested_code == "I"
    assert len(alerts(session, kind="reply")) == 2
    thanks = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "thanks")).one()
    assert "Amelia and Sam" in thanks.body


def test_follow_up_after_explanation_updates_the_return_date(session):
    _, _, _, (case,) = family(session)
    sms(session, "Amelia is poorly", sid="SMa")
    sms(session, "Still poorly, back on Thursday", sid="SMb")
    session.refresh(case)
    assert case.status == "explained" and case.return_date == date(2026, 9, 17)
    links = session.exec(select(ReplyCase).where(ReplyCase.case_id == case.id)).all()
    assert len(links) == 2
    assert count(session, OutboxMessage) == 1  # thanked once, not for the follow-up
    sms(session, "thanks", sid="SMc")
    (follow_up,) = alerts(session, kind="reply_follow_up")
    assert follow_up.case_id == case.id and not alerts(session, kind="reply_no_reason")


# --------------------------------------------------------------------------------------------------
# Missing child, concern, opt-out, nothing understood
# --------------------------------------------------------------------------------------------------


def test_left_for_school_is_a_missing_child_alert_to_pastoral_and_dsl(session):
    _, _, _, (case,) = family(session)
    outcome = sms(session, "She left for school at 8 this morning")
    assert outcome.code == "IN_SCHOOL"
    missing = alerts(session, kind="missing_child")
    assert sorted(a.audience for a in missing) == ["dsl", "pastoral"]
    assert all(a.severity == "urgent" and a.case_id == case.id for a in missing)
    session.refresh(case)
    assert case.status == "open"
    assert count(session, OutboxMessage) == 0  # no "thank you" for a missing child


def test_concern_without_reason_alerts_dsl_and_keeps_chasing(session):
    _, _, _, (case,) = family(session)
    sms(session, "He's being bullied and won't go in")
    (alert,) = alerts(session, kind="welfare_concern")
    assert alert.audience == "dsl" and alert.severity == "high" and "bullied" in alert.body
    session.refresh(case)
    assert case.status == "open"
    assert alerts(session, kind="reply_no_reason")


def test_concern_with_a_reason_alerts_dsl_and_explains(session):
    _, _, _, (case,) = family(session)
    sms(session, "Amelia has a temperature and she is being bullied")
    assert [a.audience for a in alerts(session, kind="welfare_concern")] == ["dsl"]
    session.refresh(case)
    assert case.status == "explained" and case.suggested_code == "I"


def test_stop_mirrors_opt_out_cancels_unsent_texts_and_start_reverses(session):
    sch, _, mum, (case,) = family(session)
    queued, _ = outbox.enqueue(
        session,
        school_id=sch.id,
        key="chase:1",
        kind="chase",
        channel="sms",
        to_address=MOBILE,
        body="x",
        contact_id=mum.id,
        case_ids=[case.id],
        now=NOW,
    )
    sent, _ = outbox.enqueue(
        session,
        school_id=sch.id,
        key="first:1",
        kind="first_day",
        channel="sms",
        to_address=MOBILE,
        body="x",
        contact_id=mum.id,
        now=NOW,
    )
    sent.status = "sent"
    session.add(sent)
    session.commit()

    outcome = sms(session, "STOP", sid="SMstop")
    session.refresh(mum)
    session.refresh(queued)
    session.refresh(sent)
    session.refresh(case)
    assert mum.sms_opt_out is True
    assert queued.status == "cancelled" and sent.status == "sent"
    assert outcome.cancelled_message_ids == [queued.id]
    assert case.status == "open"
    (alert,) = alerts(session, kind="opt_out")
    assert alert.audience == "attendance"
    assert count(session, OutboxMessage) == 2  # nothing sent back: Twilio answers STOP itself

    sms(session, "start", sid="SMstart")
    session.refresh(mum)
    assert mum.sms_opt_out is False
    assert alerts(session, kind="opt_in")


def test_asking_to_stop_in_other_words_changes_nothing_and_goes_to_a_person(session):
    """Only the carrier's keyword on its own opts out; "please stop texting me" is a wish for staff."""
    sch, _, mum, (case,) = family(session)
    queued, _ = outbox.enqueue(
        session,
        school_id=sch.id,
        key="chase:1",
        kind="chase",
        channel="sms",
        to_address=MOBILE,
        body="x",
        contact_id=mum.id,
        case_ids=[case.id],
        now=NOW,
    )
    session.commit()
    outcome = sms(session, "Please stop texting me", sid="SMwish")
    assert outcome.code == "STOP"  # read as asking to stop...
    session.refresh(mum)
    session.refresh(queued)
    assert mum.sms_opt_out is False and queued.status == "queued"  # ...but nothing changed on a guess
    assert outcome.cancelled_message_ids == [] and not alerts(session, kind="opt_out")
    (alert,) = alerts(session, kind="asks_opt_out")
    assert alert.audience == "attendance" and "phone the family" in alert.body


def test_no_reason_keeps_chasing_and_shows_staff(session):
    _, _, _, (case,) = family(session)
    sms(session, "ok")
    session.refresh(case)
    assert case.status == "open"
    (alert,) = alerts(session, kind="reply_no_reason")
    assert alert.audience == "attendance" and "ok" in alert.body
    assert count(session, OutboxMessage) == 0


# --------------------------------------------------------------------------------------------------
# Unknown numbers, duplicates, several schools
# --------------------------------------------------------------------------------------------------


def test_unknown_number_gets_a_neutral_reply_and_staff_see_it_masked(session):
    first = f.school(session, name="First School")
    other = f.school(session, name="Other School", phone="020 7946 0999")
    session.commit()
    outcome = sms(session, "Hi is Amelia ok?", sid="SMu1", from_number="07700 900456", to="+442079460999")
    assert outcome.status == "unknown_sender"
    message = session.exec(select(OutboxMessage)).one()
    assert (message.kind, message.school_id, message.to_address) == ("neutral", other.id, "+447700900456")
    assert message.body == (
        "Thank you for your message. If it is about a pupil, please contact the school office."
    )
    (alert,) = alerts(session, kind="unknown_sender")
    assert alert.school_id == other.id and alert.audience == "attendance"
    assert "456" in alert.title and "900456" not in alert.title + alert.body
    assert first.id != other.id

    sms(session, "hello?", sid="SMu2", from_number="+447700900456", to="+442079460999")
    assert count(session, OutboxMessage) == 1  # one neutral answer a day: no auto-reply loops
    assert len(alerts(session, kind="unknown_sender")) == 2


@pytest.mark.parametrize(
    ("text", "language", "words"),
    [
        ("Dzień dobry, czy Amelia jest chora? Nie ma jej w domu", "pl", "Dziękujemy za wiadomość"),
        ("Buenos días, ¿mi hija está en el colegio hoy?", "es", "Gracias por su mensaje"),
    ],
)
def test_unknown_number_is_answered_in_the_language_it_wrote_in(session, text, language, words):
    f.school(session, name="Oakfield Primary", phone="020 7946 0999")
    session.commit()
    sms(session, text, sid=f"SMu-{language}", from_number="07700 900456", to="+442079460999")
    message = session.exec(select(OutboxMessage)).one()
    assert message.kind == "neutral" and message.language == language and words in message.body
    assert "Oakfield" not in message.body  # still reveals nothing


def test_duplicate_message_sid_changes_nothing(session):
    _, _, _, (case,) = family(session)
    assert sms(session, "Amelia is poorly").status == "recorded"
    before = (
        count(session, InboundMessage),
        count(session, Alert),
        count(session, OutboxMessage),
        count(session, CaseEvent),
    )
    assert sms(session, "Amelia is poorly").status == "duplicate"
    after = (
        count(session, InboundMessage),
        count(session, Alert),
        count(session, OutboxMessage),
        count(session, CaseEvent),
    )
    assert before == after


def test_concurrent_duplicates_record_once(engine):
    with Session(engine, expire_on_commit=False) as s:
        family(s)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def deliver():
        try:
            with Session(engine, expire_on_commit=False) as s:
                barrier.wait()
                results.append(sms(s, "Amelia is poorly", sid="SMrace").status)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sorted(results) == ["duplicate"] * 3 + ["recorded"]
    with Session(engine) as s:
        assert count(s, InboundMessage) == 1
        assert count(s, OutboxMessage) == 1


def test_number_in_two_schools_reaches_each_school_separately(session):
    a, _, _, (case_a,) = family(session, school_name="Oakfield Primary")
    b, _, _, (case_b,) = family(session, names=("Noah",), school_name="Hill Academy")
    sms(session, "Off sick today")
    for c in (case_a, case_b):
        session.refresh(c)
        assert c.status == "explained"
    rows = session.exec(select(InboundMessage).order_by(InboundMessage.id)).all()
    assert [r.school_id for r in rows] == [a.id, b.id]
    assert rows[0].provider_id == "SM0001"
    assert {(x.school_id, x.case_id) for x in alerts(session, kind="reply")} == {
        (a.id, case_a.id),
        (b.id, case_b.id),
    }
    thanks = session.exec(select(OutboxMessage).order_by(OutboxMessage.school_id)).all()
    assert ["Oakfield Primary" in thanks[0].body, "Hill Academy" in thanks[1].body] == [True, True]


def test_known_contact_without_an_open_case_gives_a_notice_for_the_day_named(session):
    """Issue 15: a reason with nothing open is a notice (for tomorrow here), and the family is thanked."""
    sch = f.school(session)
    p = f.pupil(session, sch)
    f.contact(session, sch, p, mobile=MOBILE)
    session.commit()
    outcome = sms(session, "Amelia has the dentist tomorrow")
    assert outcome.status == "recorded" and outcome.case_ids == []
    (notice,) = session.exec(select(AbsenceNotice)).all()
    assert (notice.first_date, notice.first_session, notice.last_date, notice.last_session) == (
        date(2026, 9, 16),
        "AM",
        date(2026, 9, 16),
        "PM",
    )
    assert notice.suggested_code == "M" and notice.source == "sms" and notice.words.startswith("Amelia has")
    assert alerts(session, kind="reply") == []  # staff get it when it meets the register
    (thanks,) = session.exec(select(OutboxMessage)).all()
    assert thanks.kind == "thanks" and "Amelia" in thanks.body


def test_known_contact_without_an_open_case_and_no_reason_is_still_shown_to_staff(session):
    sch = f.school(session)
    p = f.pupil(session, sch)
    f.contact(session, sch, p, mobile=MOBILE)
    session.commit()
    outcome = sms(session, "Who is this please?")
    assert outcome.status == "recorded" and outcome.case_ids == [] and outcome.notice_ids == []
    (alert,) = alerts(session, kind="reply_no_reason")
    assert alert.case_id is None and "no open absence" in alert.body
    assert count(session, OutboxMessage) == 0


# --------------------------------------------------------------------------------------------------
# Staff actions: accept the suggestion, or pick another code, through the audited path
# --------------------------------------------------------------------------------------------------


def test_accept_code_recodes_every_n_with_name_and_role(session):
    sch, (amelia,), _, (case,) = family(session)
    officer = f.staff(session, sch, name="Jo Patel", role="attendance_officer")
    session.commit()
    body = "Amelia has a temperature, back tomorrow " + "x" * 100
    sms(session, body)
    (alert,) = alerts(session, kind="reply")
    act(session, alert_id=alert.id, action="accept_code", actor=Actor.of(officer), now=NOW)
    session.commit()
    marks = session.exec(select(Mark).where(Mark.pupil_id == amelia.id)).all()
    assert sorted(m.code for m in marks) == ["I", "I"]
    amendments = session.exec(select(MarkAmendment)).all()
    assert len(amendments) == 2
    for a in amendments:
        assert (a.original_code, a.amended_code) == ("N", "I")
        assert (a.amended_by_name, a.amended_by_role) == ("Jo Patel", "attendance_officer")
        assert a.staff_id == officer.id
        assert a.reason == "Parent reply: " + body[:80]
    session.refresh(alert)
    assert alert.status == "acted"


def test_pick_code_uses_staff_choice_and_late_cannot_be_accepted(session):
    sch, (amelia,), _, _ = family(session)
    officer = f.staff(session, sch, role="attendance_officer")
    session.commit()
    sms(session, "running late, be there by 10")
    (alert,) = alerts(session, kind="reply")
    with pytest.raises(UserError):
        act(session, alert_id=alert.id, action="accept_code", actor=Actor.of(officer), now=NOW)
    with pytest.raises(UserError):
        act(session, alert_id=alert.id, action="pick_code", actor=Actor.of(officer), value="LATE", now=NOW)
    act(session, alert_id=alert.id, action="pick_code", actor=Actor.of(officer), value="u", now=NOW)
    session.commit()
    assert {m.code for m in session.exec(select(Mark).where(Mark.pupil_id == amelia.id)).all()} == {"U"}


def test_staff_of_another_school_cannot_act(session):
    family(session)
    other = f.school(session, name="Elsewhere")
    stranger = f.staff(session, other, role="attendance_officer")
    session.commit()
    sms(session, "Amelia is poorly")
    (alert,) = alerts(session, kind="reply")
    with pytest.raises(PermissionDenied):
        act(session, alert_id=alert.id, action="accept_code", actor=Actor.of(stranger), now=NOW)


# --------------------------------------------------------------------------------------------------
# The reply page's service
# --------------------------------------------------------------------------------------------------


def test_web_reply_explains_one_case_and_second_answer_is_already_explained(session):
    _, (amelia, sam), mum, (a_case, s_case) = family(session, names=("Amelia", "Sam"))
    out = receive_web_reply(
        session,
        settings=SETTINGS,
        case_id=a_case.id,
        contact_id=mum.id,
        reason="medical",
        note="Orthodontist",
        return_date=date(2026, 9, 16),
        now=NOW,
    )
    session.commit()
    assert out.status == "recorded" and out.code == "M"
    session.refresh(a_case)
    session.refresh(s_case)
    assert a_case.status == "explained" and a_case.suggested_code == "M" and s_case.status == "open"
    row = session.exec(select(InboundMessage)).one()
    assert row.channel == "web" and row.provider_id is None and "Orthodontist" in row.body
    assert alerts(session, kind="reply")[0].data["suggested_code"] == "M"
    again = receive_web_reply(
        session, settings=SETTINGS, case_id=a_case.id, contact_id=mum.id, reason="ill", now=NOW
    )
    assert again.status == "already_explained"


def test_web_reply_rejects_a_contact_of_another_family_and_bad_dates(session):
    sch, _, _, (case,) = family(session)
    other_parent = f.contact(session, sch, f.pupil(session, sch, first="Zed"), mobile="+447700900999")
    session.commit()
    with pytest.raises(UserError):
        receive_web_reply(
            session, settings=SETTINGS, case_id=case.id, contact_id=other_parent.id, reason="ill", now=NOW
        )
    with pytest.raises(UserError):
        receive_web_reply(
            session,
            settings=SETTINGS,
            case_id=case.id,
            contact_id=None,
            reason="ill",
            return_date=date(2026, 9, 1),
            now=NOW,
        )
    with pytest.raises(UserError):
        receive_web_reply(
            session, settings=SETTINGS, case_id=case.id, contact_id=None, reason="other", now=NOW
        )
    assert session.get(AbsenceCase, case.id).status == "open"


# --------------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", templates.LANGUAGES)
def test_thanks_fits_two_segments_and_carries_only_name_and_school(lang):
    assert templates.supports(lang)
    school = "St Bartholomew's Church of England Primary"  # 42 characters
    names = join_names(["Maximilian", "Anastasia"], lang)
    text, used = templates.render_family("sms", "thanks", lang, names=names, count=2, school=school)
    assert used == lang and segments(text) <= 2, (lang, len(text), text)
    assert "Maximilian" in text and "Anastasia" in text and school in text


def test_thank_you_is_actually_sent_by_the_outbox_sender(engine):
    from bot.messaging.sender import send_due
    from bot.messaging.transports import LocalEmail, LocalSms, Transports

    with Session(engine, expire_on_commit=False) as s:
        family(s)
        sms(s, "Amelia is poorly")
    summary = send_due(
        engine, transports=Transports(sms=LocalSms(), email=LocalEmail()), settings=SETTINGS, now=NOW
    )
    assert summary.cancelled == 0
    with Session(engine) as s:
        thanks = s.exec(select(OutboxMessage).where(OutboxMessage.kind == "thanks")).one()
        assert thanks.status in {"sent", "delivered"}, (thanks.status, thanks.error)
