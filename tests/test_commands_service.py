"""The shared command core against a real database (SQLite and PostgreSQL): who may do what, finding
pupils, each command's result and every error path. Nothing is mocked but the one crash test."""

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.alerts.service import raise_alert
from bot.chat import blocks, plain
from bot.commands import Who, results, run_as, run_command
from bot.commands import service as command_service
from bot.policy import policy_for
from storage.models import (
    AbsenceCase,
    CallLog,
    CaseEvent,
    InboundMessage,
    Mark,
    MarkAmendment,
    MessageCase,
    OutboxMessage,
    Pupil,
    ReplyCase,
    School,
    Staff,
)
from tests import factories as f

DAY = date(2026, 9, 16)  # Wednesday; the episode below began on Monday 14th
MONDAY = date(2026, 9, 14)
NOW = f.at(DAY, "09:20")  # when staff type the commands below


@dataclass
class World:
    school: School
    other: School
    officer: Staff
    teacher: Staff
    pastoral: Staff
    dsl: Staff
    amelia: Pupil
    zara: Pupil
    adam: Pupil
    ben: Pupil
    carl: Pupil
    case: AbsenceCase


def _case(session: Session, p: Pupil, first: date) -> AbsenceCase:
    c = AbsenceCase(
        school_id=p.school_id,
        pupil_id=p.id,
        first_date=first,
        first_session="AM",
        last_absent_date=DAY,
        opened_at=f.at(first, "09:15"),
    )
    session.add(c)
    session.flush()
    return c


def _message(session: Session, case: AbsenceCase, status: str, n: int) -> OutboxMessage:
    m = OutboxMessage(
        school_id=case.school_id,
        idempotency_key=f"t:{case.id}:{n}",
        kind="first_day",
        channel="sms",
        to_address="+447700900001",
        body="Hello",
        status=status,
        created_at=NOW,
        updated_at=NOW,
        next_attempt_at=NOW,
    )
    session.add(m)
    session.flush()
    session.add(MessageCase(message_id=m.id, case_id=case.id))
    return m


@pytest.fixture
def world(session: Session) -> World:
    school = f.school(session, slack_team_id="T0SCHOOL")
    policy = policy_for(session, school.id)
    policy.priority_year_groups = [6]
    session.add(policy)
    other = f.school(session, name="Elm Academy", slack_team_id="T0OTHER")
    officer = f.staff(session, school, name="Jo Patel", role="attendance_officer")
    teacher = f.staff(session, school, name="Sam Reed", role="teacher")
    pastoral = f.staff(session, school, name="Kim Wu", role="pastoral")
    dsl = f.staff(session, school, name="Dee Shah", role="dsl")
    amelia = f.pupil(session, school, first="Amelia", last="Khan", year_group=4, class_name="4B")
    zara = f.pupil(session, school, first="Zara", last="Ahmed", year_group=6, class_name="6A")
    adam = f.pupil(session, school, first="Adam", last="Bell", year_group=6, class_name="6A")
    ben = f.pupil(
        session, school, first="Ben", last="Cole", year_group=2, class_name="2C", has_social_worker=True
    )
    carl = f.pupil(session, school, first="Carl", last="Dent", year_group=3, class_name="3A")
    for d in (MONDAY, date(2026, 9, 15), DAY):
        f.mark(session, amelia, d, "AM", "N")
        f.mark(session, amelia, d, "PM", "N")
    for p in (zara, adam, ben):
        f.mark(session, p, DAY, "AM", "N")
    f.mark(session, carl, DAY, "AM", "/")
    case = _case(session, amelia, MONDAY)
    for p in (zara, adam, ben):
        _case(session, p, DAY)
    _message(session, case, "delivered", 1)
    _message(session, case, "sent", 2)
    _message(session, case, "failed", 3)
    reply = InboundMessage(
        school_id=school.id,
        from_address="+447700900001",
        body="She is poorly",
        received_at=f.at(DAY, "09:05"),
    )
    session.add(reply)
    session.flush()
    session.add(ReplyCase(inbound_id=reply.id, case_id=case.id))
    for outcome in ("no-answer", "voicemail"):
        session.add(
            CallLog(
                school_id=school.id,
                pupil_id=amelia.id,
                case_id=case.id,
                staff_id=officer.id,
                outcome=outcome,
                at=f.at(DAY, "09:10"),
            )
        )
    session.flush()
    return World(school, other, officer, teacher, pastoral, dsl, amelia, zara, adam, ben, carl, case)


def run(session: Session, staff: Staff, text: str) -> results.CommandResult:
    return run_command(session, staff=staff, text=text, now=NOW)


def refused_events(engine) -> list[CaseEvent]:
    with Session(engine) as s:
        return list(s.exec(select(CaseEvent).where(CaseEvent.kind == "refused")).all())


