"""CSV import: every kind on both databases, re-imports without duplicates, all-or-nothing errors."""

import io
from datetime import UTC, date, datetime, time

import pytest
from click.testing import CliRunner
from sqlalchemy import func
from sqlmodel import Session, select

from bot.actors import Actor
from bot.errors import NotFound, UserError
from bot.importing import import_file
from bot.policy import DEFAULT_LADDER
from bot.register.service import recode
from storage.models import (
    Alert,
    CalendarEntry,
    Contact,
    Mark,
    MarkAmendment,
    Pupil,
    PupilContact,
    School,
    SchoolPolicy,
    Staff,
)
from tests import factories


def csv_bytes(text: str, *, bom: bool = False) -> io.BytesIO:
    data = text.lstrip("\n").encode("utf-8")
    return io.BytesIO((b"\xef\xbb\xbf" if bom else b"") + data)


NOW = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)  # when the imports below run


def count(session: Session, model, **where) -> int:
    stmt = select(func.count()).select_from(model)
    for name, value in where.items():
        stmt = stmt.where(getattr(model, name) == value)
    return session.exec(stmt).one()


def run(session, kind, text, urn=None, **kw):
    return import_file(session, kind=kind, path_or_stream=csv_bytes(text, **kw), school_urn=urn, now=NOW)


SCHOOLS = """
urn,name,timezone,local_authority,phone,dsl_email,attendance_lead_email,slack_pastoral_channel,am_close,pm_close,chase_times,priority_year_groups
200001,Elm Tree Primary,,Oakshire,0113 496 0999,DSL@elmtree.example,att@elmtree.example,#elm-pastoral,\
09:00,13:15,10:30;14:00,6;5
200002,Hilltop High,Europe/London,Oakshire,,,,,,,,
"""

PUPILS = """
mis_id,upn,first_name,last_name,preferred_name,year_group,class_name,social_worker,child_protection,looked_after,send_ehcp,young_carer,yot_worker,fsm,social_worker_email
P1,A123456789012,Amelia,Khan,Millie,R,R Willow,Y,N,,,,,1,sw@la.example
P2,,Yusuf,Khan,,3,3 Maple,N,N,N,N,N,N,true,
P3,,Zofia,Wiśniewska,,Year 6,6 Oak,,,,,,,,
"""

CONTACTS = """
mis_id,pupil_mis_id,first_name,last_name,relationship,priority,parental_responsibility,mobile,email,language,sms_opt_out,email_opt_out
C1,P1,Sara,Khan,mother,1,Y,07700 900123,sara@example.com,ur,N,N
C1,P2,Sara,Khan,mother,1,Y,07700 900123,sara@example.com,ur,N,N
C2,P1,Imran,Khan,father,2,Y,(07700) 900-124,,en,N,N
C3,P3,Agnieszka,Wiśniewska,mother,1,,+44 7700 900125,,Polish,Y,N
C4,P3,Piotr,Wiśniewski,father,2,,,piotr@example.com,pl,,
"""

STAFF = """
staff_code,name,role,email,slack_user_id,teams_user_id,active
ATT1,Jo Patel,attendance_officer,jo@elmtree.example,U0ATT1,,Y
HT1,Helen Carter,Headteacher,,U0HT1,t-1,
"""

CALENDAR = """
kind,start_date,end_date,name
term,2026-09-02,2026-10-23,Autumn 1
inset,2026-09-02,2026-09-02,INSET day
holiday,2026-10-26,2026-10-30,Autumn half-term
"""

MARKS = """
pupil_mis_id,date,session,code,minutes_late
P1,2026-09-03,AM,/,
P1,2026-09-03,PM,/,
P2,2026-09-03,AM,L,12
P2,2026-09-03,PM,\\,
P3,04/09/2026,AM,i,
P3,04/09/2026,PM,I,
"""


