"""What families already told us (issue 15): notices at register close, reasons that cover the whole
absence, the follow-up when a child is still away, and discrepancies. Both databases, fixed times."""

from datetime import date

import pytest
from sqlmodel import Session, select

from bot import templates
from bot.actors import Actor
from bot.calendar import load_calendar
from bot.commands.acting import act
from bot.escalation.service import sweep
from bot.firstday.messages import compose
from bot.firstday.service import chase, register_close
from bot.messaging.segments import encoding, segments
from bot.policy import policy_for
from bot.replies.service import receive_sms
from storage.models import AbsenceCase, AbsenceNotice, Alert, Mark, MarkAmendment, OutboxMessage
from tests import factories as f

MON, TUE, WED, THU = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)
MOBILE = "+447700900123"
_sid = iter(range(1, 10_000))


def close(session: Session, school, day: date, name: str = "AM"):
    summary = register_close(
        session,
        school=school,
        session_name=name,
        settings=f.settings(),
        now=f.at(day, "09:15" if name == "AM" else "13:45"),
    )
    session.commit()
    return summary


def text(session: Session, body: str, at, *, mobile: str = MOBILE):
    outcome = receive_sms(
        session,
        settings=f.settings(),
        message_sid=f"SM{next(_sid):032d}",
        from_number=mobile,
        body=body,
        now=at,
    )
    session.commit()
    return outcome


def family_messages(session: Session, *kinds: str) -> list[OutboxMessage]:
    rows = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [m for m in rows if not kinds or m.kind in kinds]


def amelia(session: Session, *, siblings=()):
    school = f.school(session, name="Oakfield Primary")
    pupil = f.pupil(session, school, first="Amelia", last="Khan")
    others = [f.pupil(session, school, first=n, last="Khan") for n in siblings]
    mum = f.contact(session, school, pupil, *others, first="Sara", last="Khan", mobile=MOBILE)
    officer = f.staff(session, school, name="Jo Patel", role="attendance_officer")
    session.commit()
    return school, pupil, mum, officer, others


def test_a_text_before_close_means_no_no_reason_text_and_staff_see_the_notice(session):
    school, pupil, _mum, officer, _ = amelia(session)
    outcome = text(session, "Amelia's got a temperature, keeping her off today", f.at(MON, "08:10"))
    (thanks,) = family_messages(session)
    assert thanks.kind == "thanks" and "Amelia" in thanks.body and outcome.notice_ids

    f.mark(session, pupil, MON, "AM", "N")
    summary = close(session, school, MON)

    assert summary["covered_by_notice"] == 1 and summary["messages_queued"] == 0
    assert [m.kind for m in family_messages(session)] == ["thanks"]  # no "we have no reason"
    case = session.exec(select(AbsenceCase)).one()
    assert case.status == "explained" and case.explained_by == "notice" and case.suggested_code == "I"
    (alert,) = session.exec(select(Alert).where(Alert.kind == "notice")).all()
    assert alert.case_id == case.id and alert.data["actions"] == ["accept_code", "pick_code"]
    assert "reported by parent: illness (I)" in alert.title and "temperature" in alert.body

    # Nobody is chased and nothing escalates on a reported absence.
    assert (
        chase(session, school=school, now=f.at(MON, "11:00"), slot="11:00", settings=f.settings())[
            "messages_queued"
        ]
        == 0
    )
    counts = sweep(
        session,
        school=school,
        policy=policy_for(session, school.id),
        cal=load_calendar(session, school.id),
        now=f.at(MON, "11:00"),
    )
    assert counts["cases"] == 0 and counts["alerts"] == 0

    # Staff accept: the N is recoded through the audited path, naming them; the afternoon's N of the
    # same notice gets the same decision at PM close, still audited with their name.
    act(session, alert_id=alert.id, action="accept_code", actor=Actor.of(officer), now=f.at(MON, "09:40"))
    session.commit()
    f.mark(session, pupil, MON, "PM", "N")
    pm = close(session, school, MON, "PM")
    assert pm["covered_by_notice"] == 1 and pm["recoded_by_notice"] == 1 and pm["messages_queued"] == 0
    amendments = session.exec(select(MarkAmendment).order_by(MarkAmendment.session)).all()
    assert [(a.session, a.original_code, a.amended_code, a.amended_by_name) for a in amendments] == [
        ("AM", "N", "I", "Jo Patel"),
        ("PM", "N", "I", "Jo Patel"),
    ]
    assert "accepted by Jo Patel" in amendments[1].reason
    assert len(session.exec(select(AbsenceCase)).all()) == 1  # one absence, one case