# --------------------------------------------------------------------------------------------------
# /absences
# --------------------------------------------------------------------------------------------------


def test_absences_most_urgent_first_with_state_counts(session, world):
    result = run(session, world.officer, "absences")
    assert result.ok, result.title
    rows = result.data["rows"]
    # Vulnerable first, then the school's priority year (6) by surname, then everyone else.
    assert [r["name"] for r in rows] == ["Ben Cole", "Zara Ahmed", "Adam Bell", "Amelia Khan"]
    amelia = rows[-1]
    assert (amelia["sent"], amelia["delivered"], amelia["failed"]) == (2, 1, 1)
    assert (amelia["replies"], amelia["calls"], amelia["day"]) == (1, 2, 3)
    assert amelia["sessions"] == ["AM", "PM"]
    assert rows[0]["flags"] == ["SW"] and rows[0]["vulnerable"]
    text = plain.command(result)
    assert "Unexplained absences today: 4" in text and "day 3" in text and "calls 2" in text


def test_absences_filters_by_year_and_class(session, world):
    assert [r["name"] for r in run(session, world.officer, "absences year 6").data["rows"]] == [
        "Zara Ahmed",
        "Adam Bell",
    ]
    assert [r["name"] for r in run(session, world.officer, "absences class 4b").data["rows"]] == [
        "Amelia Khan"
    ]
    assert run(session, world.officer, "absences 2026-09-14").data["rows"][0]["name"] == "Amelia Khan"


def test_absences_counts_in_a_fixed_number_of_queries(session, world, engine):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        run(session, world.officer, "absences")
        few = len(statements)
        for i in range(6):
            p = f.pupil(session, world.school, first=f"Extra{i}", last="Pupil")
            f.mark(session, p, DAY, "AM", "N")
            c = _case(session, p, DAY)
            _message(session, c, "delivered", 10 + i)
        session.flush()
        statements.clear()
        assert len(run(session, world.officer, "absences").data["rows"]) == 10
        assert len(statements) == few
    finally:
        event.remove(engine, "before_cursor_execute", count)


@pytest.mark.parametrize(
    "text, why",
    [
        ("absences 2026-09-19", "weekend"),
        ("absences 2026-10-27", "holiday"),
        ("absences 2026-09-02", "INSET"),
    ],
)
def test_absences_on_a_day_without_school(session, world, text, why):
    result = run(session, world.officer, text)
    assert not result.ok and why in result.title and "not a school day" in result.title


# --------------------------------------------------------------------------------------------------
# Who may do what
# --------------------------------------------------------------------------------------------------


def test_unknown_slack_user_is_refused_politely_and_logged(session, world, engine):
    result = run_as(session, who=Who("slack", "U_STRANGER", "T0SCHOOL"), text="absences", now=NOW)
    session.commit()
    assert not result.ok and "don't know you" in result.title
    events = refused_events(engine)
    assert len(events) == 1 and events[0].school_id == world.school.id
    assert events[0].data["user_id"] == "U_STRANGER" and events[0].data["reason"] == "unknown user"


def test_unknown_teams_user_is_refused_and_nothing_changes(session, world, engine):
    result = run_as(session, who=Who("teams", "aad-nobody"), text="recode Amelia Khan I ill", now=NOW)
    session.commit()
    assert not result.ok and "Teams account" in result.title
    with Session(engine) as s:
        assert s.exec(select(MarkAmendment)).all() == []


def test_slack_user_maps_to_staff_in_the_right_workspace(session, world):
    officer = world.officer.slack_user_id
    assert run_as(session, who=Who("slack", officer, "T0SCHOOL"), text="absences", now=NOW).ok
    # The same user id claimed from another school's workspace is not this member of staff.
    result = run_as(session, who=Who("slack", officer, "T0OTHER"), text="absences", now=NOW)
    assert not result.ok and "don't know you" in result.title


def test_teacher_may_not_log_calls(session, world, engine):
    result = run(session, world.teacher, "call Amelia Khan no-answer")
    session.commit()
    assert not result.ok and "teacher" in result.title
    with Session(engine) as s:
        assert len(s.exec(select(CallLog)).all()) == 2  # only the fixture's
    assert [e.data["command"] for e in refused_events(engine)] == ["call"]


def test_staff_cannot_reach_another_schools_pupil(session, world, engine):
    stranger = f.staff(session, world.other, name="Al Other", role="attendance_officer")
    result = run(session, stranger, f"recode #{world.amelia.id} I ill")
    session.commit()
    assert not result.ok and "not in your school" in result.title
    assert refused_events(engine)[0].school_id == world.other.id
    # By name, another school's pupils simply do not exist.
    assert "can't find" in run(session, stranger, "pupil Amelia Khan").title