def test_schools_create_school_and_policy_then_update_without_duplicates(session):
    result = run(session, "schools", SCHOOLS)
    assert result.ok, result.errors
    assert (result.created, result.updated) == (2, 0)
    session.commit()
    elm = session.exec(select(School).where(School.urn == "200001")).one()
    assert elm.timezone == "Europe/London" and elm.phone == "0113 496 0999"
    assert elm.dsl_email == "dsl@elmtree.example"
    policy = session.get(SchoolPolicy, elm.id)
    assert policy.am_close == time(9, 0) and policy.pm_close == time(13, 15)
    assert policy.chase_times == ["10:30", "14:00"] and policy.priority_year_groups == [6, 5]
    assert policy.escalation_ladder == DEFAULT_LADDER
    hill = session.exec(select(School).where(School.urn == "200002")).one()
    assert session.get(SchoolPolicy, hill.id).am_close == time(9, 15)  # the default

    again = run(
        session,
        "schools",
        SCHOOLS.replace("Elm Tree Primary", "Elm Tree Primary School").replace(",09:00,", ",08:55,"),
    )
    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    session.commit()
    assert count(session, School) == 2 and count(session, SchoolPolicy) == 2
    session.refresh(elm)
    assert elm.name == "Elm Tree Primary School"
    assert session.get(SchoolPolicy, elm.id).am_close == time(8, 55)
    assert again.summary() == "schools: 0 created, 1 updated, 1 unchanged"


def test_every_kind_imports_and_reimport_updates_by_id(session):
    school = factories.school(session, urn="300001")
    session.commit()
    for kind, text in (("staff", STAFF), ("pupils", PUPILS), ("contacts", CONTACTS), ("marks", MARKS)):
        result = run(session, kind, text, "300001")
        assert result.ok, (kind, result.errors)
        session.commit()
    assert count(session, Staff, school_id=school.id) == 2
    assert count(session, Pupil, school_id=school.id) == 3
    assert count(session, Contact, school_id=school.id) == 4
    assert count(session, PupilContact, school_id=school.id) == 5
    assert count(session, Mark, school_id=school.id) == 6

    p1 = session.exec(select(Pupil).where(Pupil.mis_id == "P1")).one()
    assert (p1.year_group, p1.preferred_name) == (0, "Millie")
    assert p1.has_social_worker and p1.free_school_meals and not p1.child_protection
    assert session.exec(select(Pupil).where(Pupil.mis_id == "P3")).one().year_group == 6
    sara = session.exec(select(Contact).where(Contact.mis_id == "C1")).one()
    assert (sara.mobile, sara.language, sara.email) == ("+447700900123", "ur", "sara@example.com")
    links = session.exec(select(PupilContact).where(PupilContact.contact_id == sara.id)).all()
    assert len(links) == 2  # one contact shared by two siblings
    agnieszka = session.exec(select(Contact).where(Contact.mis_id == "C3")).one()
    assert (agnieszka.language, agnieszka.sms_opt_out, agnieszka.mobile) == ("pl", True, "+447700900125")
    piotr = session.exec(select(Contact).where(Contact.mis_id == "C4")).one()
    assert piotr.mobile is None and piotr.email == "piotr@example.com"
    head = session.exec(select(Staff).where(Staff.staff_code == "HT1")).one()
    assert head.role == "headteacher" and head.active is True
    p2 = session.exec(select(Pupil).where(Pupil.mis_id == "P2")).one()
    late = session.exec(select(Mark).where(Mark.pupil_id == p2.id, Mark.session == "AM")).one()
    assert (late.code, late.minutes_late, late.source) == ("L", 12, "import")
    pm = session.exec(select(Mark).where(Mark.pupil_id == p1.id, Mark.session == "PM")).one()
    assert pm.code == "\\"  # "/" in a PM row is the PM present mark

    # The same files again: nothing new, nothing changed.
    for kind, text in (("staff", STAFF), ("pupils", PUPILS), ("contacts", CONTACTS), ("marks", MARKS)):
        result = run(session, kind, text, "300001")
        assert (result.created, result.updated) == (0, 0), kind
        assert result.unchanged > 0
    # Changed files update rows in place.
    result = run(session, "pupils", PUPILS.replace("Amelia,Khan,Millie,R", "Amelia,Khan-Ali,,1"), "300001")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    result = run(session, "contacts", CONTACTS.replace("07700 900123", "07700 900199"), "300001")
    assert (result.created, result.updated) == (0, 1)
    result = run(session, "marks", MARKS.replace("P3,04/09/2026,AM,i,", "P3,2026-09-04,AM,M,"), "300001")
    assert (result.created, result.updated) == (0, 1)
    session.commit()
    assert count(session, Pupil, school_id=school.id) == 3
    assert count(session, Contact, school_id=school.id) == 4
    assert count(session, PupilContact, school_id=school.id) == 5
    assert count(session, Mark, school_id=school.id) == 6
    session.refresh(p1)
    assert (p1.last_name, p1.year_group, p1.preferred_name) == ("Khan-Ali", 1, None)
    session.refresh(sara)
    assert sara.mobile == "+447700900199"


