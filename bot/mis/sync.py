"""The nightly sync (and ``attendance-bot mis sync``): pupils, contacts, classes, year groups, staff.

Everything is fetched from Wonde first, with no transaction open (a school is a few pages of 200
students), then written in one transaction, so a sync either lands whole or not at all.

The first sync of a school is full; later ones ask only for what changed since the last one
(``updated_after``) plus Wonde's ``deletions``. Rules:

- pupils are matched on their Wonde id, then the MIS id (a school that imported CSV before), then
  the UPN; leavers (a leaving date that has passed, a deletion, or, in a full sync, a linked pupil
  Wonde no longer lists) are marked off roll, never deleted: their history and audit stay;
- a contact's opt-outs (a parent's STOP text) are never touched by a sync;
- a contact the MIS no longer links to a pupil stops being that pupil's contact (a court order
  removes a parent in the MIS first), though the contact row and its history stay;
- staff are matched to the bot's staff by email; the bot's roles and chat ids are its own.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import clock
from bot.mis import wire
from bot.mis.client import MisError, WondeClient
from bot.mis.connection import client_for, read_state, record_failure, record_success, state
from bot.settings import Settings
from bot.summary import JobSummary
from storage.db import lock_school, session_scope
from storage.models import Contact, Pupil, PupilContact, School, Staff

log = logging.getLogger(__name__)

OVERLAP = timedelta(minutes=10)  # a delta re-reads the last minutes: clocks differ, re-reading is harmless


@dataclass
class Fetched:
    students: list[wire.StudentRecord]
    employees: list[dict]
    deletions: list[dict]
    codes: dict[str, str]
    full: bool


def fetch(client: WondeClient, wonde_id: str, *, since: datetime | None) -> Fetched:
    students = [s for s in (wire.student(raw) for raw in client.students(wonde_id, updated_after=since)) if s]
    return Fetched(
        students=students,
        employees=client.employees(wonde_id, updated_after=since),
        deletions=client.deletions(wonde_id, updated_after=since) if since is not None else [],
        codes=wire.code_table(client.attendance_codes()),
        full=since is None,
    )


def sync_school(
    engine: Engine,
    *,
    school: School,
    settings: Settings,
    now: datetime,
    full: bool = False,
    client: WondeClient | None = None,
) -> JobSummary:
    """Fetch the school's people from Wonde and write them in one transaction."""
    link = read_state(engine, school.id)
    since = None if full or link.sync_cursor is None else link.sync_cursor - OVERLAP
    client = client or client_for(school, settings)
    try:
        fetched = fetch(client, school.wonde_id, since=since)
    except MisError as exc:
        record_failure(engine, school=school, error=exc, settings=settings, now=now)
        raise
    with session_scope(engine) as session:
        lock_school(session, school.id)
        today = clock.to_local(now, school.timezone).date()
        counts = apply(session, school=school, fetched=fetched, today=today)
        row = state(session, school.id)
        row.sync_cursor, row.synced_at = now, now
        if fetched.codes:
            row.codes, row.codes_read_at = fetched.codes, now
        record_success(session, school=school, row=row, now=now)
        session.add(row)
    log.info("mis sync school=%s %s: %s", school.id, "full" if fetched.full else "delta", counts)
    return JobSummary(counts=counts, details={"sync": "full" if fetched.full else "delta"})


def apply(session: Session, *, school: School, fetched: Fetched, today: date) -> dict[str, int]:
    counts = {
        "pupils_new": 0,
        "pupils_updated": 0,
        "leavers": 0,
        "contacts_new": 0,
        "contacts_updated": 0,
        "contact_links_removed": 0,
        "staff_linked": 0,
    }
    pupils = _sync_pupils(session, school=school, records=fetched.students, today=today, counts=counts)
    _sync_contacts(session, school=school, records=fetched.students, pupils=pupils, counts=counts)
    _leavers(session, school=school, fetched=fetched, seen=set(pupils), counts=counts)
    _staff(session, school=school, employees=fetched.employees, counts=counts)
    session.flush()
    return counts


def _set(row, fields: dict) -> bool:
    changed = False
    for name, value in fields.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _sync_pupils(
    session: Session, *, school: School, records: list[wire.StudentRecord], today: date, counts: dict
) -> dict[str, Pupil]:
    """Create or update every student; returns Wonde id -> pupil (flushed, with ids)."""
    existing = session.exec(select(Pupil).where(Pupil.school_id == school.id)).all()
    by_wonde = {p.wonde_id: p for p in existing if p.wonde_id}
    by_mis = {p.mis_id: p for p in existing}
    by_upn = {p.upn: p for p in existing if p.upn}
    out: dict[str, Pupil] = {}
    for rec in records:
        pupil = by_wonde.get(rec.wonde_id)
        if pupil is None:
            pupil = by_mis.get(rec.mis_id) or (by_upn.get(rec.upn) if rec.upn else None)
            if pupil is not None and pupil.wonde_id not in (None, rec.wonde_id):
                pupil = None  # that pupil is linked to another Wonde student
        fields = {
            "first_name": rec.first_name,
            "last_name": rec.last_name,
            "preferred_name": rec.preferred_name,
            "wonde_id": rec.wonde_id,
            "leaving_date": rec.leaving_date,
            "on_roll": rec.leaving_date is None or rec.leaving_date > today,
            **rec.flags,
        }
        for name in ("upn", "year_group", "class_name", "date_of_birth", "admission_date"):
            if getattr(rec, name) is not None:
                fields[name] = getattr(rec, name)
        if pupil is None:
            mis_id = rec.mis_id if rec.mis_id not in by_mis else rec.wonde_id
            pupil = Pupil(school_id=school.id, mis_id=mis_id, **fields)
            session.add(pupil)
            by_mis[mis_id] = pupil
            counts["pupils_new"] += 1
        else:
            was_on_roll = pupil.on_roll
            if _set(pupil, fields):
                session.add(pupil)
                counts["pupils_updated"] += 1
            if was_on_roll and not pupil.on_roll:
                counts["leavers"] += 1
        by_wonde[rec.wonde_id] = out[rec.wonde_id] = pupil
    session.flush()
    return out