@pytest.mark.parametrize("when", ["before the register", "replying to the first-day text"])
def test_off_till_wednesday_on_monday_covers_monday_pm_and_tuesday_then_a_follow_up(session, when):
    school, pupil, _mum, _officer, _ = amelia(session)
    if when == "before the register":
        text(session, "She's off till Wednesday", f.at(MON, "07:55"))
        f.mark(session, pupil, MON, "AM", "N")
        first = close(session, school, MON)
        assert first["covered_by_notice"] == 1 and first["messages_queued"] == 0
    else:
        f.mark(session, pupil, MON, "AM", "N")
        first = close(session, school, MON)
        assert first["messages_queued"] == 1  # the first-day text: nobody had told us yet
        text(session, "She's off till Wednesday", f.at(MON, "10:05"))
    case = session.exec(select(AbsenceCase)).one()
    assert case.status == "explained" and case.return_date == WED

    sent_before = len(family_messages(session))
    for day, name in ((MON, "PM"), (TUE, "AM"), (TUE, "PM")):
        f.mark(session, pupil, day, name, "N")
        summary = close(session, school, day, name)
        assert summary["covered_by_notice"] == 1 and summary["messages_queued"] == 0, (day, name)
        assert summary["cases_opened"] == 0
        assert (
            chase(session, school=school, now=f.at(day, "14:30"), slot="14:30", settings=f.settings())[
                "messages_queued"
            ]
            == 0
        )
    assert len(family_messages(session)) == sent_before  # nothing sent Monday PM or Tuesday
    assert session.exec(select(AbsenceCase)).one().last_absent_date == TUE

    f.mark(session, pupil, WED, "AM", "N")
    wed = close(session, school, WED)
    assert wed["covered_by_notice"] == 0 and wed["expected_back"] == 1 and wed["messages_queued"] == 1
    (follow_up,) = family_messages(session, "expected_back")
    assert follow_up.body.startswith("Oakfield Primary: we expected Amelia back at school today")
    assert "no reason" not in follow_up.body
    assert len(session.exec(select(AbsenceCase).where(AbsenceCase.status == "open")).all()) == 1


def test_a_reason_with_no_day_back_covers_the_day_then_the_family_is_asked_how_things_are(session):
    school, pupil, _mum, _officer, _ = amelia(session)
    f.mark(session, pupil, MON, "AM", "N")
    close(session, school, MON)
    text(session, "Sorry, she has a bad cold", f.at(MON, "09:40"))
    f.mark(session, pupil, MON, "PM", "N")
    assert close(session, school, MON, "PM")["messages_queued"] == 0
    f.mark(session, pupil, TUE, "AM", "N")
    tue = close(session, school, TUE)
    assert tue["messages_queued"] == 1
    (message,) = family_messages(session, "still_absent")
    assert "Amelia is still not in school today" in message.body


def test_still_poorly_next_morning_extends_the_same_absence(session):
    school, pupil, _mum, _officer, _ = amelia(session)
    f.mark(session, pupil, MON, "AM", "N")
    close(session, school, MON)
    text(session, "She has a bad cold", f.at(MON, "09:40"))
    text(session, "Still poorly today, sorry", f.at(TUE, "07:50"))
    f.mark(session, pupil, TUE, "AM", "N")
    tue = close(session, school, TUE)
    assert tue["covered_by_notice"] == 1 and tue["messages_queued"] == 0 and tue["cases_opened"] == 0
    (case,) = session.exec(select(AbsenceCase)).all()
    assert case.last_absent_date == TUE and case.status == "explained"


def test_a_notice_for_a_child_marked_present_is_listed_and_stops_covering(session):
    school, pupil, _mum, _officer, _ = amelia(session)
    text(session, "Amelia is ill, she won't be in till Thursday", f.at(MON, "07:45"))
    f.mark(session, pupil, MON, "AM", "/")
    summary = close(session, school, MON)
    assert summary["notice_discrepancies"] == 1
    (alert,) = session.exec(select(Alert).where(Alert.kind == "notice_discrepancy")).all()
    assert alert.audience == "attendance" and "marked present" in alert.title and "Amelia" in alert.title
    notice = session.exec(select(AbsenceNotice)).one()
    assert notice.status == "withdrawn"
    # Per session: an afternoon N after a morning / is a new absence, messaged at once.
    f.mark(session, pupil, MON, "PM", "N")
    pm = close(session, school, MON, "PM")
    assert pm["covered_by_notice"] == 0 and pm["messages_queued"] == 1
    assert [m.kind for m in family_messages(session)][-1] == "first_day"
    # Re-running the close changes nothing and raises nothing twice.
    assert close(session, school, MON)["notice_discrepancies"] == 0