def test_calendar_import_and_update(session):
    school = School(urn="400001", name="No Calendar School")
    session.add(school)
    session.commit()
    result = run(session, "calendar", CALENDAR, "400001")
    assert (result.created, result.updated) == (3, 0)
    result = run(
        session, "calendar", CALENDAR.replace("2026-10-30,Autumn half-term", "2026-10-30,Half term"), "400001"
    )
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    session.commit()
    assert count(session, CalendarEntry, school_id=school.id) == 3
    names = {e.name for e in session.exec(select(CalendarEntry).where(CalendarEntry.school_id == school.id))}
    assert "Half term" in names


def test_marks_on_non_school_days_are_only_refused_once_a_calendar_exists(session):
    bare = School(urn="400002", name="Bare School")
    session.add(bare)
    session.flush()
    session.add(Pupil(school_id=bare.id, mis_id="P1", first_name="A", last_name="B"))
    session.commit()
    weekend = "pupil_mis_id,date,session,code\nP1,2026-09-05,AM,/\n"
    assert run(session, "marks", weekend, "400002").ok  # no calendar: nothing to check against
    session.rollback()
    run(session, "calendar", CALENDAR, "400002")
    session.commit()
    result = run(session, "marks", weekend, "400002")
    assert [str(e) for e in result.errors] == ["line 2: Sat 05 Sep 2026 is a weekend, not a school day"]


def test_broken_file_imports_nothing_and_reports_every_bad_row(session):
    factories.school(session, urn="500001")
    session.commit()
    broken = """
mis_id,upn,first_name,last_name,year_group,fsm,favourite_colour
P1,A123456789012,Ann,Lee,3,Y,red
P2,,,Lee,3,N,
P3,,Bob,Ray,Q,maybe,

P1,,Ann,Lee,3,Y,
P4,,"Cat
Jane",Kim,4,N,
P5,A123456789012,Dan,Ng,5,N,
P6,SHORT,Eve,Ox,5,N,
P7,,Fay,Po,5,N,,extra
"""
    result = run(session, "pupils", broken, "500001")
    assert not result.ok
    assert [(e.line, e.message) for e in result.errors] == [
        (3, "first_name is empty"),
        (
            4,
            "year_group: 'Q' is not a year group (use R or 0 for Reception, 1 to 14); "
            "fsm: 'maybe' is not yes or no (use Y/N, true/false, 1/0 or leave blank)",
        ),
        (6, "duplicate of line 2 (mis_id P1)"),
        (9, "upn A123456789012 is also on line 2"),
        (10, "upn: 'SHORT' is not a UPN (13 letters and digits, e.g. A123456789012)"),
        (11, "has 8 cells but the header has 7 columns"),
    ]
    assert result.warnings == ["ignored unknown column: favourite_colour"]
    assert (result.created, result.updated) == (0, 0)
    session.commit()
    assert count(session, Pupil) == 0


