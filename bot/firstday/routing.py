"""Who gets what: the family's contacts in priority order and the channels that reach them."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot import clock
from bot.alerts.service import raise_alert
from storage.models import AbsenceCase, Contact, Pupil, PupilContact, School, SchoolPolicy


@dataclass(frozen=True)
class Route:
    contact: Contact
    channel: str
    address: str


def usable_channels(contact: Contact, policy: SchoolPolicy) -> list[Route]:
    """The channels this contact can be reached on, preferred first (SMS, then email)."""
    routes: list[Route] = []
    if contact.mobile and not contact.sms_opt_out:
        routes.append(Route(contact, "sms", contact.mobile))
    if contact.email and not contact.email_opt_out and (not routes or policy.email_mode == "also"):
        routes.append(Route(contact, "email", contact.email))
    return routes


def all_channels(contact: Contact) -> list[Route]:
    routes = []
    if contact.mobile and not contact.sms_opt_out:
        routes.append(Route(contact, "sms", contact.mobile))
    if contact.email and not contact.email_opt_out:
        routes.append(Route(contact, "email", contact.email))
    return routes


def family_contacts(session: Session, pupil_ids: list[int]) -> dict[int, list[Contact]]:
    """Each pupil's contacts in the school's priority order (reachable or not)."""
    if not pupil_ids:
        return {}
    rows = session.exec(
        select(PupilContact.pupil_id, Contact)
        .join(Contact, Contact.id == PupilContact.contact_id)
        .where(PupilContact.pupil_id.in_(pupil_ids))
        .order_by(PupilContact.pupil_id, PupilContact.priority, Contact.id)
    ).all()
    out: dict[int, list[Contact]] = defaultdict(list)
    for pupil_id, contact in rows:
        out[pupil_id].append(contact)
    return out


def reachable(contacts: list[Contact]) -> list[Contact]:
    return [c for c in contacts if all_channels(c)]


def raise_unreachable(session: Session, *, case: AbsenceCase, pupil: Pupil, why: str, now: datetime) -> None:
    """Tell the attendance team that no channel reaches this family (once per case and day)."""
    school = session.get(School, case.school_id)
    raise_alert(
        session,
        school_id=case.school_id,
        key=f"unreachable:{case.id}:{clock.to_local(now, school.timezone).date().isoformat()}",
        kind="cannot_reach_family",
        title=f"Cannot reach the family of {pupil.first_name} {pupil.last_name}",
        body=f"{why} Please phone the family or arrange a home visit.",
        audience="attendance",
        severity="high",
        pupil_id=pupil.id,
        case_id=case.id,
        data={
            "pupil": f"{pupil.first_name} {pupil.last_name}",
            "year_group": pupil.year_group,
            "class_name": pupil.class_name,
            "actions": ["acknowledge"],
        },
        now=now,
    )
