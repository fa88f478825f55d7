"""What the sandbox page shows in its panes, read from the real tables.

- parents' phones: every SMS and email the bot sent to a family (the outbox) and what the family
  sent back (inbound messages), one thread per contact, busiest-last families first, a page at a
  time with the true number of families;
- the pastoral channel: the school's alerts as the chat tools show them (facts, history, buttons):
  open urgent alerts (a missing child, MASH, CME, welfare concerns) pinned at the top, every other
  alert newest first, a page at a time, with true counts;
- the clock: the simulated time and what the next buttons will do.

Staff see names here as they would in Slack; the phones show what the family's own phone shows.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, not_, or_, union_all
from sqlmodel import Session, select

from bot import clock, codes
from bot.alerts.actions import available
from bot.alerts.owner import OWNED_KINDS
from bot.calendar import load_calendar
from storage.models import Alert, Contact, InboundMessage, OutboxMessage, Pupil, PupilContact, School, Staff
from tryout.sandbox import service

URL = re.compile(r"https?://[^\s<>\"']+")
FAMILIES_PER_PAGE = 20
ALERTS_PER_PAGE = 30
ROLE_ORDER = {"attendance_officer": 0, "pastoral": 1, "dsl": 2, "headteacher": 3, "admin": 4, "teacher": 5}


def mask(address: str | None) -> str:
    """``+447700900123`` → ``+447700•••123``, ``sara@example.org`` → ``s•••@example.org``."""
    address = (address or "").strip()
    if "@" in address:
        user, domain = address.split("@", 1)
        return f"{user[:1]}•••@{domain}"
    if len(address) < 6:
        return "•" * len(address)
    return f"{address[:-6]}•••{address[-3:]}"


def pieces(text: str) -> list[tuple[str, bool]]:
    """Split text into (chunk, is_link) so the template can make reply links clickable."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for m in URL.finditer(text or ""):
        if m.start() > pos:
            out.append((text[pos : m.start()], False))
        out.append((m.group(0), True))
        pos = m.end()
    if pos < len(text or ""):
        out.append((text[pos:], False))
    return out


@dataclass
class Bubble:
    direction: str  # out (the school's message) | in (the family's reply)
    channel: str
    at: datetime
    when: str
    parts: list[tuple[str, bool]]
    subject: str | None = None
    status: str | None = None
    kind: str = ""


@dataclass
class Family:
    contact_id: int
    name: str
    masked: str
    children: str
    language: str
    can_text: bool
    bubbles: list[Bubble] = field(default_factory=list)

    @property
    def last_at(self) -> datetime:
        return max(b.at for b in self.bubbles)


def _in_order(b: Bubble) -> tuple:
    """Time order; at the same minute a reply follows the school's text and precedes the thank-you."""
    rank = 1 if b.direction == "in" else (2 if b.kind in ("thanks", "neutral") else 0)
    return (b.at, rank)


@dataclass
class Paged:
    """One page of a list, with the true total (the page says "41 families", not "20")."""

    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _page_number(page: int | None) -> int:
    return max(1, int(page or 1))


