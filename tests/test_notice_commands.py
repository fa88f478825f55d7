"""Staff record what families told them (issue 15): ``/notice`` and ``/call ... back Wednesday``, the
``/absences`` line "reported by parent: illness (I), back Wed — Accept / Pick another", accepting
through the audited path, and the same core over Slack. Both databases, fixed times."""

from datetime import date

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from bot.chat import plain
from bot.commands import grammar, run_command
from bot.firstday.service import register_close
from storage.models import AbsenceCase, AbsenceNotice, Alert, MarkAmendment, OutboxMessage
from tests import factories as f
from tests.peers.slack_api import live_slack

MON, TUE, WED = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)


@pytest.fixture
def world(session):
    school = f.school(session, name="Oakfield Primary", slack_team_id="T0SCHOOL")
    amelia = f.pupil(session, school, first="Amelia", last="Khan")
    f.contact(session, school, amelia, first="Sara", mobile="+447700900123")
    officer = f.staff(session, school, name="Jo Patel", role="attendance_officer", slack_user_id="U0OFFICER")
    office = f.staff(session, school, name="Pat Lee", role="admin")
    teacher = f.staff(session, school, name="Sam Reed", role="teacher")
    session.commit()
    return school, amelia, officer, office, teacher


def run(session, staff, line, at):
    result = run_command(session, staff=staff, text=line, now=at)
    session.commit()
    return result


def close(session, school, day, name="AM"):
    summary = register_close(
        session,
        school=school,
        session_name=name,
        settings=f.settings(),
        now=f.at(day, "09:15" if name == "AM" else "13:45"),
    )
    session.commit()
    return summary


def test_grammar_reads_pupil_dates_and_cancel():
    today = MON
    n = grammar.parse("/notice Amelia Khan: ill, back Wednesday", today=today)
    assert (n.pupil, n.text, n.start, n.open_ended) == ("Amelia Khan", "ill, back Wednesday", None, False)
    n = grammar.parse("notice Amelia Khan from thursday hospital appointment", today=today)
    assert (n.pupil, n.start, n.text) == ("Amelia Khan", date(2026, 11, 26), "hospital appointment")
    n = grammar.parse('notice "Jo Li" until further notice, in hospital', today=today)
    assert (n.pupil, n.open_ended, n.text) == ("Jo Li", True, "in hospital")
    assert grammar.parse("notice #12: cancel", today=today).withdraw
    with pytest.raises(grammar.UserError, match="Say what the family told you"):
        grammar.parse("notice Amelia Khan:", today=today)
    with pytest.raises(grammar.UserError, match="didn't understand the date"):
        grammar.parse("notice Amelia Khan: from someday ill", today=today)


def test_office_notice_covers_the_absence_and_staff_accept_from_absences(session, world):
    school, amelia, officer, office, _ = world
    result = run(
        session,
        office,
        "notice Amelia Khan: mum phoned, ill with a temperature, back Wednesday",
        f.at(MON, "08:20"),
    )
    assert result.ok, result.title
    assert result.title == "Notice recorded for Amelia Khan: reported by parent: illness (I), back Wed 25 Nov"
    assert "covers Mon 23 Nov AM to Tue 24 Nov PM" in plain.command(result)
    notice = session.exec(select(AbsenceNotice)).one()
    assert (notice.source, notice.staff_id, notice.suggested_code) == ("staff", office.id, "I")

    f.mark(session, amelia, MON, "AM", "N")
    assert close(session, school, MON)["messages_queued"] == 0
    listing = run(session, officer, "absences", f.at(MON, "09:30"))
    (row,) = listing.data["rows"]
    alert = session.exec(select(Alert).where(Alert.kind == "notice")).one()
    assert row["notice"] == "reported by parent: illness (I), back Wed 25 Nov"
    assert row["notice_alert_id"] == alert.id
    assert (
        f"reported by parent: illness (I), back Wed 25 Nov — Accept / Pick another (alert {alert.id})"
        in plain.command(listing)
    )

    done = run(session, officer, f"act {alert.id} accept_code", f.at(MON, "09:35"))
    assert done.ok, done.title
    (amendment,) = session.exec(select(MarkAmendment)).all()
    assert (amendment.amended_code, amendment.amended_by_name, amendment.amended_by_role) == (
        "I",
        "Jo Patel",
        "attendance_officer",
    )
    assert amendment.reason.startswith("Parent's notice: mum phoned")
    f.mark(session, amelia, TUE, "AM", "N")
    assert close(session, school, TUE)["recoded_by_notice"] == 1
    assert [m.kind for m in session.exec(select(OutboxMessage)).all()] == []


