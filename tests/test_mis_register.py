"""The live register from the Wonde stand-in: register taken at 09:05, close at 09:15, a class taken
late at 09:40 (its families messaged then, not before), a class never taken (one alert), a whole
register missing (register close says so; one alert), MIS changes after close, and the MIS winning
over a mark the bot amended (issue 13 item 6). Time is driven by ``now``; nothing waits."""

from datetime import date

import pytest
from sqlmodel import Session, select

from bot.actors import SYSTEM
from bot.jobs import run_job
from bot.mis import marks
from bot.mis.sync import sync_school
from bot.register.service import recode
from storage.models import (
    AbsenceCase,
    Alert,
    CaseEvent,
    Mark,
    MarkAmendment,
    MessageCase,
    MisWriteback,
    OutboxMessage,
    Pupil,
)
from tests import factories as f
from tests.peers.fixtures import wonde  # noqa: F401
from tests.peers.wonde_api import populate

MONDAY = date(2026, 11, 23)


def at(hh_mm: str):
    return f.at(MONDAY, hh_mm)


@pytest.fixture
def linked(engine, wonde):
    """A school of 42 pupils in 14 registration groups (3 each), synced from Wonde at 02:30."""
    ids = populate(wonde, "W1", pupils=42)
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s, urn="100001", wonde_id="W1", mis_writeback=True)
        s.commit()
    settings = f.mis_settings(wonde)
    sync_school(engine, school=school, settings=settings, now=at("02:30"))
    groups = {}
    for sid in ids:
        student = wonde.schools["W1"].students[sid]
        group = next(g["name"] for g in student["_groups"] if g["type"] == "REGISTRATION")
        groups.setdefault(group, []).append(sid)
    return school, settings, groups


def job(name, engine, settings, school, now, **opts):
    [(_, summary)] = run_job(name, engine, settings, now=now, schools=[school], **opts)
    return summary


def pupil_of(session, wonde_id) -> Pupil:
    return session.exec(select(Pupil).where(Pupil.wonde_id == wonde_id)).one()


def messages_about(session, wonde_id) -> list[OutboxMessage]:
    pupil = pupil_of(session, wonde_id)
    return session.exec(
        select(OutboxMessage)
        .join(MessageCase, MessageCase.message_id == OutboxMessage.id)
        .join(AbsenceCase, AbsenceCase.id == MessageCase.case_id)
        .where(AbsenceCase.pupil_id == pupil.id)
    ).all()


def test_a_morning_register_close_on_the_live_register_and_a_class_taken_late(engine, wonde, linked):
    school, settings, groups = linked
    late_class = groups.pop("4 Birch")
    absent = [groups["2 Oak"][0], groups["R Birch"][1]]
    wonde.now = at("09:05")
    for members in groups.values():
        wonde.take_register("W1", MONDAY, "AM", {sid: "N" if sid in absent else "/" for sid in members})

    assert marks.poll(engine, settings=settings, now=at("09:05")).skipped == "no register window is open"
    read = marks.poll(engine, settings=settings, now=at("09:10"))
    assert read["schools_read"] == 1 and read["marks_new"] == 39

    closed = job("register-close", engine, settings, school, at("09:15"), session_name="AM")
    assert (closed["n_marks"], closed["cases_opened"], closed["messages_queued"]) == (2, 2, 2)
    assert "warning" not in closed.details and "mis" not in closed.details

    check = job("registers-missing", engine, settings, school, at("09:30"), session_name="AM")
    assert (check["classes_missing"], check["alerts"]) == (1, 1)
    assert job("registers-missing", engine, settings, school, at("09:31"), session_name="AM")["alerts"] == 0
    with Session(engine) as s:
        [alert] = s.exec(select(Alert).where(Alert.kind == "register_missing")).all()
        assert alert.title == "Register not taken: 4 Birch, AM" and alert.audience == "attendance"
        assert messages_about(s, late_class[0]) == []

    # 4 Birch's register is taken at 09:40: its absent pupil's family is messaged then.
    wonde.now = at("09:40")
    wonde.take_register("W1", MONDAY, "AM", {late_class[0]: "N", late_class[1]: "/", late_class[2]: "L"})
    late = marks.poll(engine, settings=settings, now=at("09:40"))
    assert (late["marks_new"], late["late_cases_opened"], late["messages_queued"]) == (3, 1, 1)
    with Session(engine) as s:
        [message] = messages_about(s, late_class[0])
        assert message.created_at == at("09:40") and message.kind == "first_day"
        # Nothing more at the next read: the same marks, already taken.
    again = marks.poll(engine, settings=settings, now=at("09:41"))
    assert again.get("late_cases_opened") == 0 and again["marks_new"] == 0