def families(
    session: Session, *, school: School, page: int | None = 1, per_page: int = FAMILIES_PER_PAGE
) -> Paged:
    """Every family the school has messaged or heard from, busiest-last first, a page at a time.

    The order and the count come from SQL over every message of the school, so no family is hidden
    behind a cap; only the page's threads are loaded.
    """
    tz = school.timezone
    activity = union_all(
        select(OutboxMessage.contact_id.label("cid"), OutboxMessage.created_at.label("at")).where(
            OutboxMessage.school_id == school.id, OutboxMessage.contact_id.is_not(None)
        ),
        select(InboundMessage.contact_id.label("cid"), InboundMessage.received_at.label("at")).where(
            InboundMessage.school_id == school.id, InboundMessage.contact_id.is_not(None)
        ),
    ).subquery()
    total = session.exec(select(func.count(func.distinct(activity.c.cid)))).one()
    page = min(_page_number(page), max(1, -(-total // per_page)))
    ids = [
        cid
        for cid, _last in session.exec(
            select(activity.c.cid, func.max(activity.c.at).label("last"))
            .group_by(activity.c.cid)
            .order_by(func.max(activity.c.at).desc(), activity.c.cid.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).all()
    ]
    if not ids:
        return Paged([], total, page, per_page)
    threads: dict[int, list[Bubble]] = {cid: [] for cid in ids}
    for m in session.exec(select(OutboxMessage).where(OutboxMessage.contact_id.in_(ids))).all():
        threads[m.contact_id].append(
            Bubble(
                direction="out",
                channel=m.channel,
                at=m.created_at,
                when=clock.to_local(m.created_at, tz).strftime("%a %H:%M"),
                parts=pieces(m.body),
                subject=m.subject,
                status=m.status,
                kind=m.kind,
            )
        )
    for r in session.exec(
        select(InboundMessage).where(
            InboundMessage.contact_id.in_(ids), InboundMessage.school_id == school.id
        )
    ).all():
        threads[r.contact_id].append(
            Bubble(
                direction="in",
                channel=r.channel,
                at=r.received_at,
                when=clock.to_local(r.received_at, tz).strftime("%a %H:%M"),
                parts=pieces(r.body),
                kind="reply",
            )
        )
    children = _children(session, ids)
    out = []
    for contact_id in ids:
        contact = session.get(Contact, contact_id)
        bubbles = sorted(threads[contact_id], key=_in_order)
        out.append(
            Family(
                contact_id=contact_id,
                name=contact.first_name,
                masked=mask(contact.mobile or contact.email),
                children=children.get(contact_id, ""),
                language=contact.language,
                can_text=bool(contact.mobile),
                bubbles=bubbles,
            )
        )
    return Paged(out, total, page, per_page)


def _children(session: Session, contact_ids: list[int]) -> dict[int, str]:
    rows = session.exec(
        select(PupilContact.contact_id, PupilContact.relationship, Pupil)
        .join(Pupil, Pupil.id == PupilContact.pupil_id)
        .where(PupilContact.contact_id.in_(contact_ids))
        .order_by(Pupil.first_name)
    ).all()
    found: dict[int, tuple[str, list[str]]] = {}
    for contact_id, relationship, pupil in rows:
        rel, names = found.setdefault(contact_id, (relationship or "parent", []))
        names.append(pupil.display_first_name)
    return {cid: f"{rel} of {', '.join(names)}" for cid, (rel, names) in found.items()}


@dataclass
class AlertView:
    id: int
    kind: str
    title: str
    body: str
    severity: str
    audience: str
    status: str
    when: str
    facts: list[tuple[str, str]]
    history: list[str]
    actions: list[tuple[str, str]]  # (action id, label); pick_code gets a code list
    suggested_code: str | None = None
    raised_count: int = 0


@dataclass
class AlertsPane:
    """The pastoral channel: alerts that need someone now, pinned; every other alert, a page at a time."""

    pinned: list[AlertView]
    others: Paged
    total: int
    open: int


def _pinned():
    """Open alerts that must not scroll away: urgent ones (a missing child, MASH, CME) and the
    alerts that need an owner at once (welfare concerns too)."""
    return and_(Alert.status == "open", or_(Alert.severity == "urgent", Alert.kind.in_(OWNED_KINDS)))


def alerts(
    session: Session, *, school: School, page: int | None = 1, per_page: int = ALERTS_PER_PAGE
) -> AlertsPane:
    ours = Alert.school_id == school.id
    total = session.exec(select(func.count(Alert.id)).where(ours)).one()
    still_open = session.exec(select(func.count(Alert.id)).where(ours, Alert.status == "open")).one()
    pinned = session.exec(select(Alert).where(ours, _pinned()).order_by(Alert.id.desc())).all()
    rest_total = total - len(pinned)
    page = min(_page_number(page), max(1, -(-rest_total // per_page)))
    rest = session.exec(
        select(Alert)
        .where(ours, not_(_pinned()))
        .order_by(Alert.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return AlertsPane(
        pinned=[_view(session, a, school) for a in pinned],
        others=Paged([_view(session, a, school) for a in rest], rest_total, page, per_page),
        total=total,
        open=still_open,
    )


def _view(session: Session, a: Alert, school: School) -> AlertView:
    from bot.alerts.view import facts, history  # the facts and history Slack and Teams show

    buttons = available(a) if a.status == "open" else []
    return AlertView(
        id=a.id,
        kind=a.kind,
        title=a.title,
        body=a.body or "",
        severity=a.severity,
        audience=a.audience,
        status=a.status,
        when=clock.to_local(a.created_at, school.timezone).strftime("%a %d %b %H:%M"),
        facts=facts(session, a),
        history=history(session, a),
        actions=[(b.id, b.label) for b in buttons],
        suggested_code=(a.data or {}).get("suggested_code"),
        raised_count=a.raised_count,
    )


def code_choices() -> list[tuple[str, str]]:
    """Codes staff may pick for a reply (N is "no reason yet", never a choice)."""
    return [(c, f"{c} – {code.meaning}") for c, code in codes.CODES.items() if c != codes.NO_REASON]


def staff_of(session: Session, *, school: School) -> list[Staff]:
    rows = session.exec(select(Staff).where(Staff.school_id == school.id, Staff.active)).all()
    return sorted(rows, key=lambda s: (ROLE_ORDER.get(s.role, 9), s.name))


@dataclass
class ClockView:
    now: datetime
    label: str
    day_note: str
    next_register: str
    next_chase: str


def clock_view(session: Session, *, school: School) -> ClockView:
    now = service.current(session, school=school)
    local = clock.to_local(now, school.timezone)
    why = load_calendar(session, school.id).why_not(local.date())
    reg = service.next_register(session, school=school, now=now)
    chase = service.next_chase_time(session, school=school, now=now)
    return ClockView(
        now=now,
        label=local.strftime("%A %d %B %Y, %H:%M"),
        day_note=f"Not a school day: {why}" if why else "School day",
        next_register=(
            f"{reg[1]} register, {clock.to_local(reg[2], school.timezone):%a %d %b %H:%M}"
            if reg
            else "none ahead"
        ),
        next_chase=(f"{clock.to_local(chase[2], school.timezone):%a %d %b %H:%M}" if chase else "none ahead"),
    )