def test_broken_marks_and_contacts_report_each_reason(session):
    school = factories.school(session, urn="500002")
    p = factories.pupil(session, school)
    factories.pupil(session, school)
    session.commit()
    marks = f"""
pupil_mis_id,date,session,code,minutes_late
{p.mis_id},2026-09-03,AM,/,
{p.mis_id},2026-09-03,XX,/,
{p.mis_id},2026-09-04,AM,H,
{p.mis_id},2026-10-27,AM,I,
{p.mis_id},2026-09-02,PM,I,
{p.mis_id},2026-09-07,AM,I,5
NOPE,2026-09-07,AM,/,
{p.mis_id},2026-09-03,AM,I,
"""
    result = run(session, "marks", marks, "500002")
    assert [(e.line, e.message) for e in result.errors] == [
        (3, "session: 'XX' is not a session (use AM or PM)"),
        (4, "code: 'H' was retired in August 2024; use one of the 2024 codes"),
        (5, "Tue 27 Oct 2026 is a holiday (Autumn half-term), not a school day"),
        (6, "Wed 02 Sep 2026 is an INSET day (INSET day), not a school day"),
        (7, "minutes_late is only for L and U marks, not I"),
        (8, "no pupil with mis_id NOPE in this school (import the pupils file first)"),
        (9, f"duplicate of line 2 (pupil_mis_id {p.mis_id}, date 2026-09-03, session AM)"),
    ]
    contacts = f"""
mis_id,pupil_mis_id,first_name,last_name,mobile,email
C1,{p.mis_id},Sue,Ray,0113 496 0000,
C2,{p.mis_id},Al,Ray,,
C3,{p.mis_id},Jo,Ray,07700 900001,
C3,P-unknown,Jo,Ray,07700 900002,
C4,{p.mis_id},Li,Ray,,not-an-email
"""
    result = run(session, "contacts", contacts, "500002")
    messages = {e.line: e.message for e in result.errors}
    assert messages[2] == "mobile: '0113 496 0000' is a landline, not a mobile: it cannot receive texts"
    assert "no mobile, phone or email" in messages[3]
    assert "no pupil with mis_id P-unknown" in messages[5] and "different mobile on line 4" in messages[5]
    assert messages[6] == "email: 'not-an-email' is not an email address"
    assert 4 not in messages
    session.commit()
    assert count(session, Mark) == 0 and count(session, Contact) == 0


def test_file_level_problems(session):
    factories.school(session, urn="600001")
    session.commit()
    missing = run(session, "staff", "staff_code,email\nS1,a@b.example\n", "600001")
    assert [str(e) for e in missing.errors] == [
        "line 1: missing required columns: name, role (a staff file needs staff_code, name, role)"
    ]
    assert [str(e) for e in run(session, "staff", "", "600001").errors] == ["The file is empty."]
    assert [str(e) for e in run(session, "staff", "staff_code,name,role\n", "600001").errors] == [
        "The file has a header but no rows."
    ]
    # Neither UTF-8 nor Windows-1252 (0x81 is undefined there): refused with the line.
    garbled = io.BytesIO(b"staff_code,name,role\nS1,Jo Patel,admin\nS2,Zo\x81 Brown,admin\n")
    result = import_file(session, kind="staff", path_or_stream=garbled, school_urn="600001", now=NOW)
    assert [e.line for e in result.errors] == [3]
    assert "neither UTF-8 nor Windows-1252" in result.errors[0].message
    # UTF-8 with a byte-order mark (Excel's "CSV UTF-8"), odd header spelling, semicolons: all fine.
    ok = run(session, "staff", "Staff Code;Name;Role\nS2;Zoë Brown;Pastoral\n", "600001", bom=True)
    assert ok.ok and ok.created == 1
    session.commit()
    assert session.exec(select(Staff).where(Staff.staff_code == "S2")).one().name == "Zoë Brown"