def _sync_contacts(
    session: Session,
    *,
    school: School,
    records: list[wire.StudentRecord],
    pupils: dict[str, Pupil],
    counts: dict,
) -> None:
    with_contacts = [r for r in records if r.contacts is not None]
    if not with_contacts:
        return
    existing = session.exec(select(Contact).where(Contact.school_id == school.id)).all()
    by_wonde = {c.wonde_id: c for c in existing if c.wonde_id}
    by_mis = {c.mis_id: c for c in existing}
    done: dict[str, Contact] = {}
    for rec in with_contacts:
        for c in rec.contacts:
            if c.wonde_id in done:
                continue
            row = by_wonde.get(c.wonde_id) or by_mis.get(c.mis_id)
            fields = {"first_name": c.first_name, "last_name": c.last_name, "wonde_id": c.wonde_id}
            if c.has_details:  # a number or address removed in the MIS is removed here too
                fields["mobile"], fields["email"] = c.mobile, c.email
            # Opt-outs (sms_opt_out, email_opt_out) are the parent's choice: never set by a sync.
            if row is None:
                language = c.language or rec.language or "en"
                mis_id = c.mis_id if c.mis_id not in by_mis else c.wonde_id
                row = Contact(school_id=school.id, mis_id=mis_id, language=language, **fields)
                session.add(row)
                by_mis[mis_id] = row
                counts["contacts_new"] += 1
            else:
                if c.language:
                    fields["language"] = c.language
                if _set(row, fields):
                    session.add(row)
                    counts["contacts_updated"] += 1
            done[c.wonde_id] = row
    session.flush()
    _sync_links(session, school=school, records=with_contacts, pupils=pupils, contacts=done, counts=counts)


def _sync_links(
    session: Session,
    *,
    school: School,
    records: list[wire.StudentRecord],
    pupils: dict[str, Pupil],
    contacts: dict[str, Contact],
    counts: dict,
) -> None:
    pupil_ids = [pupils[r.wonde_id].id for r in records]
    links: dict[int, dict[int, PupilContact]] = {}
    for link in session.exec(select(PupilContact).where(PupilContact.pupil_id.in_(pupil_ids))).all():
        links.setdefault(link.pupil_id, {})[link.contact_id] = link
    for rec in records:
        pupil = pupils[rec.wonde_id]
        current = links.get(pupil.id, {})
        wanted: set[int] = set()
        for c in rec.contacts:
            contact = contacts[c.wonde_id]
            wanted.add(contact.id)
            fields = {
                "priority": c.priority,
                "relationship": c.relationship,
                "parental_responsibility": c.parental_responsibility,
            }
            link = current.get(contact.id)
            if link is None:
                session.add(
                    PupilContact(school_id=school.id, pupil_id=pupil.id, contact_id=contact.id, **fields)
                )
            elif _set(link, fields):
                session.add(link)
        for contact_id, link in current.items():
            if contact_id not in wanted:
                session.delete(link)
                counts["contact_links_removed"] += 1


def _leavers(session: Session, *, school: School, fetched: Fetched, seen: set[str], counts: dict) -> None:
    """Pupils Wonde deleted (or, in a full sync, no longer lists) leave the roll; removed contacts
    stop being anyone's contact here."""
    gone_students = {
        wire.text(d.get("id"))
        for d in fetched.deletions
        if str(d.get("type") or "").lower() == "student" and not d.get("restored_at")
    }
    gone_contacts = {
        wire.text(d.get("id"))
        for d in fetched.deletions
        if str(d.get("type") or "").lower() == "contact" and not d.get("restored_at")
    }
    query = select(Pupil).where(Pupil.school_id == school.id, Pupil.wonde_id.is_not(None), Pupil.on_roll)
    for pupil in session.exec(query).all():
        if pupil.wonde_id in gone_students or (fetched.full and pupil.wonde_id not in seen):
            pupil.on_roll = False
            session.add(pupil)
            counts["leavers"] += 1
    gone_contacts.discard(None)
    if gone_contacts:
        ids = session.exec(
            select(Contact.id).where(
                Contact.school_id == school.id, Contact.wonde_id.in_(sorted(gone_contacts))
            )
        ).all()
        if ids:
            result = session.execute(delete(PupilContact).where(PupilContact.contact_id.in_(ids)))
            counts["contact_links_removed"] += result.rowcount or 0


def _staff(session: Session, *, school: School, employees: list[dict], counts: dict) -> None:
    staff = session.exec(select(Staff).where(Staff.school_id == school.id, Staff.email.is_not(None))).all()
    by_email = {s.email.strip().lower(): s for s in staff}
    for employee in employees:
        wonde_id = wire.text(employee.get("id"))
        for email in wire.employee_emails(employee):
            member = by_email.get(email)
            if member is not None and wonde_id and member.wonde_id != wonde_id:
                member.wonde_id = wonde_id
                session.add(member)
                counts["staff_linked"] += 1
