"""Register close and chasing: open cases for N marks and queue messages to families.

Messages are queued in the same transaction as the case changes (``bot.firstday.outreach``) and
delivered later by the sender, which asks ``bot.firstday.reconcile.check_before_send`` just before
each batch goes: the register is re-read, and messages whose cases no longer need them are cancelled.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import func
from sqlmodel import Session, select

from bot import clock, codes
from bot.calendar import load_calendar
from bot.cases import service as cases
from bot.firstday.outreach import queue_family_messages
from bot.firstday.reconcile import reconcile
from bot.firstday.routing import Route, call_route, family_contacts, raise_unreachable, usable_channels
from bot.notices.close import at_register_close as notices_at_close
from bot.policy import policy_for
from bot.pupils import urgency
from bot.register.taken import no_register_warning
from bot.settings import Settings
from bot.summary import JobSummary
from storage.models import (
    AbsenceCase,
    InboundMessage,
    Mark,
    MessageCase,
    OutboxMessage,
    Pupil,
    ReplyCase,
    School,
    SchoolPolicy,
    VoiceCall,
)

log = logging.getLogger(__name__)

NO_CHANNEL = "We hold no mobile number, phone number or email address we may use for this family."


def _group_by_contact(
    session: Session, todo: list[tuple[AbsenceCase, Pupil]], policy: SchoolPolicy, pick
) -> tuple[dict[tuple[int, str], tuple[Route, list[int]]], list[tuple[AbsenceCase, Pupil]]]:
    """Group cases by the route that should get them, so siblings share one message per contact."""
    contacts = family_contacts(session, [p.id for _, p in todo])
    grouped: dict[tuple[int, str], tuple[Route, list[int]]] = {}
    unreachable: list[tuple[AbsenceCase, Pupil]] = []
    for case, pupil in todo:
        routes = pick(case, [c for c in contacts.get(pupil.id, []) if usable_channels(c, policy)])
        if not routes:
            unreachable.append((case, pupil))
            continue
        for route in routes:
            slot = grouped.setdefault((route.contact.id, route.channel), (route, []))
            slot[1].append(case.id)
    return grouped, unreachable


@dataclass
class InTouch:
    """Families who got through: the last time per case, and the cases whose family left a voice
    message or was put through to the office since ``since`` (chasing pauses for them)."""

    last: dict[int, datetime] = field(default_factory=dict)
    spoke_today: set[int] = field(default_factory=set)


def family_in_touch(session: Session, case_ids: list[int], *, since: datetime) -> InTouch:
    """Replies (text, reply page, a message left on a call) and calls put through, per case."""
    out = InTouch()
    if not case_ids:
        return out
    for case_id, at in session.execute(
        select(ReplyCase.case_id, func.max(InboundMessage.received_at))
        .join(InboundMessage, InboundMessage.id == ReplyCase.inbound_id)
        .where(ReplyCase.case_id.in_(case_ids))
        .group_by(ReplyCase.case_id)
    ).all():
        out.last[case_id] = _utc(at)
    for case_id, at in session.execute(
        select(MessageCase.case_id, func.max(VoiceCall.updated_at))
        .join(VoiceCall, VoiceCall.message_id == MessageCase.message_id)
        .join(OutboxMessage, OutboxMessage.id == MessageCase.message_id)
        .where(MessageCase.case_id.in_(case_ids), VoiceCall.outcome.in_(("message_left", "put_through")))
        .group_by(MessageCase.case_id)
    ).all():
        at = _utc(at)
        out.last[case_id] = max(at, out.last.get(case_id, at))
        if at >= since:
            out.spoke_today.add(case_id)
    return out


# Statuses of a message the provider has taken: the chase deadline counts from then.
TAKEN = ("accepted", "sent", "delivered")


def provider_took(session: Session, case_ids: list[int]) -> dict[int, list[tuple[int, datetime, datetime]]]:
    """Per case: (contact id, queued at, taken by the provider at) of its messages the provider took.

    The move to the next contact waits for the family to have had a real chance to answer: a text
    held in our queue through a provider outage gave them none.
    """
    out: dict[int, list[tuple[int, datetime, datetime]]] = {}
    if not case_ids:
        return out
    for case_id, contact_id, created, sent in session.execute(
        select(MessageCase.case_id, OutboxMessage.contact_id, OutboxMessage.created_at, OutboxMessage.sent_at)
        .join(OutboxMessage, OutboxMessage.id == MessageCase.message_id)
        .where(
            MessageCase.case_id.in_(case_ids),
            OutboxMessage.status.in_(TAKEN),
            OutboxMessage.sent_at.is_not(None),
            OutboxMessage.contact_id.is_not(None),
        )
    ).all():
        out.setdefault(case_id, []).append((contact_id, created, sent))
    return out


def round_reached_at(case: AbsenceCase, contact_id: int, took: dict) -> datetime | None:
    """When the provider first took a message of this round to this contact (None: not yet)."""
    since = case.round_started_at or case.opened_at
    times = [sent for cid, created, sent in took.get(case.id, []) if cid == contact_id and created >= since]
    return min(times, default=None)


def _round_over(
    case: AbsenceCase,
    contacts: list,
    *,
    took: dict,
    last_reply: datetime | None,
    now: datetime,
    after_seconds: int,
) -> bool:
    """Has the contact being chased had the school's deadline to answer? It counts from the provider
    taking this round's message (not from queueing: an outage must not move the family on), or from
    the family's last reply if later."""
    reached = round_reached_at(case, contacts[case.contact_round % len(contacts)].id, took)
    if reached is None:
        return False
    started = max(t for t in (reached, last_reply) if t)
    return (now - started).total_seconds() >= after_seconds