def test_wrong_calls_raise_user_errors(session):
    with pytest.raises(NotFound, match="No school with URN 999999"):
        run(session, "pupils", PUPILS, "999999")
    with pytest.raises(UserError, match="--school"):
        run(session, "pupils", PUPILS)
    with pytest.raises(UserError, match="leave out --school"):
        run(session, "schools", SCHOOLS, "100001")
    with pytest.raises(UserError, match="not a kind"):
        run(session, "parents", PUPILS, "100001")


def test_marks_amended_in_the_bot_are_kept_while_the_mis_still_shows_its_old_entry(session):
    school = factories.school(session, urn="700001")
    p = factories.pupil(session, school)
    officer = factories.staff(session, school)
    session.commit()
    day = date(2026, 9, 7)
    run(
        session,
        "marks",
        f"pupil_mis_id,date,session,code\n{p.mis_id},{day},AM,N\n{p.mis_id},{day},PM,N\n",
        "700001",
    )
    recode(
        session,
        school_id=school.id,
        pupil_id=p.id,
        day=day,
        sessions=["AM"],
        new_code="I",
        reason="Mum rang: tummy bug",
        actor=Actor.of(officer),
        now=NOW,
    )
    session.commit()
    # The next export still shows N in the morning (nobody typed the change into the MIS yet), and
    # the MIS itself moved the afternoon on to O.
    result = run(
        session,
        "marks",
        f"pupil_mis_id,date,session,code\n{p.mis_id},{day},AM,N\n{p.mis_id},{day},PM,O\n",
        "700001",
    )
    assert (result.created, result.updated, result.kept) == (0, 1, 1)
    assert "1 kept" in result.summary()
    session.commit()
    marks = {m.session: m for m in session.exec(select(Mark).where(Mark.pupil_id == p.id))}
    assert marks["AM"].code == "I" and marks["AM"].source == "staff"
    assert marks["PM"].code == "O"


def test_a_later_mis_change_of_an_amended_mark_wins_and_is_audited(session):
    """Issue 13 item 6: the MIS holds the legal register; its later change beats the bot's."""
    school = factories.school(session, urn="700002")
    p = factories.pupil(session, school)
    officer = factories.staff(session, school)
    session.commit()
    day = date(2026, 9, 7)
    run(session, "marks", f"pupil_mis_id,date,session,code\n{p.mis_id},{day},AM,N\n", "700002")
    recode(
        session,
        school_id=school.id,
        pupil_id=p.id,
        day=day,
        sessions=["AM"],
        new_code="O",
        reason="No reason within 5 days",
        actor=Actor.of(officer),
        now=NOW,
    )
    session.commit()
    result = run(session, "marks", f"pupil_mis_id,date,session,code\n{p.mis_id},{day},AM,M\n", "700002")
    assert result.ok and (result.updated, result.kept) == (1, 0)
    assert any("changed in the MIS" in w for w in result.warnings)
    session.commit()
    mark = session.exec(select(Mark).where(Mark.pupil_id == p.id)).one()
    assert (mark.code, mark.source, mark.mis_code) == ("M", "import", "M")
    audit = session.exec(
        select(MarkAmendment).where(MarkAmendment.mark_id == mark.id).order_by(MarkAmendment.id)
    ).all()
    assert [(a.original_code, a.amended_code, a.source) for a in audit] == [
        ("N", "O", "staff"),
        ("O", "M", "import"),
    ]
    assert audit[-1].amended_by_role == "mis"
    alert = session.exec(select(Alert).where(Alert.kind == "mis_changed_mark")).one()
    assert alert.audience == "attendance" and "is now M" in alert.title
    # Importing the same export again changes nothing more (and raises nothing more).
    again = run(session, "marks", f"pupil_mis_id,date,session,code\n{p.mis_id},{day},AM,M\n", "700002")
    assert (again.updated, again.unchanged) == (0, 1)
    assert len(session.exec(select(Alert)).all()) == 1


