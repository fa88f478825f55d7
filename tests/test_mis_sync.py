"""The nightly sync from the Wonde stand-in: a 1,000-pupil school over several pages, deltas,
leavers marked (never deleted), contacts and their opt-outs, staff matched by email."""

from datetime import UTC, date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from bot.mis.sync import sync_school
from storage.models import Contact, MisConnection, Pupil, PupilContact, Staff
from tests import factories as f
from tests.peers.fixtures import wonde  # noqa: F401
from tests.peers.wonde_api import populate

NIGHT = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)


def linked_school(session, peer, **kw):
    school = f.school(session, wonde_id="W1", **kw)
    session.commit()
    return school


def count(session, model, *where) -> int:
    return session.exec(select(func.count()).select_from(model).where(*where)).one()


def test_full_sync_of_a_thousand_pupils_over_several_pages(engine, wonde):
    populate(wonde, "W1", pupils=1000)
    with Session(engine, expire_on_commit=False) as s:
        school = linked_school(s, wonde)
        officer = f.staff(s, school, email="Jo.Patel@Oakfield.example")
        s.commit()
    wonde.school("W1").employees["E1"] = {
        "id": "E1",
        "mis_id": "77",
        "forename": "Jo",
        "surname": "Patel",
        "_details": {"emails": {"work": "jo.patel@oakfield.example"}},
    }
    summary = sync_school(engine, school=school, settings=f.mis_settings(wonde), now=NIGHT)
    assert summary["pupils_new"] == 1000 and summary["contacts_new"] == 2000 and summary["staff_linked"] == 1
    pages = [r for r in wonde.requests if r.path == "/v1.0/schools/W1/students"]
    assert len(pages) == 5 and "updated_after" not in pages[0].query  # the first sync is full
    with Session(engine, expire_on_commit=False) as s:
        assert count(s, Pupil, Pupil.school_id == school.id, Pupil.on_roll) == 1000
        assert count(s, PupilContact, PupilContact.school_id == school.id) == 2000
        amelia = s.exec(select(Pupil).where(Pupil.wonde_id == "W1S00009")).one()
        assert (amelia.mis_id, amelia.year_group, amelia.class_name) == ("1010", 4, "4 Oak")
        assert amelia.date_of_birth == date(2017, 10, 10) and amelia.admission_date == date(2026, 9, 2)
        assert amelia.free_school_meals is False and amelia.leaving_date is None
        flagged = s.exec(select(Pupil).where(Pupil.wonde_id == "W1S00000")).one()
        assert flagged.free_school_meals and flagged.looked_after
        assert flagged.send_ehcp and flagged.young_carer
        links = s.exec(
            select(PupilContact, Contact)
            .join(Contact, Contact.id == PupilContact.contact_id)
            .where(PupilContact.pupil_id == amelia.id)
            .order_by(PupilContact.priority)
        ).all()
        assert [(link.priority, link.relationship, link.parental_responsibility) for link, _ in links] == [
            (1, "mother", True),
            (2, "father", True),
        ]
        mother = links[0][1]
        assert (mother.mobile, mother.email) == ("+447700900009", "parent9a@example.com")
        assert mother.language == "pl"  # the home language the MIS holds (POL)
        assert s.get(Staff, officer.id).wonde_id == "E1"
        link = s.get(MisConnection, school.id)
        assert link.synced_at == NIGHT and len(link.codes) >= 34


def test_a_school_that_imported_csv_first_keeps_its_pupils_and_their_history(engine, wonde):
    populate(wonde, "W1", pupils=3)
    with Session(engine, expire_on_commit=False) as s:
        school = linked_school(s, wonde)
        old = f.pupil(s, school, first="Old", last="Name")
        old.mis_id = "1002"  # the MIS id the CSV carried
        f.mark(s, old, date(2026, 11, 20), "AM", "N")
        s.commit()
    sync_school(engine, school=school, settings=f.mis_settings(wonde), now=NIGHT)
    with Session(engine, expire_on_commit=False) as s:
        same = s.get(Pupil, old.id)
        assert same.wonde_id == "W1S00001" and same.first_name != "Old"
        assert count(s, Pupil, Pupil.school_id == school.id) == 3


def test_a_delta_reads_only_changes_marks_leavers_and_never_clears_an_opt_out(engine, wonde):
    ids = populate(wonde, "W1", pupils=6)
    settings = f.mis_settings(wonde)
    with Session(engine, expire_on_commit=False) as s:
        school = linked_school(s, wonde)
    sync_school(engine, school=school, settings=settings, now=NIGHT)
    with Session(engine, expire_on_commit=False) as s:  # a parent texted STOP
        contact = s.exec(select(Contact).where(Contact.wonde_id == f"{ids[0]}C1")).one()
        contact.sms_opt_out = True
        s.add(contact)
        s.commit()
    # During the day the MIS changes: a class move, a leaver, a deleted pupil, a removed contact.
    wonde.now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    wonde.touch("W1", ids[0], _groups=[{"id": "G9", "name": "1 Rowan", "type": "REGISTRATION"}])
    edu = dict(wonde.schools["W1"].students[ids[1]]["_education"], leaving_date=date(2026, 11, 20))
    wonde.touch("W1", ids[1], _education=edu)
    wonde.delete("W1", "student", ids[2])
    wonde.delete("W1", "contact", f"{ids[3]}C2")
    next_night = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)
    summary = sync_school(engine, school=school, settings=settings, now=next_night)
    students = [r for r in wonde.requests if r.path == "/v1.0/schools/W1/students"]
    assert students[-1].query["updated_after"] == "2026-11-23 02:20:00"
    assert summary.details["sync"] == "delta" and summary["pupils_updated"] == 2
    assert summary["leavers"] == 2 and summary["contact_links_removed"] == 1
    with Session(engine, expire_on_commit=False) as s:
        by_id = {p.wonde_id: p for p in s.exec(select(Pupil)).all()}
        assert by_id[ids[0]].class_name == "1 Rowan" and by_id[ids[0]].on_roll
        assert not by_id[ids[1]].on_roll and by_id[ids[1]].leaving_date == date(2026, 11, 20)
        assert not by_id[ids[2]].on_roll  # deleted in the MIS: off roll, never deleted here
        assert count(s, PupilContact, PupilContact.pupil_id == by_id[ids[3]].id) == 1
        assert count(s, Contact, Contact.wonde_id == f"{ids[3]}C2") == 1  # the contact's history stays
        assert s.exec(select(Contact).where(Contact.wonde_id == f"{ids[0]}C1")).one().sms_opt_out
    # The same sync again changes nothing.
    again = sync_school(engine, school=school, settings=settings, now=next_night)
    assert again["pupils_updated"] == again["leavers"] == again["contact_links_removed"] == 0
