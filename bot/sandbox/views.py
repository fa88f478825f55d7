"""What the sandbox page shows in its panes, read from the real tables.

- parents' phones: every SMS and email the bot sent to a family (the outbox) and what the family
  sent back (inbound messages), one thread per contact, busiest-last families first;
- the pastoral channel: the school's alerts as the chat tools show them (facts, history, buttons);
- the clock: the simulated time and what the next buttons will do.

Staff see names here as they would in Slack; the phones show what the family's own phone shows.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from bot import clock, codes
from bot.alerts.actions import available
from bot.calendar import load_calendar
from bot.sandbox import service
from storage.models import Alert, Contact, InboundMessage, OutboxMessage, Pupil, PupilContact, School, Staff

URL = re.compile(r"https?://[^\s<>\"']+")
MAX_FAMILIES = 20
MAX_ALERTS = 30
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


def families(session: Session, *, school: School, limit: int = MAX_FAMILIES) -> list[Family]:
    tz = school.timezone
    sent = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.school_id == school.id, OutboxMessage.contact_id.is_not(None))
        .order_by(OutboxMessage.id.desc())
        .limit(400)
    ).all()
    received = session.exec(
        select(InboundMessage)
        .where(InboundMessage.school_id == school.id, InboundMessage.contact_id.is_not(None))
        .order_by(InboundMessage.id.desc())
        .limit(400)
    ).all()
    threads: dict[int, list[Bubble]] = {}
    for m in sent:
        threads.setdefault(m.contact_id, []).append(
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
    for r in received:
        threads.setdefault(r.contact_id, []).append(
            Bubble(
                direction="in",
                channel=r.channel,
                at=r.received_at,
                when=clock.to_local(r.received_at, tz).strftime("%a %H:%M"),
                parts=pieces(r.body),
                kind="reply",
            )
        )
    if not threads:
        return []
    children = _children(session, list(threads))
    out = []
    for contact_id, bubbles in threads.items():
        contact = session.get(Contact, contact_id)
        bubbles.sort(key=_in_order)
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
    out.sort(key=lambda f: f.last_at, reverse=True)
    return out[:limit]


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


def alerts(session: Session, *, school: School, limit: int = MAX_ALERTS) -> list[AlertView]:
    from bot.alerts.deliver import _facts, _history  # the facts and history Slack and Teams show

    rows = session.exec(
        select(Alert).where(Alert.school_id == school.id).order_by(Alert.id.desc()).limit(limit)
    ).all()
    out = []
    for a in rows:
        buttons = available(a) if a.status == "open" else []
        out.append(
            AlertView(
                id=a.id,
                kind=a.kind,
                title=a.title,
                body=a.body or "",
                severity=a.severity,
                audience=a.audience,
                status=a.status,
                when=clock.to_local(a.created_at, school.timezone).strftime("%a %d %b %H:%M"),
                facts=_facts(session, a),
                history=_history(session, a),
                actions=[(b.id, b.label) for b in buttons],
                suggested_code=(a.data or {}).get("suggested_code"),
            )
        )
    return out


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
