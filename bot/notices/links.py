"""Families' standing links to the "report an absence" page: signed, revocable, expiring.

One live link per contact (``FamilyLink``). The token is ``<row id>-<signature>``, the signature an
HMAC of the row id and the row's random nonce under ``SECRET_KEY``: short enough to fit in a text
(unlike a serialised payload), unforgeable without the secret, and revocable by the school (the row
is marked revoked; the next link sent is a new row with a new nonce). A link stops working
``REPORT_LINK_DAYS`` after it was made, so the one sent at the start of each term replaces the last.
"""

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import insert, update
from sqlmodel import Session, select

from bot.errors import UserError
from bot.settings import Settings
from storage.models import Contact, FamilyLink

PATH = "/n/"
_INSTEAD = "Please reply to the school's text or call the school office."


class FamilyLinkInvalid(UserError):
    """A link the page refuses. ``why`` is ``invalid`` (forged or broken), ``revoked`` or ``expired``;
    ``gone`` means it was real (so ``contact_id`` says whose it was: the page answers in their
    language). The message is English, for logs and the command line; the page says it from the
    family catalogs (``pages/reply_invalid.html``)."""

    def __init__(self, message: str, *, why: str = "invalid", contact_id: int | None = None):
        super().__init__(message)
        self.why = why
        self.gone = why != "invalid"
        self.contact_id = contact_id


def _signature(settings: Settings, link_id: int, nonce: str) -> str:
    digest = hmac.new(
        settings.secret_key.encode(), f"family-link:{link_id}:{nonce}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:16]


def token(settings: Settings, link: "FamilyLink | LinkRef") -> str:
    return f"{link.id}-{_signature(settings, link.id, link.nonce)}"


def url(settings: Settings, link: "FamilyLink | LinkRef") -> str:
    return settings.public_base_url.rstrip("/") + PATH + token(settings, link)


class LinkRef(NamedTuple):
    """What a message needs of a live link (read set-based, without loading ORM rows)."""

    id: int
    nonce: str
    contact_id: int


def live_links(
    session: Session, *, contact_ids: list[int], settings: Settings, now: datetime
) -> dict[int, LinkRef]:
    """Each contact's live link, made when missing or older than half its life (set-based).

    Renewing at half-life means a link sent in a message always has months left to run. Register
    close asks this for every family it messages, so it is two or three statements per school.
    """
    if not contact_ids:
        return {}
    wanted = sorted(set(contact_ids))
    table = FamilyLink.__table__
    renew_before = now - timedelta(days=settings.report_link_days / 2)
    found: dict[int, LinkRef] = {}
    stale: list[int] = []
    for link_id, contact_id, nonce, created_at in session.execute(
        select(table.c.id, table.c.contact_id, table.c.nonce, table.c.created_at).where(
            table.c.contact_id.in_(wanted), table.c.revoked_at.is_(None)
        )
    ).all():
        created = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        if created < renew_before:
            stale.append(link_id)
        else:
            found[contact_id] = LinkRef(link_id, nonce, contact_id)
    if stale:
        session.execute(
            update(table).where(table.c.id.in_(stale)).values(revoked_at=now, revoked_by="renewed")
        )
    missing = [cid for cid in wanted if cid not in found]
    if missing:
        schools = dict(
            session.execute(select(Contact.id, Contact.school_id).where(Contact.id.in_(missing))).all()
        )
        rows = [
            {"school_id": schools[cid], "contact_id": cid, "nonce": secrets.token_hex(12), "created_at": now}
            for cid in missing
            if cid in schools
        ]
        if rows:
            returning = insert(table).returning(table.c.id, table.c.contact_id, table.c.nonce)
            made = session.execute(returning, rows)
            for link_id, contact_id, nonce in made.all():
                found[contact_id] = LinkRef(link_id, nonce, contact_id)
    return found


def read(session: Session, *, settings: Settings, raw: str, now: datetime) -> FamilyLink:
    """The live link behind a token, or ``FamilyLinkInvalid`` with a message for the family."""
    head, _, sig = (raw or "").partition("-")
    link = session.get(FamilyLink, int(head)) if head.isdigit() and len(head) < 12 else None
    if link is None or not hmac.compare_digest(sig, _signature(settings, link.id, link.nonce)):
        raise FamilyLinkInvalid(f"This link is not valid. {_INSTEAD}")
    if link.revoked_at is not None:
        raise FamilyLinkInvalid(
            "This link is no longer in use. Please use the newest link the school sent "
            "you, or call the school office.",
            why="revoked",
            contact_id=link.contact_id,
        )
    if link.created_at < now - timedelta(days=settings.report_link_days):
        raise FamilyLinkInvalid(
            f"This link has expired. {_INSTEAD}", why="expired", contact_id=link.contact_id
        )
    return link


def revoke(session: Session, *, contact_id: int, by: str, now: datetime) -> int:
    """Withdraw a contact's live link (a lost phone, a change of who may report). Returns how many."""
    rows = session.exec(
        select(FamilyLink).where(FamilyLink.contact_id == contact_id, FamilyLink.revoked_at.is_(None))
    ).all()
    for link in rows:
        link.revoked_at, link.revoked_by = now, by
        session.add(link)
    session.flush()
    return len(rows)