def test_teacher_may_not_recode_and_nothing_changes(session, world, engine):
    result = run(session, world.teacher, "recode Amelia Khan I today ill")
    session.commit()
    assert not result.ok and "may not change an N mark" in result.title
    with Session(engine) as s:
        assert s.exec(select(MarkAmendment)).all() == []
        assert {m.code for m in s.exec(select(Mark).where(Mark.pupil_id == world.amelia.id)).all()} == {"N"}
    assert refused_events(engine)[0].data["command"] == "recode"


def test_pastoral_may_recode_n_but_not_other_codes(session, world):
    assert run(session, world.pastoral, "recode Zara Ahmed I am ill").ok
    result = run(session, world.pastoral, "recode Zara Ahmed M am dentist after all")
    assert not result.ok and "may not change a I mark" in result.title


# --------------------------------------------------------------------------------------------------
# /recode
# --------------------------------------------------------------------------------------------------


def test_recode_writes_the_audit_and_explains_the_case(session, world, engine):
    for day in ("mon", "tue"):
        assert run(session, world.officer, f"recode Amelia Khan I {day} ill, mum phoned").ok
    result = run(session, world.officer, "recode Amelia Khan I ill, mum phoned")
    session.commit()
    assert result.ok and "AM: N → I" in plain.command(result)
    with Session(engine) as s:
        rows = s.exec(select(MarkAmendment).where(MarkAmendment.pupil_id == world.amelia.id)).all()
        assert len(rows) == 6
        a = rows[-1]
        assert (a.original_code, a.amended_code, a.reason) == ("N", "I", "ill, mum phoned")
        assert (a.amended_by_name, a.amended_by_role, a.staff_id) == (
            "Jo Patel",
            "attendance_officer",
            world.officer.id,
        )
        case = s.get(AbsenceCase, world.case.id)
        assert case.status == "explained" and case.suggested_code == "I"
    assert result.data["case_status"] == "explained"


@pytest.mark.parametrize(
    "text, message",
    [
        ("recode Amelia Khan ZZ because", "not a national attendance code"),
        ("recode Amelia Khan H holiday", "retired"),
        ("recode Amelia Khan I", "reason"),
        ("recode Amelia Khan I 2026-09-19 ill", "weekend"),
        ("recode Amelia Khan I 2026-09-21 ill", "no marks"),
        ("recode Nobody Atall I ill", "can't find a pupil"),
        ("recode Amelia Khan N oops", "N is set when the register closes"),
    ],
)
def test_recode_errors(session, world, engine, text, message):
    result = run(session, world.officer, text)
    session.commit()
    assert not result.ok and message in result.title
    assert "Traceback" not in result.title
    with Session(engine) as s:
        assert s.exec(select(MarkAmendment)).all() == []


# --------------------------------------------------------------------------------------------------
# /call
# --------------------------------------------------------------------------------------------------


def test_call_no_answer_is_logged_and_the_case_stays_open(session, world, engine):
    result = run(session, world.officer, "call Amelia Khan no-answer tried mum's mobile")
    session.commit()
    assert result.ok and "no-answer" in result.title
    with Session(engine) as s:
        call = s.get(CallLog, result.data["call_id"])
        assert (call.outcome, call.note, call.case_id, call.staff_id) == (
            "no-answer",
            "tried mum's mobile",
            world.case.id,
            world.officer.id,
        )
        assert s.get(AbsenceCase, world.case.id).status == "open"
        assert s.exec(select(CaseEvent).where(CaseEvent.kind == "call")).first().data["call_id"] == call.id


def test_call_spoke_with_a_reason_explains_the_case(session, world, engine):
    result = run(session, world.officer, "call Amelia Khan spoke she has a temperature and is off sick")
    session.commit()
    assert result.ok and result.data["explained"]
    with Session(engine) as s:
        case = s.get(AbsenceCase, world.case.id)
        assert (case.status, case.explained_by) == ("explained", "call")
        assert case.suggested_code == "I" and result.data["code"] == "I"
        assert s.get(CallLog, result.data["call_id"]).reason_code == "I"


def test_call_spoke_without_a_reason_is_refused_and_writes_nothing(session, world, engine):
    result = run(session, world.officer, "call Amelia Khan spoke")
    session.commit()
    assert not result.ok and "add what they said" in result.title
    with Session(engine) as s:
        assert len(s.exec(select(CallLog)).all()) == 2


# --------------------------------------------------------------------------------------------------
# Finding pupils
# --------------------------------------------------------------------------------------------------


def test_pupil_by_upn_mis_id_and_close_spelling(session, world):
    for ref in (world.amelia.upn, world.amelia.mis_id, "amelia khan", "Amelai Khan", "amel kh"):
        result = run(session, world.officer, f"pupil {ref}")
        assert result.ok and result.title == "Amelia Khan (Year 4, 4B)", ref


