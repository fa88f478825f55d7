"""Register close and chasing, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime

from freezegun import freeze_time
from sqlmodel import select

from bot import clock
from bot.actors import Actor
from bot.firstday import routing
from bot.firstday.service import chase, register_close
from bot.register.service import recode
from storage.models import AbsenceCase, Alert, MessageCase, OutboxMessage, SchoolPolicy
from tests import factories as f

MON = date(2026, 11, 23)


def _messages(session):
    return session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_register_close_opens_cases_and_messages_first_contact(session):
    school = f.school(session)
    amelia = f.pupil(session, school, first="Amelia")
    present = f.pupil(session, school, first="Ben")
    mum = f.contact(session, school, amelia, first="Sara", mobile="+447700900001", priority=1)
    f.contact(session, school, amelia, first="Omar", mobile="+447700900002", priority=2)
    f.mark(session, amelia, MON, "AM", "N")
    f.mark(session, present, MON, "AM", "/")

    summary = register_close(session, school=school, day=MON, session_name="AM")

    assert summary["cases_opened"] == 1 and summary["messages_queued"] == 1
    [msg] = _messages(session)
    assert msg.contact_id == mum.id and msg.channel == "sms" and msg.to_address == "+447700900001"
    assert "Amelia" in msg.body and school.name in msg.body
    assert "N" not in msg.body.split() and "Khan" not in msg.body  # first name only, no code
    case = session.exec(select(AbsenceCase)).one()
    assert case.first_date == MON and case.status == "open" and [s["day"] for s in case.ladder] == [3, 4, 5]


def test_siblings_get_one_message_per_contact_in_their_language(session):
    school = f.school(session)
    a = f.pupil(session, school, first="Zofia", last="Nowak")
    b = f.pupil(session, school, first="Jan", last="Nowak")
    f.contact(session, school, a, b, first="Anna", language="pl")
    f.mark(session, a, MON, "AM", "N")
    f.mark(session, b, MON, "AM", "N")

    register_close(session, school=school, day=MON, session_name="AM")

    [msg] = _messages(session)
    assert msg.language == "pl" and "Jan" in msg.body and "Zofia" in msg.body and " i " in msg.body
    links = session.exec(select(MessageCase).where(MessageCase.message_id == msg.id)).all()
    assert len(links) == 2


def test_email_when_no_mobile_and_opted_out_sms_is_skipped(session):
    school = f.school(session)
    a = f.pupil(session, school, first="Ola")
    f.contact(session, school, a, first="Ewa", mobile="+447700900003", email="ewa@example.org",
              sms_opt_out=True)
    f.mark(session, a, MON, "AM", "N")

    register_close(session, school=school, day=MON, session_name="AM")

    [msg] = _messages(session)
    assert msg.channel == "email" and msg.to_address == "ewa@example.org"
    assert "/r/" in msg.body and msg.subject


def test_policy_also_email_sends_both(session):
    school = f.school(session)
    session.get(SchoolPolicy, school.id).email_mode = "also"
    a = f.pupil(session, school)
    f.contact(session, school, a, email="p@example.org")
    f.mark(session, a, MON, "AM", "N")
    register_close(session, school=school, day=MON, session_name="AM")
    assert sorted(m.channel for m in _messages(session)) == ["email", "sms"]


def test_running_register_close_twice_sends_nothing_more(session):
    school = f.school(session)
    a = f.pupil(session, school)
    f.contact(session, school, a)
    f.mark(session, a, MON, "AM", "N")
    register_close(session, school=school, day=MON, session_name="AM")
    again = register_close(session, school=school, day=MON, session_name="AM")
    assert again["cases_opened"] == 0 and again["messages_queued"] == 0
    assert len(_messages(session)) == 1
    # PM close: still N, the same case is extended, no second first-day message.
    f.mark(session, a, MON, "PM", "N")
    pm = register_close(session, school=school, day=MON, session_name="PM")
    assert pm["cases_extended"] == 1 and pm["messages_queued"] == 0


def test_not_a_school_day_does_nothing(session):
    school = f.school(session)
    summary = register_close(session, school=school, day=date(2026, 10, 27), session_name="AM")
    assert "half-term" in summary["skipped"].lower() or "holiday" in summary["skipped"]


def test_no_contact_details_alerts_staff_at_once(session):
    school = f.school(session)
    a = f.pupil(session, school, first="Lily")
    f.contact(session, school, a, mobile=None, email=None)
    f.mark(session, a, MON, "AM", "N")
    summary = register_close(session, school=school, day=MON, session_name="AM")
    assert summary["unreachable"] == 1
    alert = session.exec(select(Alert)).one()
    assert alert.kind == "cannot_reach_family" and "Lily" in alert.title


def test_recode_after_close_explains_case_and_stops_chasing(session):
    school = f.school(session)
    a = f.pupil(session, school)
    f.contact(session, school, a)
    f.mark(session, a, MON, "AM", "N")
    register_close(session, school=school, day=MON, session_name="AM")
    officer = f.staff(session, school)
    recode(session, school_id=school.id, pupil_id=a.id, day=MON, sessions=["AM"], new_code="V",
           reason="On the Year 4 trip", actor=Actor.of(officer))
    case = session.exec(select(AbsenceCase)).one()
    assert case.status == "explained" and case.suggested_code == "V"
    with freeze_time(clock.at_local(MON, datetime.strptime("11:00", "%H:%M").time())):
        result = chase(session, school=school, now=clock.now(), slot="11:00")
    assert result["messages_queued"] == 0


def test_chase_moves_to_next_contact_after_deadline_and_stops_when_present(session):
    school = f.school(session)
    a = f.pupil(session, school, first="Maya")
    mum = f.contact(session, school, a, first="Mum", mobile="+447700900011", priority=1)
    dad = f.contact(session, school, a, first="Dad", mobile="+447700900012", priority=2)
    f.mark(session, a, MON, "AM", "N")
    with freeze_time(datetime(2026, 11, 23, 9, 15, tzinfo=UTC)):
        register_close(session, school=school, day=MON, session_name="AM")
    with freeze_time(datetime(2026, 11, 23, 11, 0, tzinfo=UTC)):
        r = chase(session, school=school, now=clock.now(), slot="11:00")
    assert r["moved_to_next_contact"] == 1
    assert _messages(session)[-1].contact_id == dad.id
    # Next school day, still N: chased again (deadline passed again, so back to mum).
    tue = date(2026, 11, 24)
    f.mark(session, a, tue, "AM", "N")
    register_close(session, school=school, day=tue, session_name="AM")
    with freeze_time(datetime(2026, 11, 24, 11, 0, tzinfo=UTC)):
        chase(session, school=school, now=clock.now(), slot="11:00")
    assert _messages(session)[-1].contact_id == mum.id
    # Wednesday the pupil is in: the case closes and nobody is chased.
    wed = date(2026, 11, 25)
    f.mark(session, a, wed, "AM", "/")
    count = len(_messages(session))
    with freeze_time(datetime(2026, 11, 25, 11, 0, tzinfo=UTC)):
        r = chase(session, school=school, now=clock.now(), slot="11:00")
    assert r["cases_closed"] == 1 and len(_messages(session)) == count


def test_chase_skips_half_term_and_bank_holiday(session):
    school = f.school(session)
    a = f.pupil(session, school)
    f.contact(session, school, a)
    fri = date(2026, 10, 23)  # last day before the autumn half-term
    f.mark(session, a, fri, "AM", "N")
    register_close(session, school=school, day=fri, session_name="AM")
    for day in (date(2026, 10, 26), date(2026, 10, 30), date(2026, 11, 2)):  # half-term, INSET
        with freeze_time(clock.at_local(day, datetime.strptime("11:00", "%H:%M").time())):
            r = chase(session, school=school, now=clock.now(), slot="11:00")
        assert "skipped" in r
    with freeze_time(clock.at_local(date(2026, 11, 3), datetime.strptime("11:00", "%H:%M").time())):
        r = chase(session, school=school, now=clock.now(), slot="11:00")
    assert r["messages_queued"] == 1
    # Christmas: the substitute Boxing Day bank holiday is not chased either.
    with freeze_time(clock.at_local(date(2026, 12, 28), datetime.strptime("11:00", "%H:%M").time())):
        assert "skipped" in chase(session, school=school, now=clock.now(), slot="11:00")


def test_failure_moves_to_email_then_next_contact_then_alerts(session):
    school = f.school(session)
    a = f.pupil(session, school, first="Noah")
    mum = f.contact(session, school, a, first="Mum", mobile="+447700900021", email="mum@example.org")
    dad = f.contact(session, school, a, first="Dad", mobile="+447700900022", priority=2)
    f.mark(session, a, MON, "AM", "N")
    register_close(session, school=school, day=MON, session_name="AM")

    def fail_last():
        msg = _messages(session)[-1]
        msg.status = "failed"
        routing.on_delivery_failed(session, message=msg)
        session.flush()
        return _messages(session)[-1]

    nxt = fail_last()
    assert (nxt.contact_id, nxt.channel) == (mum.id, "email")
    nxt = fail_last()
    assert (nxt.contact_id, nxt.channel) == (dad.id, "sms")
    fail_last()
    alert = session.exec(select(Alert)).one()
    assert alert.kind == "cannot_reach_family" and "Noah" in alert.title
    # A repeated failure report changes nothing.
    routing.on_delivery_failed(session, message=_messages(session)[-1])
    assert len(session.exec(select(Alert)).all()) == 1