def test_a_register_nobody_took_is_said_by_register_close_and_alerted_once(engine, wonde, linked):
    school, settings, _groups = linked
    closed = job("register-close", engine, settings, school, at("09:15"), session_name="AM")
    assert closed["n_marks"] == 0 and "no marks at all for the AM register" in closed.details["warning"]
    assert "no marks at all" in str(closed)
    first = job("registers-missing", engine, settings, school, at("09:30"), session_name="AM")
    second = job("registers-missing", engine, settings, school, at("09:35"), session_name="AM")
    assert (first["classes_missing"], first["alerts"], second["alerts"]) == (14, 1, 0)
    with Session(engine) as s:
        [alert] = s.exec(select(Alert).where(Alert.kind == "register_missing")).all()
        assert alert.title == "No AM register today: no class has marks" and alert.severity == "high"


def test_without_wonde_a_missing_register_is_said_too(engine):
    with Session(engine, expire_on_commit=False) as s:
        school = f.school(s)
        for name in ("4B", "5A"):
            f.pupil(s, school, class_name=name)
        p = f.pupil(s, school, class_name="6C")
        f.mark(s, p, MONDAY, "AM", "/")
        s.commit()
    settings = f.settings()
    taken = job("register-close", engine, settings, school, at("09:15"), session_name="AM")
    assert "warning" not in taken.details  # one class has marks: not "no register"
    check = job("registers-missing", engine, settings, school, at("09:30"), session_name="AM")
    assert (check["classes_missing"], check["alerts"]) == (2, 2)
    pm = job("register-close", engine, settings, school, at("13:45"), session_name="PM")
    assert "no marks at all for the PM register" in pm.details["warning"]
    pm_check = job("registers-missing", engine, settings, school, at("14:00"), session_name="PM")
    assert pm_check["alerts"] == 1
    with Session(engine) as s:
        titles = sorted(a.title for a in s.exec(select(Alert)).all())
    assert titles == [
        "No PM register today: no class has marks",
        "Register not taken: 4B, AM",
        "Register not taken: 5A, AM",
    ]


def test_a_mark_changed_in_the_mis_after_close_settles_the_case(engine, wonde, linked):
    """As a CSV re-import does: N -> trip code or late arrival closes the case, N -> M explains it."""
    school, settings, groups = linked
    tripper, seen_later, at_dentist = groups["3 Birch"]
    wonde.now = at("09:05")
    wonde.take_register("W1", MONDAY, "AM", {tripper: "N", seen_later: "N", at_dentist: "N"})
    job("register-close", engine, settings, school, at("09:15"), session_name="AM")
    wonde.now = at("09:58")
    wonde.set_mark("W1", tripper, MONDAY, "AM", "V")  # the trip list was late
    wonde.set_mark("W1", seen_later, MONDAY, "AM", "U", minutes_late=40)  # arrived after close
    wonde.set_mark("W1", at_dentist, MONDAY, "AM", "M")  # the appointment card was at the office
    read = marks.poll(engine, settings=settings, now=at("10:00"))
    assert read["marks_changed"] == 3 and read["cases_settled_by_mis"] == 3
    with Session(engine) as s:
        cases = {c.pupil_id: c for c in s.exec(select(AbsenceCase)).all()}
        assert cases[pupil_of(s, tripper).id].closed_reason == "marked present"
        assert cases[pupil_of(s, seen_later).id].status == "closed"
        dentist = cases[pupil_of(s, at_dentist).id]
        assert (dentist.status, dentist.explained_by, dentist.suggested_code) == ("explained", "mark", "M")


def test_the_mis_wins_over_a_mark_the_bot_amended(engine, wonde, linked):
    """Issue 13 item 6: a later MIS change of a bot-amended mark wins, is audited with its source,
    is shown to staff, and no threshold is computed on the O the MIS no longer shows."""
    school, settings, groups = linked
    sid = groups["5 Oak"][0]
    wonde.now = at("09:05")
    wonde.take_register("W1", MONDAY, "AM", {sid: "N"})
    job("register-close", engine, settings, school, at("09:15"), session_name="AM")
    with Session(engine, expire_on_commit=False) as s:
        pupil = pupil_of(s, sid)
        recode(
            s,
            school_id=school.id,
            pupil_id=pupil.id,
            day=MONDAY,
            sessions=["AM"],
            new_code="O",
            reason="No reason within 5 school days",
            actor=SYSTEM,
            now=at("09:20"),
        )
        s.commit()
    # Before the O is written back, the office records the doctor's note in the MIS.
    wonde.now = at("09:50")
    wonde.set_mark("W1", sid, MONDAY, "AM", "I")
    read = marks.poll(engine, settings=settings, now=at("09:51"))
    assert read["mis_overrode_amendments"] == 1
    with Session(engine) as s:
        mark = s.exec(select(Mark).where(Mark.pupil_id == pupil.id)).one()
        assert (mark.code, mark.source, mark.mis_code) == ("I", "mis", "I")
        audit = s.exec(
            select(MarkAmendment).where(MarkAmendment.mark_id == mark.id).order_by(MarkAmendment.id)
        ).all()
        assert [(a.original_code, a.amended_code, a.source) for a in audit] == [
            ("N", "O", "bot"),
            ("O", "I", "mis"),
        ]
        [wb] = s.exec(select(MisWriteback)).all()
        assert wb.status == "conflict"  # the O is never sent over the MIS's I
        [alert] = s.exec(select(Alert).where(Alert.kind == "mis_changed_mark")).all()
        assert "is now I" in alert.title and "was not written back" in alert.body
        timeline = [e.summary for e in s.exec(select(CaseEvent).where(CaseEvent.pupil_id == pupil.id)).all()]
        assert any("O → I" in line for line in timeline)
    assert wonde.mark("W1", sid, MONDAY, "AM") == "I"
    assert not [r for r in wonde.posted()]


