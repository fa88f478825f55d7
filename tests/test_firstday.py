"""Register close and chasing, on SQLite and PostgreSQL."""

from datetime import date

from sqlmodel import select

from bot.actors import Actor
from bot.firstday import reroute
from bot.firstday.service import chase, register_close
from bot.register.service import recode
from storage.models import AbsenceCase, Alert, MessageCase, OutboxMessage, SchoolPolicy
from tests import factories as f

MON = date(2026, 11, 23)


def close(session, school, day, name="AM"):
    """Register close as the clock runs it at the school's close time that day."""
    return register_close(
        session,
        school=school,
        session_name=name,
        settings=f.settings(),
        now=f.at(day, "09:15" if name == "AM" else "13:45"),
    )


def chase_at(session, school, day, hh_mm="11:00"):
    return chase(session, school=school, now=f.at(day, hh_mm), slot=hh_mm, settings=f.settings())


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

    summary = close(session, school, MON)

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

    close(session, school, MON)

    [msg] = _messages(session)
    assert msg.language == "pl" and "Jan" in msg.body and "Zofia" in msg.body and " i " in msg.body
    links = session.exec(select(MessageCase).where(MessageCase.message_id == msg.id)).all()
    assert len(links) == 2


def test_email_when_no_mobile_and_opted_out_sms_is_skipped(session):
    school = f.school(session)
    a = f.pupil(session, school, first="Ola")
    f.contact(
        session, school, a, first="Ewa", mobile="+447700900003", email="ewa@example.org", sms_opt_out=True
    )
    f.mark(session, a, MON, "AM", "N")

    close(session, school, MON)

    [msg] = _messages(session)
    assert msg.channel == "email" and msg.to_address == "ewa@example.org"
    assert "/r/" in msg.body and msg.subject


def test_policy_also_email_sends_both(session):
    school = f.school(session)
    session.get(SchoolPolicy, school.id).email_mode = "also"
    a = f.pupil(session, school)
    f.contact(session, school, a, email="p@example.org")
    f.mark(session, a, MON, "AM", "N")
    close(session, school, MON)
    assert sorted(m.channel for m in _messages(session)) == ["email", "sms"]


def test_running_register_close_twice_sends_nothing_more(session):
    school = f.school(session)
    a = f.pupil(session, school)
    f.contact(session, school, a)
    f.mark(session, a, MON, "AM", "N")
    close(session, school, MON)
    again = close(session, school, MON)
    assert again["cases_opened"] == 0 and again["messages_queued"] == 0
    assert len(_messages(session)) == 1
    # PM close: still N, the same case is extended, no second first-day message.
    f.mark(session, a, MON, "PM", "N")
    pm = close(session, school, MON, "PM")
    assert pm["cases_extended"] == 1 and pm["messages_queued"] == 0


def test_not_a_school_day_does_nothing(session):
    school = f.school(session)
    summary = close(session, school, date(2026, 10, 27))
    assert "half-term" in summary.skipped.lower() or "holiday" in summary.skipped


def test_no_contact_details_alerts_staff_at_once(session):
    school = f.school(session)
    a = f.pupil(session, school, first="Lily")
    f.contact(session, school, a, mobile=None, email=None)
    f.mark(session, a, MON, "AM", "N")
    summary = close(session, school, MON)
    assert summary["unreachable"] == 1
    alert = session.exec(select(Alert)).one()
    assert alert.kind == "cannot_reach_family" and "Lily" in alert.title


def test_recode_after_close_explains_case_and_stops_chasing(session):
    school = f.school(session)
    a = f.pupil(session, school)
    f.contact(session, school, a)
    f.mark(session, a, MON, "AM", "N")
    close(session, school, MON)
    officer = f.staff(session, school)
    recode(
        session,
        school_id=school.id,
        pupil_id=a.id,
        day=MON,
        sessions=["AM"],
        new_code="V",
        reason="On the Year 4 trip",
        actor=Actor.of(officer),
        now=f.at(MON, "10:00"),
    )
    case = session.exec(select(AbsenceCase)).one()
    assert case.status == "explained" and case.suggested_code == "V"
    result = chase_at(session, school, MON)
    assert result["messages_queued"] == 0