def test_several_matches_offer_choices_that_run_the_command(session, world, engine):
    twin = f.pupil(session, world.school, first="Amelia", last="Kent", year_group=2, class_name="2C")
    f.mark(session, twin, DAY, "AM", "N")
    result = run(session, world.officer, "recode amelia I am ill")
    assert not result.ok and "Several pupils match" in result.title
    labels = {c.label: c.command for c in result.choices}
    assert labels == {
        "Amelia Kent (Year 2, 2C)": f"recode #{twin.id} I am ill",
        "Amelia Khan (Year 4, 4B)": f"recode #{world.amelia.id} I am ill",
    }
    laid_out = blocks.command(result)["blocks"]
    buttons = next(b for b in laid_out if b["type"] == "actions")["elements"]
    assert {b["value"] for b in buttons} == set(labels.values())
    chosen = run(session, world.officer, labels["Amelia Kent (Year 2, 2C)"])
    session.commit()
    assert chosen.ok
    with Session(engine) as s:
        assert [a.pupil_id for a in s.exec(select(MarkAmendment)).all()] == [twin.id]


def test_pupil_timeline_merges_everything(session, world):
    run(session, world.officer, "recode Amelia Khan I mon ill")
    run(session, world.officer, "call Amelia Khan voicemail")
    raise_alert(
        session,
        school_id=world.school.id,
        key="t:dsl",
        kind="welfare",
        title="Welfare worry",
        audience="dsl",
        pupil_id=world.amelia.id,
        case_id=world.case.id,
        now=NOW,
    )
    raise_alert(
        session,
        school_id=world.school.id,
        key="t:past",
        kind="day3",
        title="Home visit requested",
        pupil_id=world.amelia.id,
        case_id=world.case.id,
        now=NOW,
    )
    result = run(session, world.officer, "pupil Amelia Khan")
    kinds = {i["kind"] for i in result.data["items"]}
    assert {"marks", "message", "reply", "call", "alert", "amendment"} <= kinds
    text = plain.command(result)
    assert "Home visit requested" in text and "Welfare worry" not in text  # DSL alerts are the DSL's
    assert "N → I by Jo Patel (attendance officer)" in text
    assert "Welfare worry" in plain.command(run(session, world.dsl, "pupil Amelia Khan"))


# --------------------------------------------------------------------------------------------------
# Alerts and errors
# --------------------------------------------------------------------------------------------------


def test_act_on_an_alert_and_on_another_schools(session, world):
    alert, _ = raise_alert(
        session,
        school_id=world.school.id,
        key="t:a",
        kind="day3",
        title="Home visit",
        pupil_id=world.amelia.id,
        data={"actions": ["acknowledge"]},
        now=NOW,
    )
    result = run(session, world.officer, f"act {alert.id} acknowledge")
    assert result.ok and result.alert_id == alert.id and alert.status == "acted"
    stranger = f.staff(session, world.other, role="attendance_officer")
    assert "another school" in run(session, stranger, f"act {alert.id} acknowledge").title
    assert "no alert" in run(session, world.officer, "act 99999 acknowledge").title


def test_unexpected_failure_gives_a_reference_not_a_trace(session, world, monkeypatch, caplog):
    def broken(*a, **k):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(command_service, "absences", broken)
    result = run(session, world.officer, "absences")
    assert not result.ok and result.error_ref and f"ref {result.error_ref}" in result.title
    assert "fire" not in result.title
    assert result.error_ref in caplog.text


def test_help_needs_nothing(session, world):
    result = run(session, world.teacher, "help")
    assert result.ok and "/recode PUPIL CODE" in plain.command(result)


def test_absences_class_with_spaces_and_unknown_class_is_an_error_not_an_all_clear(session, world):
    """Issue 12, item 6: ``/absences class 4 Birch`` works; ``class Birch`` lists the classes."""
    for p in (world.amelia, world.carl):
        p.class_name = "4 Birch"
        session.add(p)
    session.flush()
    result = run(session, world.officer, "absences class 4 Birch")
    rows = result.data["rows"]
    assert [r["name"] for r in rows] == ["Amelia Khan"] and "class 4 Birch" in result.title
    assert run(session, world.officer, "absences class 4birch").data["rows"] == rows
    result = run(session, world.officer, "absences class Birch")
    assert not result.ok and "no class 'Birch'" in result.title
    assert "Did you mean 4 Birch" in result.title and "Classes: " in result.title
    assert "🎉" not in plain.command(result)
    empty = run(session, world.officer, "absences year 11")
    assert not empty.ok and "no pupils in Year 11" in empty.title