def test_with_the_mis_down_register_close_acts_on_the_register_as_last_read_and_says_so(
    engine, wonde, linked
):
    school, settings, groups = linked
    absent = groups["6 Oak"][0]
    wonde.now = at("09:05")
    wonde.take_register(
        "W1",
        MONDAY,
        "AM",
        {sid: "N" if sid == absent else "/" for members in groups.values() for sid in members},
    )
    marks.poll(engine, settings=settings, now=at("09:10"))
    wonde.mode = "down"
    closed = job("register-close", engine, settings, school, at("09:15"), session_name="AM")
    assert closed["cases_opened"] == 1 and closed["messages_queued"] == 1
    assert "the MIS could not be read" in closed.details["mis"]
    assert "as last read at 09:10" in closed.details["mis"]
    # A school whose register never arrived, with the MIS down: the alert says the MIS may be why.
    with Session(engine, expire_on_commit=False) as s:
        other = f.school(s, urn="100009", wonde_id="W9")
        f.pupil(s, other, class_name="2B")
        s.commit()
    wonde.school("W9")
    marks.poll(engine, settings=settings, now=at("09:12"))  # fails: recorded
    check = job("registers-missing", engine, settings, other, at("09:30"), session_name="AM")
    assert check["alerts"] == 1
    with Session(engine) as s:
        alert = s.exec(select(Alert).where(Alert.school_id == other.id)).one()
        assert "cannot reach the MIS since 09:12" in alert.body


def test_a_pupil_admitted_since_last_nights_sync_is_not_skipped(engine, wonde, linked):
    school, settings, groups = linked
    wonde.now = at("08:00")  # the office adds a new pupil in the MIS this morning
    template = dict(wonde.schools["W1"].students[groups["2 Birch"][0]])
    wonde.put_student(
        "W1",
        {
            **{k: v for k, v in template.items() if k != "_contacts"},
            "id": "NEW1",
            "mis_id": "9999",
            "upn": None,
            "forename": "Nia",
            "legal_forename": "Nia",
        },
        contacts=[
            (
                {
                    "id": "NEWC1",
                    "forename": "Dee",
                    "surname": "Jones",
                    "_details": {"phones": {"mobile": "07700 900777"}},
                },
                {"relationship": "Mother", "priority": 1, "parental_responsibility": True},
            )
        ],
    )
    wonde.now = at("09:05")
    wonde.take_register("W1", MONDAY, "AM", {"NEW1": "N", groups["2 Birch"][0]: "/"})
    read = marks.poll(engine, settings=settings, now=at("09:10"))
    assert read["marks_new"] == 2 and read["unknown_pupils"] == 0
    closed = job("register-close", engine, settings, school, at("09:15"), session_name="AM")
    assert closed["cases_opened"] == 1 and closed["messages_queued"] == 1
    with Session(engine) as s:
        assert pupil_of(s, "NEW1").first_name == "Nia"


def test_a_child_marked_present_the_next_morning_stops_being_chased_at_once(engine, wonde, linked):
    school, settings, groups = linked
    sid = groups["1 Oak"][0]
    friday = date(2026, 11, 20)
    wonde.now = f.at(friday, "09:05")
    wonde.take_register("W1", friday, "AM", {sid: "N"})
    job("register-close", engine, settings, school, f.at(friday, "09:15"), session_name="AM")
    wonde.now = at("08:55")
    wonde.take_register("W1", MONDAY, "AM", {sid: "/"})
    read = marks.poll(engine, settings=settings, now=at("09:10"))
    assert read["cases_settled_by_mis"] == 1
    with Session(engine) as s:
        case = s.exec(select(AbsenceCase)).one()
        assert (case.status, case.closed_reason) == ("closed", "marked present")