def test_call_back_wednesday_before_the_register_is_a_notice(session, world):
    school, amelia, officer, _office, _ = world
    result = run(session, officer, "call Amelia Khan spoke flu, back Wednesday", f.at(MON, "08:40"))
    assert result.ok and "Noted: covers Mon 23 Nov AM to Tue 24 Nov PM" in plain.command(result)
    assert session.exec(select(AbsenceNotice)).one().source == "call"
    for day, name in ((MON, "AM"), (MON, "PM"), (TUE, "AM")):
        f.mark(session, amelia, day, name, "N")
        assert close(session, school, day, name)["covered_by_notice"] == 1
    assert session.exec(select(OutboxMessage)).all() == []


def test_call_on_an_open_case_explains_it_and_covers_later_sessions(session, world):
    school, amelia, officer, _office, _ = world
    f.mark(session, amelia, MON, "AM", "N")
    close(session, school, MON)
    result = run(session, officer, "call Amelia Khan spoke chickenpox, back Wednesday", f.at(MON, "10:00"))
    assert result.data["explained"] is True
    notice = session.exec(select(AbsenceNotice)).one()
    assert (notice.first_date, notice.first_session, notice.last_date) == (MON, "AM", TUE)
    f.mark(session, amelia, MON, "PM", "N")
    pm = close(session, school, MON, "PM")
    assert pm["covered_by_notice"] == 1 and pm["cases_opened"] == 0 and pm["messages_queued"] == 0


def test_cancel_withdraws_and_the_family_is_messaged_as_usual(session, world):
    school, amelia, _officer, office, _ = world
    run(session, office, "notice Amelia Khan: ill today", f.at(MON, "08:00"))
    result = run(session, office, "notice Amelia Khan: cancel", f.at(MON, "08:30"))
    assert result.data["withdrawn"] == 1
    assert session.exec(select(AbsenceNotice)).one().status == "withdrawn"
    f.mark(session, amelia, MON, "AM", "N")
    assert close(session, school, MON)["messages_queued"] == 1


def test_left_for_school_is_never_a_notice_and_teachers_may_not_take_one(session, world):
    _school, _amelia, _officer, office, teacher = world
    refused = run(
        session, office, "notice Amelia Khan: dad says she left for school at 8", f.at(MON, "09:30")
    )
    assert not refused.ok and "missing-child procedure" in refused.title
    assert session.exec(select(AbsenceNotice)).all() == []
    denied = run(session, teacher, "notice Amelia Khan: ill", f.at(MON, "08:00"))
    assert not denied.ok and session.exec(select(AbsenceNotice)).all() == []


def test_open_ended_notice_from_a_date_covers_until_seen(session, world):
    school, amelia, _officer, office, _ = world
    run(
        session,
        office,
        "notice Amelia Khan: from tuesday until further notice, in hospital",
        f.at(MON, "12:00"),
    )
    notice = session.exec(select(AbsenceNotice)).one()
    assert (notice.first_date, notice.last_date) == (TUE, None)
    f.mark(session, amelia, MON, "PM", "N")
    assert close(session, school, MON, "PM")["covered_by_notice"] == 0
    for day in (TUE, WED):
        f.mark(session, amelia, day, "AM", "N")
        assert close(session, school, day)["covered_by_notice"] == 1
    # Monday afternoon's unexplained case runs into the reported absence: the notice explains it.
    (case,) = session.exec(select(AbsenceCase)).all()
    assert case.status == "explained" and case.explained_by == "notice" and case.last_absent_date == WED


def test_notice_over_slack(engine, db_url, session, world):
    _school, _amelia, _officer, _office, _ = world
    with freeze_time("2026-11-23 08:20:00", tick=True), live_slack(db_url) as slack:
        resp, key = slack.command("/notice", "Amelia Khan: ill, back Wednesday", user="U0OFFICER")
        assert resp.status_code == 200
        body = slack.responses(key)[0]
    assert body["text"].startswith("Notice recorded for Amelia Khan: reported by parent: illness (I)")
    with Session(engine) as s:
        assert s.exec(select(AbsenceNotice)).one().return_date == WED


def test_absences_after_a_text_reply_points_at_the_reply_to_accept(session, world):
    from bot.replies.service import receive_sms

    school, amelia, officer, _office, _ = world
    f.mark(session, amelia, MON, "AM", "N")
    close(session, school, MON)
    receive_sms(
        session,
        settings=f.settings(),
        message_sid="SM" + "1" * 32,
        from_number="+447700900123",
        body="Amelia has chickenpox, back Thursday",
        now=f.at(MON, "09:40"),
    )
    session.commit()
    listing = run(session, officer, "absences", f.at(MON, "10:00"))
    reply = session.exec(select(Alert).where(Alert.kind == "reply")).one()
    (row,) = listing.data["rows"]
    assert row["notice"] == "reported by parent: illness (I), back Thu 26 Nov"
    assert row["notice_alert_id"] == reply.id
