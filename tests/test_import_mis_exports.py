"""CSV straight from SIMS, Arbor and Bromcom: their headers, Windows-1252 or UTF-8 with a BOM, CRLF,
day-first dates, Excel-mangled phone numbers, a register with one column per session, ``--map``,
``--dry-run``; and the amendments export for schools that update the MIS by hand."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from bot.actors import Actor
from bot.errors import UserError
from bot.importing import import_file
from bot.register.export import amendments, write_csv
from bot.register.service import recode
from storage.models import Contact, Mark, MarkAmendment, Pupil, PupilContact, School
from tests import factories as f

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def run(session, kind, data: bytes | str, urn="300001", **kw):
    stream = io.BytesIO(data if isinstance(data, bytes) else data.encode("utf-8"))
    return import_file(session, kind=kind, path_or_stream=stream, school_urn=urn, now=NOW, **kw)


@pytest.fixture
def school(session):
    row = f.school(session, urn="300001")
    session.commit()
    return row


# SIMS "Student List" as Excel saves it: Windows-1252, CRLF, day-first dates, extra columns.
SIMS_PUPILS = (
    "Adno,UPN,Legal Surname,Legal Forename,Preferred Forename,Forename,Year,Reg,DOB,Gender,Admission Date\r\n"
    "001234,A123456789012,Brontë,Zoë,Zo,Zoë,Year 4,4 Birch,05/03/2017,F,02/09/2026\r\n"
    "001235,,O'Neill,Seán,,Seán,R,R Willow,28/02/2021,M,02/09/2026\r\n"
).encode("cp1252")


def test_a_sims_export_in_windows_1252_imports_as_it_is(session, school):
    result = run(session, "pupils", SIMS_PUPILS)
    assert result.ok, result.errors
    assert result.created == 2
    assert any("Windows-1252" in w for w in result.warnings)
    assert "column 'forename' ignored: 'legal_forename' gives first_name" in result.warnings
    assert any("ignored unknown column: gender" in w for w in result.warnings)
    session.commit()
    zoe = session.exec(select(Pupil).where(Pupil.mis_id == "001234")).one()
    assert (zoe.first_name, zoe.last_name, zoe.preferred_name) == ("Zoë", "Brontë", "Zo")
    assert (zoe.year_group, zoe.class_name, zoe.upn) == (4, "4 Birch", "A123456789012")
    assert (zoe.date_of_birth, zoe.admission_date) == (date(2017, 3, 5), date(2026, 9, 2))


def test_a_leaver_is_marked_off_roll_never_deleted(session, school):
    run(session, "pupils", SIMS_PUPILS)
    left = run(
        session, "pupils", "Adno,Legal Surname,Legal Forename,Leaving Date\n001235,O'Neill,Seán,20/11/2026\n"
    )
    assert left.ok and left.updated == 1
    session.commit()
    sean = session.exec(select(Pupil).where(Pupil.mis_id == "001235")).one()
    assert (sean.on_roll, sean.leaving_date) == (False, date(2026, 11, 20))


def test_an_arbor_contacts_export_with_a_bom_and_primary_contact(session, school):
    run(session, "pupils", SIMS_PUPILS)
    arbor = (
        "\ufeffStudent ID,Contact ID,Contact First Name,Contact Last Name,Relationship,Primary Contact,"
        "Parental Responsibility,Mobile Phone,Email Address,Home Language\r\n"
        "001234,G1,Anna,Brontë,Mother,Yes,Yes,07700 900123,anna@example.org,Polish\r\n"
        "001234,G2,Tom,Brontë,Father,No,Yes,7700900124,,English\r\n"
    )
    result = run(session, "contacts", arbor)
    assert result.ok, result.errors
    session.commit()
    links = session.exec(
        select(PupilContact, Contact)
        .join(Contact, Contact.id == PupilContact.contact_id)
        .order_by(PupilContact.priority)
    ).all()
    assert [(link.priority, c.first_name, c.mobile, c.language) for link, c in links] == [
        (1, "Anna", "+447700900123", "pl"),
        (2, "Tom", "+447700900124", "en"),
    ]


def test_a_phone_number_excel_turned_into_a_number_is_reported_as_such(session, school):
    run(session, "pupils", SIMS_PUPILS)
    result = run(
        session, "contacts", "Adno,Contact ID,Forename,Surname,Mobile\n001234,G1,Anna,B,4.47701E+11\n"
    )
    assert [e.line for e in result.errors] == [2]
    assert "Excel turned into a number" in result.errors[0].message
    assert "4.47701E+11" in result.errors[0].message


def test_map_names_a_column_the_bot_cannot_guess(session, school):
    data = "Ref,Surname,Forename,Tutor\nX9,Lee,Ada,3A\n"
    without = run(session, "pupils", data)
    assert not without.ok and "missing required column: mis_id" in str(without.errors[0])
    with_map = run(session, "pupils", data, mapping=["Ref=mis_id", "Tutor=class_name"])
    assert with_map.ok and with_map.created == 1
    session.commit()
    assert session.exec(select(Pupil.class_name).where(Pupil.mis_id == "X9")).one() == "3A"
    with pytest.raises(UserError, match="no field 'nickname'"):
        run(session, "pupils", data, mapping=["Tutor=nickname"])
    typo = run(session, "pupils", data, mapping=["Reff=mis_id"])
    assert any("--map names a column 'reff'" in str(e) for e in typo.errors)


WIDE = (
    "Adno,Name,Reg,Mon 23/11/2026 AM,Mon 23/11/2026 PM,Tue 24/11/2026 AM,Tue 24/11/2026 PM\r\n"
    "001234,Zoë Brontë,4 Birch,/,\\,N,-\r\n"
    "001235,Seán O'Neill,R Willow,L,\\,,\r\n"
)


def test_a_register_with_one_column_per_session(session, school):
    run(session, "pupils", SIMS_PUPILS)
    result = run(session, "marks", WIDE)
    assert result.ok, result.errors
    assert result.created == 5 and "4 session columns" in result.detail
    session.commit()
    zoe = session.exec(select(Pupil).where(Pupil.mis_id == "001234")).one()
    marks = {(m.date, m.session): m.code for m in session.exec(select(Mark).where(Mark.pupil_id == zoe.id))}
    assert marks == {
        (date(2026, 11, 23), "AM"): "/",
        (date(2026, 11, 23), "PM"): "\\",
        (date(2026, 11, 24), "AM"): "N",
    }


def test_a_bad_cell_of_a_wide_register_names_its_line_and_column(session, school):
    run(session, "pupils", SIMS_PUPILS)
    result = run(session, "marks", WIDE.replace("L,\\", "H,\\"))
    assert [str(e) for e in result.errors] == [
        "line 3: column 'Mon 23/11/2026 AM': code: 'H' was retired in August 2024; use one of the 2024 codes"
    ]
    session.commit()
    assert session.exec(select(Mark)).all() == []


def test_dry_run_shows_what_would_change_and_changes_nothing(engine, settings_env, tmp_path):
    from bot.cli import main

    with Session(engine) as s:
        f.school(s, urn="300001")
        s.commit()
    pupils = tmp_path / "students.csv"
    pupils.write_bytes(SIMS_PUPILS)
    runner = CliRunner()
    dry = runner.invoke(main, ["import", "pupils", str(pupils), "--school", "300001", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run, nothing changed; the import would give pupils: 2 created" in dry.stdout
    assert "new pupil 001234" in dry.stdout
    with Session(engine) as s:
        assert s.exec(select(Pupil)).all() == []
    assert runner.invoke(main, ["import", "pupils", str(pupils), "--school", "300001"]).exit_code == 0
    pupils.write_bytes(SIMS_PUPILS.replace(b"4 Birch", b"4 Oak"))
    moved = runner.invoke(main, ["import", "pupils", str(pupils), "--school", "300001", "--dry-run"])
    assert "pupil 001234: class_name 4 Birch → 4 Oak" in moved.stdout
    with Session(engine) as s:
        assert s.exec(select(Pupil.class_name).where(Pupil.mis_id == "001234")).one() == "4 Birch"


def test_the_schools_file_links_a_school_to_wonde(session):
    data = (
        "urn,name,wonde_id,mis_writeback,register_check_after_minutes\n"
        "300002,Elm Tree,A1930499544,Y,20\n300003,Hilltop,A1930499544,,\n"
    )
    clash = run(session, "schools", data, urn=None)
    assert [str(e) for e in clash.errors] == ["line 3: wonde_id A1930499544 already belongs to school line 2"]
    ok = run(session, "schools", data.splitlines()[0] + "\n" + data.splitlines()[1] + "\n", urn=None)
    assert ok.ok
    session.commit()
    elm = session.exec(select(School).where(School.urn == "300002")).one()
    assert (elm.wonde_id, elm.mis_writeback) == ("A1930499544", True)
    from bot.policy import policy_for

    assert policy_for(session, elm.id).register_check_after_minutes == 20


def test_the_amendments_export_lists_who_when_why_and_whether_the_mis_has_it(session, school):
    p = f.pupil(session, school, first="Zoë", last="Brontë")
    officer = f.staff(session, school, name="Jo Patel")
    for d in (date(2026, 11, 20), date(2026, 11, 23)):
        f.mark(session, p, d, "AM", "N")
    recode(
        session,
        school_id=school.id,
        pupil_id=p.id,
        day=date(2026, 11, 20),
        sessions=["AM"],
        new_code="I",
        reason="Mum rang: ill",
        actor=Actor.of(officer),
        now=datetime(2026, 11, 20, 10, 5, tzinfo=UTC),
    )
    [later] = recode(
        session,
        school_id=school.id,
        pupil_id=p.id,
        day=date(2026, 11, 23),
        sessions=["AM"],
        new_code="M",
        reason="Dentist",
        actor=Actor.of(officer),
        now=datetime(2026, 11, 23, 11, 0, tzinfo=UTC),
    )
    later.written_back_at = datetime(2026, 11, 23, 11, 1, tzinfo=UTC)
    session.add(later)
    session.commit()
    out = io.StringIO()
    listed = amendments(session, school=school, since=date(2026, 11, 20))
    assert write_csv(listed, school=school, out=out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert rows[0] == {
        "session_date": "2026-11-20",
        "session": "AM",
        "pupil_mis_id": p.mis_id,
        "upn": p.upn,
        "pupil": "Zoë Brontë",
        "class": "4B",
        "original_code": "N",
        "amended_code": "I",
        "reason": "Mum rang: ill",
        "amended_at": "2026-11-20 10:05",
        "amended_by": "Jo Patel",
        "role": "attendance_officer",
        "source": "staff",
        "written_back_at": "",
    }
    assert rows[1]["written_back_at"] == "2026-11-23 11:01"
    assert len(amendments(session, school=school, since=date(2026, 11, 21))) == 1
    pending = amendments(session, school=school, since=date(2026, 11, 1), not_written_back=True)
    assert [a.amended_code for a, _ in pending] == ["I"]
    # Changed again before anyone typed it in: only the latest change is left to type.
    recode(
        session,
        school_id=school.id,
        pupil_id=p.id,
        day=date(2026, 11, 20),
        sessions=["AM"],
        new_code="M",
        reason="It was the dentist",
        actor=Actor.of(officer),
        now=datetime(2026, 11, 23, 12, 0, tzinfo=UTC),
    )
    pending = amendments(session, school=school, since=date(2026, 11, 1), not_written_back=True)
    assert [(a.original_code, a.amended_code) for a, _ in pending] == [("I", "M")]
    assert session.exec(select(MarkAmendment)).all()  # nothing was changed by exporting


def test_the_export_command_writes_a_file_excel_opens(engine, settings_env, tmp_path):
    from bot.cli import main

    with Session(engine) as s:
        school = f.school(s, urn="300001")
        p = f.pupil(s, school, first="Zoë")
        f.mark(s, p, date(2026, 11, 23), "AM", "N")
        recode(
            s,
            school_id=school.id,
            pupil_id=p.id,
            day=date(2026, 11, 23),
            sessions=["AM"],
            new_code="I",
            reason="ill",
            actor=Actor.of(f.staff(s, school)),
            now=datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        )
        s.commit()
    target = tmp_path / "amendments.csv"
    result = CliRunner().invoke(
        main, ["export", "amendments", "--school", "300001", "--since", "2026-11-01", "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfsession_date,") and b"\r\n" in data and "Zoë".encode() in data