def _chase_routes(case: AbsenceCase, contact, policy: SchoolPolicy) -> list[Route]:
    """The contact's usual routes, plus a call from the chase the school's policy says
    (``call_at_chase``): families who have not answered the texts are also phoned."""
    routes = usable_channels(contact, policy)
    if policy.call_at_chase and case.chase_count >= policy.call_at_chase:
        call = call_route(contact, policy, mobile_too=True)
        if call and all(r.channel != "voice" for r in routes):
            routes.append(call)
    return routes


def _utc(value) -> datetime:
    """An aggregate's time: SQLite hands MAX() back as text or naive, outside the column's type."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _first_messages(new_cases, expected_back: dict) -> list[tuple[str, str, list]]:
    """The first message of each new case: "no reason yet", or a follow-up when a notice ran out.

    A child still away after the day the family said they would be back gets "we expected Amy back
    today" (``expected_back``); after a notice that gave no return day, "Amy is still not in school"
    (``still_absent``). Each kind has its own idempotency-key prefix.
    """
    groups: dict[str, list] = {"first_day": [], "expected_back": [], "still_absent": []}
    for case, pupil in new_cases:
        notice = expected_back.get(pupil.id)
        kind = "first_day" if notice is None else ("expected_back" if notice.return_date else "still_absent")
        groups[kind].append((case, pupil))
    prefixes = {"first_day": "fd", "expected_back": "eb", "still_absent": "sa"}
    return [(kind, prefixes[kind], todo) for kind, todo in groups.items() if todo]


def register_close(
    session: Session,
    *,
    school: School,
    session_name: str,
    settings: Settings,
    now: datetime,
    pupil_ids: set[int] | None = None,
) -> JobSummary:
    """At register close: open or extend a case for every N and message the families of new cases.

    The register is the one of the school's date at ``now``. ``pupil_ids`` limits it to these pupils
    (a class whose register the MIS showed only after close). A register with no marks at all is
    said so in the summary, never reported as "0 N marks" (``bot.register.taken``).
    """
    session_name = session_name.upper()
    day = clock.to_local(now, school.timezone).date()
    calendar = load_calendar(session, school.id)
    if not calendar.is_school_day(day):
        return JobSummary.skip(calendar.why_not(day))
    policy = policy_for(session, school.id)
    rows = _n_marks(session, school=school, day=day, session_name=session_name, pupil_ids=pupil_ids)
    summary = {
        "n_marks": len(rows),
        "cases_opened": 0,
        "cases_extended": 0,
        "cases_closed_seen": 0,
        "messages_queued": 0,
        "unreachable": 0,
    }
    counts, new_cases, expected_back = _cases_at_close(
        session,
        school=school,
        policy=policy,
        calendar=calendar,
        pupils=[pupil for _mark, pupil in rows],
        day=day,
        session_name=session_name,
        now=now,
    )
    summary.update(counts)
    summary["messages_queued"], summary["unreachable"] = _message_new_cases(
        session,
        school=school,
        new_cases=new_cases,
        expected_back=expected_back,
        day=day,
        session_name=session_name,
        policy=policy,
        settings=settings,
        now=now,
    )
    log.info("register close school=%s %s %s: %s", school.id, day, session_name, summary)
    warning = (
        None
        if pupil_ids is not None
        else _no_register(session, school=school, day=day, session_name=session_name)
    )
    return JobSummary(counts=summary, details={"warning": warning} if warning else {})


def _cases_at_close(
    session: Session,
    *,
    school: School,
    policy: SchoolPolicy,
    calendar,
    pupils: list[Pupil],
    day: date,
    session_name: str,
    now: datetime,
) -> tuple[dict, list[tuple[AbsenceCase, Pupil]], dict]:
    """Cases for the session's N marks: (counts, new cases most urgent first, notices run out).

    Pupils are taken most urgent first (``bot.pupils.urgency``), the order their families' messages
    are then queued in.
    """
    pupils = sorted(pupils, key=lambda p: urgency(p, policy))
    # A child seen in school since their open case's last absence (in all morning, gone after
    # lunch) starts a new episode: its own case, its own first-day message.
    closed_seen = cases.close_seen_before(session, pupils=pupils, day=day, session_name=session_name, now=now)
    # What families already told us: covered N marks are explained, not messaged (bot.notices.close).
    honoured = notices_at_close(
        session,
        school=school,
        policy=policy,
        calendar=calendar,
        pupils=pupils,
        day=day,
        session_name=session_name,
        now=now,
    )
    pupils = honoured.uncovered
    opened, extended = cases.open_or_extend_many(
        session, pupils=pupils, day=day, session_name=session_name, now=now
    )
    counts = {
        "cases_opened": len(opened),
        "cases_extended": len(extended),
        "cases_closed_seen": closed_seen,
        **honoured.counts,
    }
    by_pupil = {p.id: p for p in pupils}
    new_cases = sorted(
        ((case, by_pupil[case.pupil_id]) for case in opened), key=lambda cp: urgency(cp[1], policy)
    )
    return counts, new_cases, honoured.expected_back


def _message_new_cases(
    session: Session,
    *,
    school: School,
    new_cases: list[tuple[AbsenceCase, Pupil]],
    expected_back: dict,
    day: date,
    session_name: str,
    policy: SchoolPolicy,
    settings: Settings,
    now: datetime,
) -> tuple[int, int]:
    """Message the first contact of each new case's family: (messages queued, families unreachable).

    Siblings share one message per contact and channel. A family we hold no usable channel for is
    raised to staff at once rather than left waiting for a chase that cannot reach them either.
    """

    def first_contact(case, contacts):
        return usable_channels(contacts[0], policy) if contacts else []

    queued = 0
    unreachable = []
    for kind, prefix, todo in _first_messages(new_cases, expected_back):
        grouped, missed = _group_by_contact(session, todo, policy, first_contact)
        unreachable += missed
        created = _queue_grouped(
            session,
            grouped,
            key=f"{prefix}:{school.id}:{day.isoformat()}:{session_name}",
            kind=kind,
            session_name=session_name,
            policy=policy,
            settings=settings,
            now=now,
        )
        queued += sum(created)
    for case, pupil in unreachable:
        raise_unreachable(session, case=case, pupil=pupil, now=now, why=NO_CHANNEL)
    return queued, len(unreachable)


def _no_register(session: Session, *, school: School, day: date, session_name: str) -> str | None:
    """The summary's warning when the register has no marks at all (``bot.register.taken``)."""
    warning = no_register_warning(session, school=school, day=day, session_name=session_name)
    if warning:
        log.warning("register close school=%s %s %s: no marks at all", school.id, day, session_name)
    return warning


