"""``attendance-bot family-link show|revoke``: a family's standing "report an absence" link.

``show`` prints a contact's live link (made if they have none yet), for the office to read out or
send by hand; ``revoke`` withdraws it (a lost phone, a change of who may report for the child): the
old link then answers "no longer in use" and the next message or ``show`` makes a new one. Contacts
are named by their MIS id within a school, as in the contacts CSV.
"""

import click
from sqlmodel import Session, select

from bot import clock
from bot.notices import links
from bot.runtime import engine as runtime_engine
from bot.settings import get_settings
from storage.db import session_scope
from storage.models import Contact, School


@click.group("family-link")
def family_link() -> None:
    """A family's standing link to the "report an absence" page."""


def _contact(session: Session, urn: str, mis_id: str) -> Contact:
    school = session.exec(select(School).where(School.urn == urn)).first()
    if school is None:
        raise click.ClickException(f"No school with URN {urn}.")
    contact = session.exec(
        select(Contact).where(Contact.school_id == school.id, Contact.mis_id == mis_id)
    ).first()
    if contact is None:
        raise click.ClickException(f"No contact with MIS id {mis_id} at school {urn}.")
    return contact


@family_link.command("show")
@click.option("--school", "urn", required=True, metavar="URN")
@click.option("--contact", "mis_id", required=True, metavar="MIS_ID", help="The contact's MIS id.")
def show(urn: str, mis_id: str) -> None:
    """Print the contact's live link (made now if there is none)."""
    settings = get_settings()
    with session_scope(runtime_engine(settings)) as session:
        contact = _contact(session, urn, mis_id)
        live = links.live_links(session, contact_ids=[contact.id], settings=settings, now=clock.now())
        click.echo(links.url(settings, live[contact.id]))


@family_link.command("revoke")
@click.option("--school", "urn", required=True, metavar="URN")
@click.option("--contact", "mis_id", required=True, metavar="MIS_ID", help="The contact's MIS id.")
@click.option("--by", "who", required=True, help="Who is withdrawing it (kept on the link).")
def revoke(urn: str, mis_id: str, who: str) -> None:
    """Withdraw the contact's live link; it stops working at once."""
    settings = get_settings()
    with session_scope(runtime_engine(settings)) as session:
        contact = _contact(session, urn, mis_id)
        n = links.revoke(session, contact_id=contact.id, by=who, now=clock.now())
    click.echo(f"withdrew {n} link(s)" if n else "this contact has no live link")


def register(main: click.Group) -> None:
    main.add_command(family_link)