def test_large_marks_file_reports_progress(session):
    school = factories.school(session, urn="800001")
    session.commit()
    run(
        session,
        "pupils",
        "mis_id,first_name,last_name\n" + "".join(f"P{i},A{i},B\n" for i in range(120)),
        "800001",
    )
    from bot.typical_calendar import calendar_2026_27

    days = calendar_2026_27().school_days_between(date(2026, 9, 3), date(2026, 10, 23))
    rows = "".join(
        f"P{i},{d},{s},{'/' if s == 'AM' else chr(92)}\n"
        for d in days
        for s in ("AM", "PM")
        for i in range(120)
    )
    seen = []
    stream = csv_bytes("pupil_mis_id,date,session,code\n" + rows)
    result = import_file(
        session,
        kind="marks",
        path_or_stream=stream,
        school_urn="800001",
        now=NOW,
        progress=lambda stage, done, total: seen.append((stage, done)),
    )
    assert result.created == len(days) * 240
    assert ("reading", 5000) in seen and ("writing", result.created) in seen
    session.commit()
    assert count(session, Mark, school_id=school.id) == result.created


def test_docs_describe_every_column():
    from pathlib import Path

    from bot.importing.formats import FORMATS

    doc = (Path(__file__).parent.parent / "docs" / "csv-formats.md").read_text(encoding="utf-8")
    for fmt in FORMATS.values():
        section = doc.split(f"(`{fmt.kind}`)", 1)[1].split("\n## ", 1)[0]
        for column in fmt.columns:
            assert f"| `{column.name}` |" in section, (fmt.kind, column.name)
            type_, required = section.split(f"| `{column.name}` |", 1)[1].split("|")[:2]
            assert (required.strip() == "yes") == column.required, (fmt.kind, column.name)


# --------------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------------


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return str(path)