def test_a_notice_naming_a_child_not_on_roll_is_listed(session):
    school, pupil, _mum, _officer, (leo,) = amelia(session, siblings=("Leo",))
    leo.on_roll = False
    session.add(leo)
    session.commit()
    text(session, "Leo is poorly today", f.at(MON, "08:00"))
    (alert,) = session.exec(select(Alert).where(Alert.kind == "notice_discrepancy")).all()
    assert "not on roll" in alert.title and "Leo" in alert.title
    (notice,) = session.exec(select(AbsenceNotice)).all()
    assert notice.pupil_id == leo.id  # kept as the family wrote it; Amelia is not covered by it
    f.mark(session, pupil, MON, "AM", "N")
    assert close(session, school, MON)["messages_queued"] == 1


def test_a_text_naming_no_child_covers_the_siblings_but_a_present_one_is_no_discrepancy(session):
    school, pupil, _mum, _officer, (leo,) = amelia(session, siblings=("Leo",))
    text(session, "Sick today, sorry", f.at(MON, "08:00"))
    notices = session.exec(select(AbsenceNotice)).all()
    assert len(notices) == 2 and not any(n.child_named for n in notices)
    f.mark(session, pupil, MON, "AM", "N")
    f.mark(session, leo, MON, "AM", "/")
    summary = close(session, school, MON)
    assert summary["covered_by_notice"] == 1 and summary["messages_queued"] == 0
    assert summary["notice_discrepancies"] == 0
    (alert,) = session.exec(select(Alert).where(Alert.kind == "notice")).all()
    assert alert.pupil_id == pupil.id and "did not say which child" in alert.body


def test_dentist_tomorrow_covers_tomorrow_not_today(session):
    school, pupil, _mum, _officer, _ = amelia(session)
    text(session, "Amelia has a dentist appointment tomorrow", f.at(MON, "18:30"))
    f.mark(session, pupil, TUE, "AM", "N")
    assert close(session, school, TUE)["covered_by_notice"] == 1
    f.mark(session, pupil, WED, "AM", "N")
    wed = close(session, school, WED)
    assert wed["covered_by_notice"] == 0 and wed["messages_queued"] == 1


def test_a_newer_notice_shortens_an_older_one(session):
    school, pupil, _mum, _officer, _ = amelia(session)
    text(session, "Amelia has flu, back next Monday", f.at(MON, "08:00"))
    text(session, "She's much better, back on Wednesday", f.at(TUE, "17:00"))
    notices = session.exec(select(AbsenceNotice).order_by(AbsenceNotice.id)).all()
    assert len(notices) == 2
    f.mark(session, pupil, WED, "AM", "N")
    wed = close(session, school, WED)
    assert wed["covered_by_notice"] == 0 and wed["expected_back"] == 1


def test_register_close_twice_queues_and_raises_nothing_more(session):
    school, pupil, _mum, _officer, _ = amelia(session)
    text(session, "Amelia is ill today", f.at(MON, "08:00"))
    f.mark(session, pupil, MON, "AM", "N")
    close(session, school, MON)
    again = close(session, school, MON)
    assert again["notice_alerts"] == 0 and again["messages_queued"] == 0
    assert len(session.exec(select(Alert).where(Alert.kind == "notice")).all()) == 1
    assert len(session.exec(select(AbsenceCase)).all()) == 1
    assert session.exec(select(Mark)).one().code == "N"  # nothing recoded without staff


def test_morning_digest_counts_n_marks_notices_messages_and_registers_not_taken(session):
    from bot.jobs import JOBS
    from bot.notices.digest import morning_digest

    school, pupil, _mum, _officer, (leo,) = amelia(session, siblings=("Leo",))
    ben = f.pupil(session, school, first="Ben", last="Ito", class_name="5C")
    f.contact(session, school, ben, first="Kim", mobile="+447700900777")
    f.pupil(session, school, first="Cat", last="Day", class_name="6D")  # 6D has no register this morning
    session.commit()
    text(session, "Amelia is ill today", f.at(MON, "08:00"))
    f.mark(session, pupil, MON, "AM", "N")
    f.mark(session, leo, MON, "AM", "/")
    f.mark(session, ben, MON, "AM", "N")
    close(session, school, MON)
    summary = morning_digest(session, school=school, now=f.at(MON, "09:45"), settings=f.settings())
    assert (
        summary["n_marks"],
        summary["explained_by_notices"],
        summary["messaged"],
        summary["registers_not_taken"],
        summary["posted"],
    ) == (2, 1, 1, 1, 1)
    (post,) = session.exec(select(Alert).where(Alert.kind == "morning_digest")).all()
    assert post.audience == "attendance" and "Registers not taken: 1 (6D)" in post.body
    assert "Explained by the family before or at register close: 1" in post.body
    again = morning_digest(session, school=school, now=f.at(MON, "09:46"), settings=f.settings())
    assert again["posted"] == 0
    assert "morning-digest" in JOBS and JOBS["morning-digest"].per_school


