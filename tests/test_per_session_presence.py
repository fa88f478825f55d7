"""Presence is per session: a morning ``/`` never explains an afternoon ``N`` (issue 12, item 1).

A child present in the morning and missing in the afternoon (left at lunch and did not come back) is
exactly the case to catch: register close messages the family, the sender's pre-send check lets the
text go, the chase keeps chasing and escalation keeps counting. On SQLite and PostgreSQL.
"""

from datetime import date

from sqlmodel import Session, select

from bot.escalation.scheduled import escalation_sweep
from bot.firstday.scheduled import send_outbox
from bot.firstday.service import chase, register_close
from storage.models import AbsenceCase, MessageCase, OutboxMessage
from tests import factories as f

MON, TUE, WED = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25)


def _close(session, school, day, name):
    return register_close(
        session,
        school=school,
        session_name=name,
        settings=f.settings(),
        now=f.at(day, "09:15" if name == "AM" else "13:45"),
    )


def _world(engine):
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s)
        amelia = f.pupil(s, school, first="Amelia", last="Khan")
        mum = f.contact(s, school, amelia, first="Sara", mobile="+447700900001")
        s.commit()
        return school, amelia, mum


def test_present_in_the_morning_absent_after_lunch_is_texted_and_chased(engine):
    school, amelia, mum = _world(engine)
    with Session(engine, expire_on_commit=False) as s:
        f.mark(s, amelia, MON, "AM", "/")
        f.mark(s, amelia, MON, "PM", "N")
        summary = _close(s, school, MON, "PM")
        s.commit()
    assert summary["cases_opened"] == 1 and summary["messages_queued"] == 1

    sent = send_outbox(engine, now=f.at(MON, "13:46"), settings=f.settings())
    assert sent["cancelled"] == 0 and sent["sent"] == 1
    with Session(engine) as s:
        [message] = s.exec(select(OutboxMessage)).all()
        assert message.contact_id == mum.id and message.status != "cancelled"
        case = s.exec(select(AbsenceCase)).one()
        assert case.status == "open" and case.first_session == "PM"

        # The afternoon chase still chases: the morning's mark is not a reason.
        result = chase(
            s,
            school=s.get(type(school), school.id),
            now=f.at(MON, "14:30"),
            slot="14:30",
            settings=f.settings(),
        )
        s.commit()
    assert result["cases_closed"] == 0 and result["messages_queued"] == 1


def test_the_pre_send_check_still_cancels_when_the_child_turns_up_that_afternoon(engine):
    school, amelia, _mum = _world(engine)
    with Session(engine, expire_on_commit=False) as s:
        f.mark(s, amelia, MON, "AM", "/")
        pm = f.mark(s, amelia, MON, "PM", "N")
        _close(s, school, MON, "PM")
        pm.code = "L"  # arrived late, before the register closed after all (the MIS corrects it)
        s.add(pm)
        s.commit()
    sent = send_outbox(engine, now=f.at(MON, "13:50"), settings=f.settings())
    assert sent["cancelled"] == 1 and sent["sent"] == 0
    with Session(engine) as s:
        assert s.exec(select(AbsenceCase)).one().status == "closed"


def test_seen_in_the_morning_after_an_open_case_starts_a_new_episode_at_the_pm_close(engine):
    """Absent Monday, in on Tuesday morning, gone on Tuesday afternoon with no chase between: the
    Tuesday afternoon absence gets its own case and its own first-day text, not a silent extension."""
    school, amelia, _mum = _world(engine)
    with Session(engine, expire_on_commit=False) as s:
        f.mark(s, amelia, MON, "AM", "N")
        _close(s, school, MON, "AM")
        f.mark(s, amelia, TUE, "AM", "/")
        f.mark(s, amelia, TUE, "PM", "N")
        summary = _close(s, school, TUE, "PM")
        s.commit()
        cases = s.exec(select(AbsenceCase).order_by(AbsenceCase.id)).all()
        assert [c.status for c in cases] == ["closed", "open"]
        assert (cases[1].first_date, cases[1].first_session) == (TUE, "PM")
        new_messages = s.exec(select(MessageCase).where(MessageCase.case_id == cases[1].id)).all()
    assert summary["cases_closed_seen"] == 1 and summary["cases_opened"] == 1
    assert len(new_messages) == 1


def test_escalation_counts_a_pm_absence_after_a_present_morning(engine):
    """Escalation's "seen" is per session too: an AM ``/`` on day 3 before a PM ``N`` is not a sighting."""
    school, amelia, _mum = _world(engine)
    with Session(engine, expire_on_commit=False) as s:
        for day in (MON, TUE):
            for name in ("AM", "PM"):
                f.mark(s, amelia, day, name, "N")
                _close(s, school, day, name)
        f.mark(s, amelia, WED, "AM", "/")
        s.commit()
    with Session(engine, expire_on_commit=False) as s:
        row = s.get(type(school), school.id)
        counts = escalation_sweep(s, school=row, now=f.at(WED, "10:00"), settings=f.settings())
        s.commit()
    assert counts["seen"] == 1 and counts["alerts"] == 0  # in on Wednesday morning: seen


def test_seen_after_absence_reads_sessions_in_register_order():
    from bot.cases.service import seen_after_absence

    am, pm = (MON, "AM"), (MON, "PM")
    # Morning present, afternoon N: not seen.
    assert not seen_after_absence([(MON, "AM", "/"), (MON, "PM", "N")], first=pm)
    assert not seen_after_absence([(MON, "AM", "/"), (MON, "PM", "N")], first=am)
    # N in the morning, present in the afternoon: seen.
    assert seen_after_absence([(MON, "AM", "N"), (MON, "PM", "\\")], first=am)
    # U (arrived after close) counts as in school; an authorised code does not.
    assert seen_after_absence([(MON, "AM", "N"), (MON, "PM", "U")], first=am)
    assert not seen_after_absence([(MON, "AM", "N"), (MON, "PM", "I")], first=am)
    # Seen on Tuesday morning, absent again on Tuesday afternoon: seen before the PM session.
    marks = [(MON, "AM", "N"), (MON, "PM", "N"), (TUE, "AM", "/"), (TUE, "PM", "N")]
    assert seen_after_absence(marks, first=am, before=(TUE, "PM"))
    assert not seen_after_absence(marks, first=am)  # ...but not after Tuesday afternoon's N
    # Every N recoded (no N or O left): a present mark in the episode is the sighting.
    assert seen_after_absence([(MON, "AM", "L")], first=am)
    assert seen_after_absence([(MON, "AM", "V")], first=am)  # on a trip: accounted for
    assert not seen_after_absence([(MON, "AM", "I")], first=am)