def _n_marks(
    session: Session, *, school: School, day: date, session_name: str, pupil_ids: set[int] | None
) -> list[tuple[Mark, Pupil]]:
    """The session's N marks of pupils on roll (of ``pupil_ids`` only, when given)."""
    query = (
        select(Mark, Pupil)
        .join(Pupil, Pupil.id == Mark.pupil_id)
        .where(
            Mark.school_id == school.id,
            Mark.date == day,
            Mark.session == session_name,
            Mark.code == codes.NO_REASON,
            Pupil.on_roll.is_(True),
        )
    )
    if pupil_ids is not None:
        query = query.where(Mark.pupil_id.in_(sorted(pupil_ids)))
    return list(session.exec(query).all())


def _open_cases(session: Session, *, school: School) -> list[tuple[AbsenceCase, Pupil]]:
    return list(
        session.exec(
            select(AbsenceCase, Pupil)
            .join(Pupil, Pupil.id == AbsenceCase.pupil_id)
            .where(AbsenceCase.school_id == school.id, AbsenceCase.status == "open")
        ).all()
    )


def _queue_grouped(
    session: Session,
    grouped: dict,
    *,
    key: str,
    kind: str,
    session_name: str,
    policy: SchoolPolicy,
    settings: Settings,
    now: datetime,
) -> list[bool]:
    """One message per (contact, channel) group; its key is ``key`` plus the contact and channel."""
    batch = [
        (case_ids, route, f"{key}:{contact_id}:{channel}")
        for (contact_id, channel), (route, case_ids) in grouped.items()
    ]
    return queue_family_messages(
        session, batch, kind=kind, session_name=session_name, policy=policy, settings=settings, now=now
    )