def test_the_clock_runs_the_digest_after_am_close_and_the_links_at_term_start(session):
    from datetime import time

    from scheduler.schedule import school_slots

    school, *_ = amelia(session)
    slots = {s.job: s for s in school_slots(session, school)}
    assert slots["morning-digest"].at == time(9, 45)  # AM close 09:15 + 30 minutes
    assert slots["report-links"].at == time(7, 30)


def test_a_text_with_nothing_open_still_raises_a_missing_child_or_a_concern_at_once(session):
    school, pupil, _mum, _officer, _ = amelia(session)
    outcome = text(
        session, "She left for school at 8 and her friend says she isn't there??", f.at(MON, "09:05")
    )
    assert outcome.notice_ids == []  # a child who may be missing is never "reported absent"
    missing = session.exec(select(Alert).where(Alert.kind == "missing_child")).all()
    assert sorted(a.audience for a in missing) == ["dsl", "pastoral"]
    assert all(a.severity == "urgent" and a.pupil_id == pupil.id for a in missing)

    worried = text(
        session,
        "Amelia is off sick today, she's been very low and says she's being bullied",
        f.at(TUE, "08:00"),
    )
    assert worried.concern and worried.notice_ids
    (welfare,) = [session.get(Alert, i) for i in worried.alert_ids]
    assert welfare.kind == "welfare_concern" and welfare.audience == "dsl" and welfare.pupil_id == pupil.id


FOLLOW_UPS = ("expected_back", "still_absent", "report_link")
LINK = "https://attendance.oakfield.example/n/12345-AbCdEfGhIjKlMnOp"


@pytest.mark.parametrize("channel", ["sms", "email"])
@pytest.mark.parametrize("lang", templates.LANGUAGES)
def test_follow_ups_speak_every_language_of_the_first_day_message(channel, lang):
    """Each follow-up (and the report line under a first message) is in the family's language: a
    catalog that silently fell back to English would give the English words."""
    for kind in FOLLOW_UPS:
        for names in (["Ada"], ["Ada", "Bo"]):
            composed = compose(
                channel=channel, kind=kind, language=lang, first_names=names, school="Oak", link=LINK
            )
            english = compose(
                channel=channel, kind=kind, language="en", first_names=names, school="Oak", link=LINK
            )
            assert composed.language == lang and "Oak" in composed.body and "Ada" in composed.body
            assert (LINK in composed.body) == (channel == "email" or kind == "report_link")
            assert (composed.body == english.body) == (lang == "en"), (channel, kind, lang)
            assert "%(" not in composed.body and "{" not in composed.body
            if channel == "email":
                assert "Oak" in composed.subject and (composed.subject == english.subject) == (lang == "en")
    line, used = templates.render_family(channel, "report_line", lang, link=LINK)
    assert used == lang and LINK in line
    assert (line == templates.render_family(channel, "report_line", "en", link=LINK)[0]) == (lang == "en")


@pytest.mark.parametrize("kind", FOLLOW_UPS)
@pytest.mark.parametrize("lang", templates.LANGUAGES)
def test_new_family_texts_fit_two_segments_with_long_names_and_carry_no_code(kind, lang):
    """Every language, the longest names: two segments at most. The start-of-term text keeps the
    school and the link always; where the names do not fit with them (a non-Latin script is UCS-2:
    67 characters a part) its short wording leaves the names out."""
    long_school, long_names = "St Bartholomew's CofE Primary", ["Maximilian-Alexander", "Anastasia"]
    for names in (long_names[:1], long_names):
        body = compose(
            channel="sms", kind=kind, language=lang, first_names=names, school=long_school, link=LINK
        ).body
        assert segments(body) <= 2, (kind, lang, len(body), body)
        assert long_school in body
        if kind == "report_link":
            assert LINK in body
            assert all(n in body for n in names) or encoding(body) == "UCS-2", (lang, body)
        else:
            assert all(n in body for n in names), (kind, lang, body)
        assert " I " not in body and "(I)" not in body
    # With everyday names and a short school's name the start-of-term text names the children.
    short = compose(
        channel="sms", kind=kind, language=lang, first_names=["Amy", "Leo"], school="Oakfield", link=LINK
    ).body
    assert "Amy" in short and "Leo" in short and segments(short) <= 2, (lang, short)


def test_the_report_line_joins_a_text_only_when_it_still_fits():
    link = LINK
    short = compose(
        channel="sms",
        kind="first_day",
        language="en",
        first_names=["Amy"],
        school="Oakfield",
        report_link=link,
    )
    assert short.body.endswith(f"Report future absences: {link}") and segments(short.body) == 2
    polish = compose(
        channel="sms",
        kind="first_day",
        language="pl",
        first_names=["Zofia"],
        school="Oakfield",
        report_link=link,
    )
    assert link not in polish.body and segments(polish.body) <= 2  # UCS-2: a link would need a third