def test_cli_import_summary_errors_and_exit_codes(engine, settings_env, tmp_path):
    from bot.cli import main

    runner = CliRunner()
    ok = runner.invoke(main, ["import", "schools", _write(tmp_path, "schools.csv", SCHOOLS)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip() == "schools: 2 created, 0 updated"
    pupils = _write(tmp_path, "pupils.csv", PUPILS)
    ok = runner.invoke(main, ["import", "pupils", pupils, "--school", "200001"])
    assert ok.exit_code == 0 and "pupils: 3 created, 0 updated" in ok.stdout
    again = runner.invoke(main, ["import", "pupils", str(tmp_path / "pupils.csv"), "--school", "200001"])
    assert "pupils: 0 created, 0 updated, 3 unchanged" in again.stdout

    bad = _write(tmp_path, "bad.csv", "mis_id,first_name,last_name,year_group\nP9,,X,3\nP10,Y,Z,99\n")
    failed = runner.invoke(main, ["import", "pupils", bad, "--school", "200001"])
    assert failed.exit_code == 1
    assert "bad.csv: 2 problems, nothing imported:" in failed.stderr
    assert "line 2: first_name is empty" in failed.stderr and "line 3: year_group" in failed.stderr

    unknown = runner.invoke(main, ["import", "pupils", bad, "--school", "123"])
    assert unknown.exit_code != 0 and "No school with URN 123" in unknown.output
    with Session(engine) as s:
        assert count(s, Pupil) == 3


def test_reimport_never_clears_an_opt_out_the_parent_gave(session):
    """A STOP text sets sms_opt_out; the next MIS export (which says N) must not undo it."""
    import io

    from sqlmodel import select

    from bot.importing.service import import_file
    from storage.models import Contact
    from tests import factories as f

    f.school(session, urn="990001")
    pupils = io.StringIO("mis_id,upn,first_name,last_name,year_group,class_name\nP-OPT,,Ada,Lee,3,3A\n")
    assert not import_file(session, kind="pupils", path_or_stream=pupils, school_urn="990001", now=NOW).errors
    csv = (
        "mis_id,pupil_mis_id,first_name,last_name,priority,mobile,sms_opt_out\n"
        "C-OPT,P-OPT,Mo,Lee,1,07700 900555,N\n"
    )
    assert not import_file(
        session, kind="contacts", path_or_stream=io.StringIO(csv), school_urn="990001", now=NOW
    ).errors
    contact = session.exec(select(Contact).where(Contact.mis_id == "C-OPT")).one()
    contact.sms_opt_out = True  # the parent texted STOP
    session.add(contact)
    session.flush()
    assert not import_file(
        session, kind="contacts", path_or_stream=io.StringIO(csv), school_urn="990001", now=NOW
    ).errors
    session.refresh(contact)
    assert contact.sms_opt_out is True


def test_a_duplicate_of_a_bad_row_is_reported_too(session):
    """Every bad row is listed: a repeated id is caught even when its first row is bad itself."""
    import io

    from bot.importing.service import import_file
    from tests import factories as f

    f.school(session, urn="990002")
    csv = (
        "mis_id,upn,first_name,last_name,year_group,class_name\n"
        "P1,,Ann,Lee,x,3A\n"
        "P2,,Bo,Lee,3,3A\n"
        "P1,,Ann,Lee,3,3A\n"
    )
    result = import_file(
        session, kind="pupils", path_or_stream=io.StringIO(csv), school_urn="990002", now=NOW
    )
    assert [e.line for e in result.errors] == [2, 4]
    assert "duplicate of line 2" in result.errors[1].message


def test_call_policy_and_contacts_phones_and_call_preference_import(session):
    schools = """
urn,name,phone,calls_enabled,call_at_chase,calls_from,calls_until
300001,Ash Primary,0113 496 0100,Y,2,08:30,18:00
300002,Beech Primary,,N,,,
300003,Cedar Primary,,,,19:00,08:00
"""
    result = run(session, "schools", schools)
    assert [(e.line, e.message) for e in result.errors] == [
        (4, "calls_until 08:00 must be after calls_from 19:00")
    ]
    result = run(session, "schools", "\n".join(schools.strip().splitlines()[:3]))
    assert result.ok, result.errors
    session.commit()
    ash = session.exec(select(School).where(School.urn == "300001")).one()
    policy = session.get(SchoolPolicy, ash.id)
    assert (policy.calls_enabled, policy.call_at_chase, policy.calls_from, policy.calls_until) == (
        True,
        2,
        time(8, 30),
        time(18, 0),
    )
    beech = session.exec(select(School).where(School.urn == "300002")).one()
    assert session.get(SchoolPolicy, beech.id).calls_enabled is False
    assert session.get(SchoolPolicy, beech.id).call_at_chase == 0  # the default: a school opts in
    assert run(session, "pupils", "mis_id,first_name,last_name\nP1,Amy,Oak\n", "300001").ok
    contacts = """
mis_id,pupil_mis_id,first_name,last_name,mobile,phone,prefers_calls,language
C1,P1,Sue,Oak,,0113 496 0001,,Somali
C2,P1,Al,Oak,07700 900001,,Y,pl
"""
    result = run(session, "contacts", contacts, "300001")
    assert result.ok, result.errors
    session.commit()
    sue = session.exec(select(Contact).where(Contact.mis_id == "C1")).one()
    al = session.exec(select(Contact).where(Contact.mis_id == "C2")).one()
    assert (sue.phone, sue.mobile, sue.prefers_calls, sue.language) == ("+441134960001", None, False, "so")
    assert (al.phone, al.prefers_calls) == (None, True)
