"""Who gets what: the family's contacts in priority order and the channels that reach them.

A contact is texted on their mobile; phoned (an automated call, ``bot.calls``) when they have no
mobile we may text but a number to call, or when they prefer calls; emailed when no text goes, or
as well when the school's ``email_mode`` is ``also``. Calls need the school's ``calls_enabled``.
"""

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


def _sms(contact: Contact) -> Route | None:
    return Route(contact, "sms", contact.mobile) if contact.mobile and not contact.sms_opt_out else None


def _email(contact: Contact) -> Route | None:
    return Route(contact, "email", contact.email) if contact.email and not contact.email_opt_out else None


def call_route(contact: Contact, policy: SchoolPolicy | None, *, mobile_too: bool = False) -> Route | None:
    """The number to phone: their landline or other phone; their mobile when they prefer calls (or,
    with ``mobile_too``, as the chase step for a family who has not answered the texts)."""
    if policy is not None and not policy.calls_enabled:
        return None
    number = contact.phone or (contact.mobile if (contact.prefers_calls or mobile_too) else None)
    return Route(contact, "voice", number) if number else None


def usable_channels(contact: Contact, policy: SchoolPolicy) -> list[Route]:
    """The channels this contact is reached on first, preferred first (see the module docstring)."""
    sms, call, email = _sms(contact), call_route(contact, policy), _email(contact)
    routes: list[Route] = []
    if call and (contact.prefers_calls or sms is None):
        routes.append(call)
    elif sms:
        routes.append(sms)
    if email and (not any(r.channel == "sms" for r in routes) or policy.email_mode == "also"):
        routes.append(email)
    return routes


def all_channels(contact: Contact, policy: SchoolPolicy | None = None) -> list[Route]:
    """Every channel that reaches this contact, in the order to fall back through them.

    A failed text falls back to a call (a landline), then email; a family who prefers calls is
    phoned first, then texted, then emailed. Rerouting only ever moves forward along this list.
    """
    sms, call, email = _sms(contact), call_route(contact, policy), _email(contact)
    order = (call, sms, email) if contact.prefers_calls else (sms, call, email)
    return [r for r in order if r is not None]


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


def reachable(contacts: list[Contact], policy: SchoolPolicy | None = None) -> list[Contact]:
    return [c for c in contacts if all_channels(c, policy)]


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