def _provider_took_all(session, day, hh_mm):
    """Every queued message handed to the provider at that time (what the sender records)."""
    for message in _messages(session):
        if message.status == "queued":
            message.status, message.sent_at = "accepted", f.at(day, hh_mm)
    session.flush()


def test_chase_moves_to_next_contact_after_deadline_and_stops_when_present(session):
    school = f.school(session)
    a = f.pupil(session, school, first="Maya")
    mum = f.contact(session, school, a, first="Mum", mobile="+447700900011", priority=1)
    dad = f.contact(session, school, a, first="Dad", mobile="+447700900012", priority=2)
    f.mark(session, a, MON, "AM", "N")
    close(session, school, MON)
    _provider_took_all(session, MON, "09:16")
    r = chase_at(session, school, MON)
    assert r["moved_to_next_contact"] == 1
    assert _messages(session)[-1].contact_id == dad.id
    # Next school day, still N: chased again (deadline passed again, so back to mum).
    tue = date(2026, 11, 24)
    _provider_took_all(session, MON, "11:01")
    f.mark(session, a, tue, "AM", "N")
    close(session, school, tue)
    chase_at(session, school, tue)
    assert _messages(session)[-1].contact_id == mum.id
    # Wednesday the pupil is in: the case closes and nobody is chased.
    wed = date(2026, 11, 25)
    f.mark(session, a, wed, "AM", "/")
    count = len(_messages(session))
    r = chase_at(session, school, wed)
    assert r["cases_closed"] == 1 and len(_messages(session)) == count


def test_chase_deadline_counts_from_the_provider_taking_the_text_not_from_queueing(session):
    """Issue 13: through a provider outage nothing reached mum; moving to dad would blame her."""
    school = f.school(session)
    a = f.pupil(session, school, first="Maya")
    mum = f.contact(session, school, a, first="Mum", mobile="+447700900011", priority=1)
    f.contact(session, school, a, first="Dad", mobile="+447700900012", priority=2)
    f.mark(session, a, MON, "AM", "N")
    close(session, school, MON)  # queued 09:15; the provider is down until 10:50
    r = chase_at(session, school, MON, "11:00")
    assert r["moved_to_next_contact"] == 0 and _messages(session)[-1].contact_id == mum.id
    first = _messages(session)[0]
    first.status, first.sent_at = "accepted", f.at(MON, "10:50")
    session.flush()
    assert chase_at(session, school, MON, "12:00")["moved_to_next_contact"] == 0  # 70 min < 90
    assert chase_at(session, school, MON, "12:20")["moved_to_next_contact"] == 1  # 90 min after 10:50


def test_chase_skips_half_term_and_bank_holiday(session):
    school = f.school(session)
    a = f.pupil(session, school)
    f.contact(session, school, a)
    fri = date(2026, 10, 23)  # last day before the autumn half-term
    f.mark(session, a, fri, "AM", "N")
    close(session, school, fri)
    for day in (date(2026, 10, 26), date(2026, 10, 30), date(2026, 11, 2)):  # half-term, INSET
        r = chase_at(session, school, day)
        assert r.skipped
    r = chase_at(session, school, date(2026, 11, 3))
    assert r["messages_queued"] == 1
    # Christmas: the substitute Boxing Day bank holiday is not chased either.
    assert chase_at(session, school, date(2026, 12, 28)).skipped


def test_failure_moves_to_email_then_next_contact_then_alerts(session):
    school = f.school(session)
    a = f.pupil(session, school, first="Noah")
    mum = f.contact(session, school, a, first="Mum", mobile="+447700900021", email="mum@example.org")
    dad = f.contact(session, school, a, first="Dad", mobile="+447700900022", priority=2)
    f.mark(session, a, MON, "AM", "N")
    close(session, school, MON)

    def fail_last():
        msg = _messages(session)[-1]
        msg.status = "failed"
        reroute.on_delivery_failed(session, message=msg, settings=f.settings(), now=f.at(MON, "09:30"))
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
    reroute.on_delivery_failed(
        session, message=_messages(session)[-1], settings=f.settings(), now=f.at(MON, "09:40")
    )
    assert len(session.exec(select(Alert)).all()) == 1