def chase(session: Session, *, school: School, now: datetime, slot: str, settings: Settings) -> JobSummary:
    """At a chase time: contact the families of cases still unexplained, moving down the contacts.

    When the contact being chased has not replied within the school's deadline, counted from when
    the provider took the round's message (``round_reached_at``), the next contact in priority order
    is tried (cycling back to the first when all have been tried).
    """
    day = clock.to_local(now, school.timezone).date()
    calendar = load_calendar(session, school.id)
    if not calendar.is_school_day(day):
        return JobSummary.skip(calendar.why_not(day))
    policy = policy_for(session, school.id)
    settled = reconcile(session, school=school, now=now)
    todo, in_touch = _cases_to_chase(session, school=school, day=day, policy=policy)
    chaser = _Chaser(
        session=session,
        policy=policy,
        took=provider_took(session, [case.id for case, _ in todo]),
        last_reply=in_touch.last,
        now=now,
    )
    grouped, unreachable = _group_by_contact(session, todo, policy, chaser.routes)
    key = f"chase:{school.id}:{day.isoformat()}:{slot}"
    queued = sum(
        _queue_grouped(
            session,
            grouped,
            key=key,
            kind="chase",
            session_name="AM",
            policy=policy,
            settings=settings,
            now=now,
        )
    )
    for case, pupil in unreachable:
        raise_unreachable(session, case=case, pupil=pupil, now=now, why=NO_CHANNEL)
    return JobSummary(
        counts={
            "open_cases": len(todo),
            "messages_queued": queued,
            "moved_to_next_contact": chaser.moved,
            "calls_added": chaser.called,
            "in_touch_today": len(in_touch.spoke_today),
            "unreachable": len(unreachable),
            **{f"cases_{k}": v for k, v in settled.items()},
        }
    )


def _cases_to_chase(
    session: Session, *, school: School, day: date, policy: SchoolPolicy
) -> tuple[list[tuple[AbsenceCase, Pupil]], InTouch]:
    """The open cases to chase now, most urgent first, and who has been in touch.

    A family who left a voice message or spoke to the office today is waiting for staff, not for
    another chase; the deadline to move to the next contact counts from their last contact.
    """
    rows = _open_cases(session, school=school)
    day_start = clock.at_local(day, time(0, 0), school.timezone)
    in_touch = family_in_touch(session, [case.id for case, _ in rows], since=day_start)
    todo = sorted(
        ((c, p) for c, p in rows if c.id not in in_touch.spoke_today), key=lambda r: urgency(r[1], policy)
    )
    return todo, in_touch


@dataclass
class _Chaser:
    """Picks the routes for each case this chase, moving on to the next contact when a round is over,
    and counts what it did for the job summary."""

    session: Session
    policy: SchoolPolicy
    took: dict
    last_reply: dict[int, datetime]
    now: datetime
    moved: int = 0
    called: int = 0

    def routes(self, case: AbsenceCase, contacts: list) -> list[Route]:
        if not contacts:
            return []
        if len(contacts) > 1 and _round_over(
            case,
            contacts,
            took=self.took,
            last_reply=self.last_reply.get(case.id),
            now=self.now,
            after_seconds=self.policy.next_contact_after_minutes * 60,
        ):
            case.contact_round = (case.contact_round + 1) % len(contacts)
            case.round_started_at = self.now
            self.moved += 1
        case.chase_count += 1
        self.session.add(case)
        contact = contacts[case.contact_round % len(contacts)]
        routes = _chase_routes(case, contact, self.policy)
        self.called += len(routes) > len(usable_channels(contact, self.policy))
        return routes
